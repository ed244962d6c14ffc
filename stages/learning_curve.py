"""learning_curve: the same classifiers trained on growing stratified subsets of the real training
data (train.learning_curve.sizes) and scored on the real test set, so that the analysis can say
how many real examples each synthetic set is worth -> metrics/learning_curve/<task>.json"""

from pathlib import Path

from synthclf.cli import run_stage
from synthclf.io import read_examples, write_json
from synthclf.learning_curve import learning_curve
from synthclf.params import load_params
from synthclf.tasks import load_task


def main(args):
    params = load_params()
    task = load_task(args.task)
    real = Path("data/real") / task.name
    train = read_examples(real / "train.jsonl", task.labels)
    test = read_examples(real / "test.jsonl", task.labels)
    settings = params.train.learning_curve
    kinds = [kind for kind in settings.classifiers if kind in params.train.classifiers]
    curve = learning_curve(train, test, list(task.labels), settings.sizes, kinds, params.train, params.seed)
    write_json(Path("metrics/learning_curve") / f"{task.name}.json", {"n_train": len(train), "curve": curve})
    for kind, points in curve.items():
        shown = ", ".join(f"{size}: {s['macro_f1']:.3f}" for size, s in points.items())
        print(f"{task.name}/{kind}: macro-F1 by real examples {shown or '(no size below the training set)'}")


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"))
