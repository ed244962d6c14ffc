"""learning_curve: the same classifiers trained on growing stratified subsets of the real training
data (train.learning_curve.sizes) and scored on the real test set, so that the analysis can say
how many real examples each synthetic set is worth; with train.learning_curve.mixes, the same
subsets plus each method's filtered synthetic set -> metrics/learning_curve/<task>.json"""

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
    mixed = {}
    if settings.mixes:
        for method in params.methods:
            synthetic = read_examples(Path("data/filtered") / task.name / f"{method}.jsonl", task.labels)
            mixed[method] = learning_curve(train, test, list(task.labels), settings.sizes, kinds, params.train, params.seed,
                                           added=synthetic)
    write_json(Path("metrics/learning_curve") / f"{task.name}.json", {"n_train": len(train), "curve": curve, "mixed": mixed})
    for source, by_kind in {"real": curve, **{f"real + {m}": c for m, c in mixed.items()}}.items():
        for kind, points in by_kind.items():
            shown = ", ".join(f"{size}: {s['macro_f1']:.3f}" for size, s in points.items())
            print(f"{task.name}/{kind}: macro-F1 of {source} by real examples {shown or '(no size below the training set)'}")


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"))
