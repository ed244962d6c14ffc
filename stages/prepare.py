"""prepare: the real, human-labelled data of one task -> data/real/<task>/{train,test}.jsonl"""

from pathlib import Path

from synthclf.cli import run_stage
from synthclf.io import write_jsonl
from synthclf.params import load_params
from synthclf.sources import load_real
from synthclf.tasks import load_task


def main(args):
    params = load_params()
    task = load_task(args.task)
    train, test = load_real(task, params.prepare, params.seed)
    out = Path("data/real") / task.name
    write_jsonl(out / "train.jsonl", train)
    write_jsonl(out / "test.jsonl", test)
    print(f"{task.name}: {len(train)} train, {len(test)} test records -> {out}")


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name (tasks/<task>.yaml)"))
