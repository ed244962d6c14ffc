"""train: the same classifiers, with the same hyperparameters, on one training source of one task:
real data, or each generation replicate of a method's filtered synthetic data; each model then
labels the real validation and test texts -> predictions/<task>/<source>.jsonl
(the encoder once per seed in train.seeds; the models themselves, about 90 MB per encoder, are kept
under models/<task>/<source>/ only with train.keep_models)"""

import tempfile
import time
from pathlib import Path

from synthclf.classifiers import check_training_data, load_classifier, model_dirs, train_classifier
from synthclf.cli import run_stage
from synthclf.errors import SynthclfError
from synthclf.io import read_examples, write_jsonl
from synthclf.params import check_method, load_params
from synthclf.replicates import by_replicate
from synthclf.tasks import load_task

SPLITS = ("validation", "test")


def training_file(task: str, source: str) -> Path:
    if source == "real":
        return Path("data/real") / task / "train.jsonl"
    check_method(source)
    return Path("data/filtered") / task / f"{source}.jsonl"


def main(args):
    params = load_params()
    task = load_task(args.task)
    path = training_file(task.name, args.source)
    # Real data is one sample (replicate 0); a synthetic set holds generate.replicates of them.
    replicates = by_replicate(read_examples(path, task.labels))
    if not replicates:
        raise SynthclfError(f"{path}: training set is empty")
    splits = {split: read_examples(Path("data/real") / task.name / f"{split}.jsonl", task.labels) for split in SPLITS}
    rows = []
    with tempfile.TemporaryDirectory(prefix="synthclf-train-") as scratch:
        root = Path("models") / task.name / args.source if params.train.keep_models else Path(scratch)
        for replicate, records in replicates.items():
            texts = [r["text"] for r in records]
            labels = [r["label"] for r in records]
            try:
                check_training_data(texts, labels, list(task.labels))
            except SynthclfError as exc:  # say which file holds data no classifier can learn from
                raise SynthclfError(f"{path}: replicate {replicate}: {exc}") from None
            for kind in params.train.classifiers:
                for seed, out in model_dirs(root / f"replicate-{replicate}", kind, params.train.seeds).items():
                    started = time.perf_counter()
                    info = train_classifier(kind, texts, labels, list(task.labels), params.train, seed, out)
                    model = load_classifier(out)
                    for split, gold in splits.items():
                        rows.append({"split": split, "classifier": kind, "replicate": replicate, "seed": seed,
                                     "n_train": len(texts), "predicted": model.predict([r["text"] for r in gold])})
                    held_out = (f", {info['validation_size']} held out, best epoch {info['best_epoch']}"
                                if info.get("validation_size") else "")
                    # The time goes to the log only: in a tracked output it would change the hash DVC tracks.
                    print(f"{task.name}/{args.source}/{kind} replicate {replicate} seed {seed}: trained on {len(texts)} "
                          f"examples{held_out}, labelled {', '.join(SPLITS)} in {time.perf_counter() - started:.0f} s")
    write_jsonl(Path("predictions") / task.name / f"{args.source}.jsonl", rows)


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"), ("source", "real or a generation method"))
