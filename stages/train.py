"""train: the same classifiers, with the same hyperparameters, on one training source of one task:
real data, or the filtered synthetic data of a method -> models/<task>/<source>/<classifier>/
(the encoder once per seed in train.seeds, under seed-<seed>/)"""

import time
from pathlib import Path

from synthclf.classifiers import check_training_data, model_dirs, train_classifier
from synthclf.cli import run_stage
from synthclf.errors import SynthclfError
from synthclf.io import read_examples
from synthclf.params import check_method, load_params
from synthclf.tasks import load_task


def training_file(task: str, source: str) -> Path:
    if source == "real":
        return Path("data/real") / task / "train.jsonl"
    check_method(source)
    return Path("data/filtered") / task / f"{source}.jsonl"


def main(args):
    params = load_params()
    task = load_task(args.task)
    path = training_file(task.name, args.source)
    records = read_examples(path, task.labels)
    texts = [r["text"] for r in records]
    labels = [r["label"] for r in records]
    try:
        check_training_data(texts, labels, list(task.labels))
    except SynthclfError as exc:  # say which file holds data no classifier can learn from
        raise SynthclfError(f"{path}: {exc}") from None
    for kind in params.train.classifiers:
        for seed, out in model_dirs(Path("models") / task.name / args.source, kind, params.train.seeds).items():
            started = time.perf_counter()
            info = train_classifier(kind, texts, labels, list(task.labels), params.train, seed, out)
            held_out = f", {info['validation_size']} held out, best epoch {info['best_epoch']}" if info.get("validation_size") else ""
            # The time goes to the log only: in the model folder it would change the hash DVC tracks.
            print(f"{out}: trained on {len(texts)} examples{held_out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"), ("source", "real or a generation method"))
