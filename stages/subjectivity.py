"""subjectivity: estimate every catalogued task's subjectivity as the paper did, from pairwise
"which task is more objective?" judgements (here by the LLM) and a Bradley-Terry model
-> metrics/subjectivity.json"""

from synthclf.cli import run_stage
from synthclf.io import write_json
from synthclf.llm import open_llm, run_log_path
from synthclf.params import judge_llm, load_params
from synthclf.subjectivity import comparisons, estimate, judge_pairs
from synthclf.tasks import available_tasks, load_task


def main(args):
    params = load_params()
    tasks = {name: load_task(name) for name in params.subjectivity.tasks or available_tasks()}
    # The paper's own tasks (levels from the paper or reconstructed from it) anchor the 1-5 scale.
    reference = sorted(t for t, task in tasks.items() if task.subjectivity_basis != "analogy")
    pairs = comparisons(sorted(tasks), params.subjectivity.repeats)
    sampling = params.generate.sampling.model_copy(update={"max_tokens": params.subjectivity.max_tokens, "stop": []})
    # The judge, not the generator, compares the tasks; "model" in the metrics names it.
    with open_llm(judge_llm(params.llm, params.judge), sampling, progress_total=len(pairs),
                  progress_desc="subjectivity", run_log=run_log_path("subjectivity", "subjectivity")) as llm:
        choices = judge_pairs(tasks, pairs, llm, params.seed)
        result = {"model": llm.model_id, **estimate(tasks, pairs, choices, reference)}
    write_json("metrics/subjectivity.json", result)
    agreement = result["vs_known_levels"]
    rho = agreement["spearman_rho"]
    shown = "–" if rho is None else f"{rho:+.2f} (p = {agreement['p_value']:.2g})"
    # With few paper tasks no ranking can be significant: say so rather than let rho suggest a verdict.
    caveat = "" if agreement["testable"] else f"; too few tasks to test, p cannot go below {agreement['min_p_value']:.2g}"
    print(f"subjectivity: {result['answered']} of {result['comparisons']} comparisons answered; "
          f"Spearman rho of estimated vs known levels over {len(reference)} paper tasks: {shown}{caveat}")


if __name__ == "__main__":
    run_stage(__doc__, main)
