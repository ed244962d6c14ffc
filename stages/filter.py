"""filter: normalise the synthetic texts and drop empty, too short or long, duplicate and near-duplicate
ones, and those that copy a real test text
-> data/filtered/<task>/<method>.jsonl and metrics/filter/<task>-<method>.json"""

from pathlib import Path

from synthclf.cli import run_stage
from synthclf.filters import filter_synthetic
from synthclf.io import read_jsonl, write_json, write_jsonl
from synthclf.params import load_params


def main(args):
    params = load_params()
    records = read_jsonl(Path("data/synthetic") / args.task / f"{args.method}.jsonl")
    test_texts = (r["text"] for r in read_jsonl(Path("data/real") / args.task / "test.jsonl"))
    kept, counts = filter_synthetic(records, params.filter, test_texts)
    write_jsonl(Path("data/filtered") / args.task / f"{args.method}.jsonl", kept)
    write_json(Path("metrics/filter") / f"{args.task}-{args.method}.json", counts)
    name = f"{args.task}/{args.method}"
    print(f"{name}: kept {counts['kept']} of {counts['input']}, removed {counts['removed']}")
    if params.filter.contamination.enabled:
        print(f"{name}: contamination: dropped {counts['removed']['contaminated']} text(s) that (nearly) copy a real test text")
    else:
        print(f"{name}: contamination check switched off (filter.contamination.enabled)")
    if counts["labels_below_floor"]:
        short = ", ".join(counts["labels_below_floor"])
        floor = f"{params.filter.balance_floor:.0%}"
        print(f"{name}: warning: labels left with under {floor} of the largest label's examples: {short}")


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"), ("method", "generation method"))
