"""The LLM layer: one cached, retrying Chat Completions client for every backend.

    with open_llm(params.llm, sampling, progress_total=n) as llm:
        text = await llm.complete(messages, seed=seed, index=i, parse=parse)  # str | None
    llm.data_cost.as_dict()  # what the answers used cost to produce: a property of the data
    llm.usage.as_dict()      # what this run did (requests, cache hits, wall time): for the run log
"""

from synthclf.llm.client import LLM, BadResponse, Cost, Usage, as_is, open_llm, run_log_path

__all__ = ["LLM", "BadResponse", "Cost", "Usage", "as_is", "open_llm", "run_log_path"]
