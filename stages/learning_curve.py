"""learning_curve: the same classifiers trained on stratified subsets of the real training data
(train.learning_curve.sizes, train.learning_curve.draws subsets each) and scored on the real test
and validation sets, so that the analysis can say how many real examples each synthetic set is
worth; real subsets as large as each method's sets against that method's models (predictions/ of
the train stage); with train.learning_curve.mixes, the same subsets plus each synthetic replicate
set -> metrics/learning_curve/<task>.json"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthclf.cli import run_stage
from synthclf.io import write_json
from synthclf.learning_curve import task_learning_curve
from synthclf.params import load_params
from synthclf.tasks import load_task


def shown(scores: Mapping[str, Any], signed: bool = False) -> str:
    """Macro-F1 with its interval, e.g. ``0.612 [0.570, 0.655]``."""
    form = "+.3f" if signed else ".3f"
    return f"{scores['macro_f1']:{form}} [{scores['macro_f1_low']:{form}}, {scores['macro_f1_high']:{form}}]"


def main(args):
    params = load_params()
    task = load_task(args.task)
    metrics = task_learning_curve(".", task.name, list(task.labels), params.methods, params.train, params.seed,
                                  params.intervals)
    write_json(Path("metrics/learning_curve") / f"{task.name}.json", metrics)
    level = f"{params.intervals.level:.0%} intervals"
    for kind, points in metrics["curve"].items():
        by_size = "; ".join(f"{size}: {shown(s)}" for size, s in sorted(points.items(), key=lambda p: int(p[0])))
        print(f"{task.name}/{kind}: test macro-F1 of real subsets ({metrics['draws']} draws each, {level}) "
              f"{by_size or '(no size below the training set)'}")
    for method in params.methods:
        if method not in metrics["matched"]:
            print(f"{task.name}/{method}: no size-matched comparison (its sets are not smaller than the real training set)")
        for kind, m in metrics["matched"].get(method, {}).items():
            print(f"{task.name}/{kind}: {m['size']} real examples {shown(m['real'])} vs {method} {shown(m['synthetic'])}, "
                  f"real - synthetic {shown(m['difference'], signed=True)}")
    for method, by_kind in metrics["mixed"].items():
        for kind, by_size in by_kind.items():
            gains = "; ".join(f"{size}: {shown(s['gain'], signed=True)}" for size, s in sorted(by_size.items(), key=lambda p: int(p[0])))
            print(f"{task.name}/{kind}: gain of adding {method} to real subsets, by real examples {gains}")


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"))
