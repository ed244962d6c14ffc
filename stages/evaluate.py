"""evaluate: every model of one task on the task's real validation and test data, from the train
stage's predictions -> metrics/eval/<task>.json
(Macro-F1 and accuracy as the mean over generation replicates x training seeds with a bootstrap
interval; paired differences real - method and method - method; per-class F1 and accuracy by
annotator agreement where the data has it and by the LLM-label proxy where the agreement_proxy
stage measured it)"""

from pathlib import Path

from synthclf.cli import run_stage
from synthclf.evaluation import evaluate_sources
from synthclf.io import read_examples, read_jsonl, write_json
from synthclf.params import load_params
from synthclf.tasks import load_task


def main(args):
    params = load_params()
    task = load_task(args.task)
    real = Path("data/real") / task.name
    splits = {split: read_examples(real / f"{split}.jsonl", task.labels) for split in ("validation", "test")}
    for row in read_jsonl(Path("data/agreement_proxy") / f"{task.name}.jsonl"):
        splits["test"][row["row"]]["proxy_agreement"] = row["agreement"]
    predictions = {source: list(read_jsonl(Path("predictions") / task.name / f"{source}.jsonl"))
                   for source in ["real", *params.methods]}
    results = evaluate_sources(splits, predictions, params.methods, params.train.classifiers, list(task.labels),
                               params.intervals, params.seed)
    for source, by_clf in results["test"]["scores"].items():
        for clf, s in by_clf.items():
            print(f"{task.name}/{source}/{clf}: test macro-F1 {s['macro_f1']:.3f} [{s['macro_f1_low']:.3f}, "
                  f"{s['macro_f1_high']:.3f}] over {s['models']} model(s) from {s['replicates']} replicate(s)")
    write_json(Path("metrics/eval") / f"{task.name}.json", results)


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"))
