"""filter: normalise the synthetic texts and drop empty, too short or long, and duplicate ones
-> data/filtered/<task>/<method>.jsonl and metrics/filter/<task>-<method>.json"""

from pathlib import Path

from synthclf.cli import run_stage
from synthclf.filters import filter_synthetic
from synthclf.io import read_examples, write_json, write_jsonl
from synthclf.params import check_method, load_params


def main(args):
    check_method(args.method)
    params = load_params()
    records = read_examples(Path("data/synthetic") / args.task / f"{args.method}.jsonl")
    kept, counts = filter_synthetic(records, params.filter)
    write_jsonl(Path("data/filtered") / args.task / f"{args.method}.jsonl", kept)
    write_json(Path("metrics/filter") / f"{args.task}-{args.method}.json", counts)
    print(f"{args.task}/{args.method}: kept {counts['kept']} of {counts['input']}, removed {counts['removed']}")


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"), ("method", "generation method"))
