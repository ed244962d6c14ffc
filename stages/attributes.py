"""attributes: the first step of attribute-conditioned generation (AttrPrompt): the LLM names the
dimensions along which the task's texts vary and proposes values of each for every label
-> data/attributes/<task>.json, a small file kept in git so it can be reviewed. Without the attributed
method in params.yaml's methods the file only says so: no LLM time is spent on attributes no one uses."""

from pathlib import Path

from synthclf.attributes import propose_attributes
from synthclf.cli import run_stage
from synthclf.io import write_json
from synthclf.llm import open_llm, run_log_path
from synthclf.methods import load_method_prompts
from synthclf.params import load_params
from synthclf.tasks import load_task


def main(args):
    params = load_params()
    task = load_task(args.task)
    if "attributed" not in params.methods:
        write_json(Path("data/attributes") / f"{task.name}.json", {"skipped": "the attributed method is not in methods"})
        print(f"{task.name}: no attributes proposed (the attributed method is not in methods)")
        return
    prompts = load_method_prompts()
    requests = 1 + len(task.labels) * (len(params.attributes.dimensions) + params.attributes.proposed_dimensions)
    sampling = params.generate.sampling.model_copy(update={"max_tokens": params.attributes.max_tokens, "stop": []})
    with open_llm(params.llm, sampling, progress_total=requests, progress_desc=f"{task.name}/attributes",
                  run_log=run_log_path("attributes", task.name)) as llm:
        attributes = propose_attributes(task, llm, params.attributes, prompts.attributed, params.seed)
    write_json(Path("data/attributes") / f"{task.name}.json", attributes)
    counts = {label: sum(len(v) for v in dims.values()) for label, dims in attributes["values"].items()}
    print(f"{task.name}: dimensions {attributes['dimensions']}, values per label {counts}")


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"))
