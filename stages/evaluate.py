"""evaluate: every model of one task on the task's real test set -> metrics/eval/<task>.json
(Macro-F1, accuracy, per-class F1, and accuracy by annotator agreement where the data has it and by
the LLM-label proxy where the agreement_proxy stage measured it; mean and standard deviation over
the seeds the encoder was trained with)"""

from pathlib import Path

from synthclf.classifiers import load_classifier, model_dirs
from synthclf.cli import run_stage
from synthclf.evaluation import combine_seeds, score
from synthclf.io import read_examples, read_jsonl, write_json
from synthclf.params import load_params
from synthclf.tasks import load_task


def main(args):
    params = load_params()
    task = load_task(args.task)
    test = read_examples(Path("data/real") / task.name / "test.jsonl", task.labels)
    texts = [r["text"] for r in test]
    gold = [r["label"] for r in test]
    agreement = [r.get("agreement") for r in test]
    proxy = [None] * len(test)
    for row in read_jsonl(Path("data/agreement_proxy") / f"{task.name}.jsonl"):
        proxy[row["row"]] = row["agreement"]
    results: dict = {}
    for source in ["real", *params.methods]:
        for kind in params.train.classifiers:
            by_seed = {
                seed: score(gold, load_classifier(path).predict(texts), list(task.labels), agreement, proxy)
                for seed, path in model_dirs(Path("models") / task.name / source, kind, params.train.seeds).items()
            }
            results.setdefault(source, {})[kind] = combined = combine_seeds(by_seed)
            spread = f" +- {combined['macro_f1_std']:.3f} over {len(by_seed)} seeds" if len(by_seed) > 1 else ""
            print(f"{task.name}/{source}/{kind}: macro-F1 {combined['macro_f1']:.3f}{spread}")
    write_json(Path("metrics/eval") / f"{task.name}.json", results)


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"))
