"""train: the same classifiers, with the same hyperparameters, on one training source of one task:
real data, or the filtered synthetic data of a method -> models/<task>/<source>/<classifier>/"""

from pathlib import Path

from synthclf.classifiers import train_classifier
from synthclf.cli import run_stage
from synthclf.io import read_jsonl
from synthclf.params import load_params
from synthclf.tasks import load_task


def training_file(task: str, source: str) -> Path:
    if source == "real":
        return Path("data/real") / task / "train.jsonl"
    return Path("data/filtered") / task / f"{source}.jsonl"


def main(args):
    params = load_params()
    task = load_task(args.task)
    records = read_jsonl(training_file(task.name, args.source))
    texts = [r["text"] for r in records]
    labels = [r["label"] for r in records]
    for kind in params.train.classifiers:
        out = Path("models") / task.name / args.source / kind
        info = train_classifier(kind, texts, labels, list(task.labels), params.train, params.seed, out)
        print(f"{task.name}/{args.source}/{kind}: trained on {len(texts)} examples in {info.get('train_seconds', 0):.0f} s")


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"), ("source", "real or a generation method"))
