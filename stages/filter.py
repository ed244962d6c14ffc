"""filter: normalise the synthetic texts of each generation replicate and drop empty, too short or
long, duplicate and near-duplicate ones, and those that copy a real test text; check that each text
expresses its label (cleanlab and/or the LLM as judge); stop if a label kept nothing
-> data/filtered/<task>/<method>.jsonl and metrics/filter/<task>-<method>.json"""

from contextlib import ExitStack
from functools import partial
from pathlib import Path

from synthclf.cli import run_stage
from synthclf.diversity import Embedder
from synthclf.errors import SynthclfError
from synthclf.filters import filter_replicates
from synthclf.io import read_examples, read_jsonl, write_json, write_jsonl
from synthclf.label_check import check_labels, judge_labels
from synthclf.llm import open_llm, run_log_path
from synthclf.params import check_method, judge_llm, load_params
from synthclf.tasks import load_task


def main(args):
    check_method(args.method)
    params = load_params()
    task = load_task(args.task)
    path = Path("data/synthetic") / args.task / f"{args.method}.jsonl"
    records = read_examples(path, task.labels)
    test_texts = [r["text"] for r in read_jsonl(Path("data/real") / args.task / "test.jsonl")]
    checks = params.filter.label_check
    with ExitStack() as stack:
        embed = Embedder(params.diversity.model) if checks.cleanlab else None
        judge = None
        judge_model: str | None = None
        if checks.llm_judge:
            sampling = params.generate.sampling.model_copy(update={"max_tokens": checks.max_tokens, "stop": []})
            llm = stack.enter_context(open_llm(judge_llm(params.llm, params.judge), sampling,
                                               progress_desc=f"{args.task}/{args.method} judge",
                                               run_log=run_log_path("filter", f"{args.task}-{args.method}")))
            judge = partial(judge_labels, task, llm=llm, seed=params.seed)
            judge_model = llm.model_id
        checker = partial(check_labels, task=task, params=checks, seed=params.seed, embed=embed, judge=judge)
        try:
            kept, counts = filter_replicates(records, params.filter, list(task.labels), test_texts,
                                             checker if checks.cleanlab or checks.llm_judge else None)
        except SynthclfError as exc:  # name the file whose sample lost a label
            raise SynthclfError(f"{path}: {exc}") from None
    if judge_model is not None and "label_check" in counts:
        # Which LLM read the labels: the generator judging its own texts is not an independent check.
        counts["label_check"]["judge_model"] = judge_model
    write_jsonl(Path("data/filtered") / args.task / f"{args.method}.jsonl", kept)
    write_json(Path("metrics/filter") / f"{args.task}-{args.method}.json", counts)
    name = f"{args.task}/{args.method}"
    print(f"{name}: kept {counts['kept']} of {counts['input']} over {len(counts['replicates'])} replicate(s), "
          f"removed {counts['removed']}")
    if params.filter.contamination.enabled:
        print(f"{name}: contamination: dropped {counts['removed']['contaminated']} text(s) that (nearly) copy a real test text")
    else:
        print(f"{name}: contamination check switched off (filter.contamination.enabled)")
    if counts["labels_below_floor"]:
        short = ", ".join(counts["labels_below_floor"])
        floor = f"{params.filter.balance_floor:.0%}"
        print(f"{name}: warning: labels left with under {floor} of the largest label's examples in some replicate: {short}")


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"), ("method", "generation method"))
