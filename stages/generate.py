"""generate: synthetic labelled examples of one task with one method (the paper's zero_shot and
few_shot; attributed and grounded beyond it), written by the configured LLM, in generate.replicates
independent samples
-> data/synthetic/<task>/<method>.jsonl and metrics/generate/<task>-<method>.json"""

from pathlib import Path

from synthclf.cli import run_stage
from synthclf.generation import generate_synthetic, generation_sampling
from synthclf.io import read_examples, read_json, write_json, write_jsonl
from synthclf.llm import open_llm, run_log_path
from synthclf.params import check_method, load_params
from synthclf.tasks import load_task


def main(args):
    check_method(args.method)
    params = load_params()
    task = load_task(args.task)
    # Few-shot and grounded prompts show real *train* texts; the test set is never shown to the LLM.
    needs_train = args.method in ("few_shot", "grounded")
    real_train = read_examples(Path("data/real") / task.name / "train.jsonl", task.labels) if needs_train else []
    attributes = read_json(Path("data/attributes") / f"{task.name}.json") if args.method == "attributed" else None
    total = params.generate.per_label * len(task.labels) * params.generate.replicates
    name = f"{task.name}-{args.method}"
    with open_llm(params.llm, generation_sampling(task, params.generate), progress_total=total, progress_desc=f"{task.name}/{args.method}",
                  run_log=run_log_path("generate", name)) as llm:
        records, summary = generate_synthetic(task, args.method, llm, params.generate, params.seed, real_train, attributes)
        # What producing this set cost, served from the cache or not; this run's requests, cache hits and
        # wall time go to the run log, since they would make the metrics depend on the cache's state.
        cost = {**llm.data_cost.as_dict(), "bad_responses": llm.usage.bad_responses}
        model = llm.model_id
    write_jsonl(Path("data/synthetic") / task.name / f"{args.method}.jsonl", records)
    write_json(Path("metrics/generate") / f"{name}.json", {**summary, **cost, "model": model})
    print(f"{task.name}/{args.method}: {summary['n']} of {summary['wanted']} examples in {summary['replicates']} replicate(s) "
          f"({summary['failed_requests']} failed requests)")


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"), ("method", "generation method"))
