"""The LLM layer: one cached, retrying Chat Completions client for every backend.

    with open_llm(params.llm, sampling, progress_total=n) as llm:
        text = await llm.complete(messages, seed=seed, index=i, parse=parse)  # str | None
    llm.usage.as_dict()
"""

from synthclf.llm.client import LLM, BadResponse, Usage, open_llm

__all__ = ["LLM", "BadResponse", "Usage", "open_llm"]
