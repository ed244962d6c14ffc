"""prepare: the real, human-labelled data of one task -> data/real/<task>/{train,validation,test}.jsonl
(validation held out from the training pool, for every choice the analysis makes)"""

from pathlib import Path

from synthclf.cli import run_stage
from synthclf.io import write_jsonl
from synthclf.params import load_params
from synthclf.sources import load_real
from synthclf.tasks import load_task


def main(args):
    params = load_params()
    task = load_task(args.task)
    splits = load_real(task, params.prepare, params.seed)
    out = Path("data/real") / task.name
    for split, records in splits._asdict().items():
        write_jsonl(out / f"{split}.jsonl", records)
    sizes = ", ".join(f"{len(records)} {split}" for split, records in splits._asdict().items())
    print(f"{task.name}: {sizes} records -> {out}")


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name (tasks/<task>.yaml)"))
