"""evaluate: every model of one task on the task's real test set -> metrics/eval/<task>.json
(Macro-F1, accuracy, per-class F1, and accuracy by annotator agreement where the data has it)"""

from pathlib import Path

from synthclf.classifiers import load_classifier
from synthclf.cli import run_stage
from synthclf.evaluation import score
from synthclf.io import read_examples, write_json
from synthclf.params import load_params
from synthclf.tasks import load_task


def main(args):
    params = load_params()
    task = load_task(args.task)
    test = read_examples(Path("data/real") / task.name / "test.jsonl", task.labels)
    texts = [r["text"] for r in test]
    gold = [r["label"] for r in test]
    agreement = [r.get("agreement") for r in test]
    results: dict = {}
    for source in ["real", *params.methods]:
        for kind in params.train.classifiers:
            predicted = load_classifier(Path("models") / task.name / source / kind).predict(texts)
            results.setdefault(source, {})[kind] = score(gold, predicted, list(task.labels), agreement)
            print(f"{task.name}/{source}/{kind}: macro-F1 {results[source][kind]['macro_f1']:.3f}")
    write_json(Path("metrics/eval") / f"{task.name}.json", results)


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"))
