"""agreement_proxy: where annotators are missing, each test text's subjectivity from the agreement of
k sampled LLM labels; where they are present, the proxy checked against them
-> data/agreement_proxy/<task>.jsonl and metrics/agreement_proxy/<task>.json"""

from pathlib import Path

from synthclf.agreement_proxy import (
    majority_label,
    proxy_agreement,
    sample_items,
    sample_labels,
    summarize,
)
from synthclf.cli import run_stage
from synthclf.errors import SynthclfError
from synthclf.io import read_examples, write_json, write_jsonl
from synthclf.llm import open_llm, run_log_path
from synthclf.params import judge_llm, load_params
from synthclf.tasks import available_tasks, load_task


def main(args):
    params = load_params()
    proxy = params.agreement_proxy
    unknown = sorted(set(proxy.tasks) - set(available_tasks()))
    if unknown:
        raise SynthclfError(f"params.yaml: agreement_proxy.tasks: no task file tasks/{unknown[0]}.yaml")
    out = Path("data/agreement_proxy") / f"{args.task}.jsonl"
    metrics = Path("metrics/agreement_proxy") / f"{args.task}.json"
    if args.task not in proxy.tasks:
        # The stage still writes both files, so that evaluate's dependencies exist for every task.
        write_jsonl(out, [])
        write_json(metrics, {"enabled": False})
        print(f"{args.task}: no agreement proxy (not in agreement_proxy.tasks)")
        return
    task = load_task(args.task)
    test = read_examples(Path("data/real") / task.name / "test.jsonl", task.labels)
    rows = sample_items(len(test), proxy.max_items, params.seed)
    texts = [test[i]["text"] for i in rows]
    sampling = params.generate.sampling.model_copy(update={"max_tokens": proxy.max_tokens, "stop": []})
    desc = f"{task.name} agreement proxy"
    # Labelling a text is judging it, as the label check does (the same prompt): the judge answers.
    with open_llm(judge_llm(params.llm, params.judge), sampling, progress_total=len(texts) * proxy.samples,
                  progress_desc=desc, run_log=run_log_path("agreement_proxy", task.name)) as llm:
        answers = sample_labels(task, texts, llm, params.seed, proxy.samples)
        model = llm.model_id
    records = [
        {"row": i, "labels": labels, "agreement": proxy_agreement(labels), "majority": majority_label(labels)}
        for i, labels in zip(rows, answers)
    ]
    result = {"model": model, **summarize(records, [test[i]["label"] for i in rows], [test[i].get("agreement") for i in rows], proxy.samples)}
    write_jsonl(out, records)
    write_json(metrics, result)
    check = result["vs_annotators"]
    against = "" if not check or check["spearman_rho"] is None else (
        f"; against the annotators' agreement over {check['n']} texts: Spearman rho {check['spearman_rho']:+.2f} (p = {check['p_value']:.2g})"
    )
    print(f"{task.name}: proxy agreement for {result['items_with_proxy']} of {len(rows)} test texts, "
          f"mean {result['mean_agreement'] or 0:.2f}{against}")


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"))
