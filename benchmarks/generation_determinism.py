"""Is embedded generation reproducible, and what does reproducibility cost in throughput?

Generates the same synthetic sets twice from an empty LLM cache for each server setting, with the
project's own generation code and params.yaml's values otherwise, and prints per setting: how many
records came out byte-identical in the two runs, wall time, examples per minute and generated tokens
per second. The settings compared:

- batched: one server whose slots decode at once, cached prompt prefixes reused (the former default);
- reproducible: one server per core, each with one slot and no prompt cache (params.yaml's default).

Needs the real training data of the tasks (`dvc repro prepare` first). Run it alone on the machine:
another job beside it changes the timings and, for the batched setting, the answers.

    python benchmarks/generation_determinism.py --tasks bbc_news tweet_sentiment --methods few_shot zero_shot
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from synthclf.generation import generate_synthetic, generation_sampling
from synthclf.io import read_examples
from synthclf.llm import open_llm
from synthclf.params import PARAMS_FILE, LLMParams, load_params, load_section
from synthclf.tasks import load_task

SETTINGS = {
    "batched (1 server, 8 slots, prompt cache)": {"servers": 1, "parallel": 8, "prompt_cache": True, "threads": None},
    "reproducible (1 server per core, 1 slot each, no prompt cache)": {"servers": None, "parallel": 1,
                                                                        "prompt_cache": False, "threads": None},
}


def generate_all(llm_params: LLMParams, sets: list[tuple[str, str]]) -> tuple[list[list[str]], float, int]:
    """Every set once from an empty cache: (texts per set, seconds, generated tokens)."""
    params = load_params()
    texts, tokens = [], 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        for task_name, method in sets:
            task = load_task(task_name)
            real_train = read_examples(Path("data/real") / task_name / "train.jsonl", task.labels)
            run_params = llm_params.model_copy(update={"cache_dir": cache})
            with open_llm(run_params, generation_sampling(task, params.generate), progress_desc=f"{task_name}/{method}") as llm:
                records, _ = generate_synthetic(task, method, llm, params.generate, params.seed, real_train)
                tokens += llm.usage.tokens_out
            texts.append([r["text"] for r in records])
    return texts, time.perf_counter() - started, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=None, help="default: params.yaml's tasks")
    parser.add_argument("--methods", nargs="+", default=["zero_shot", "few_shot"])
    args = parser.parse_args()
    sets = [(task, method) for task in (args.tasks or load_params().tasks) for method in args.methods]
    print(f"{len(sets)} sets: {', '.join(f'{t}/{m}' for t, m in sets)}")
    for name, local in SETTINGS.items():
        llm_params = load_section(LLMParams, "llm", PARAMS_FILE, local=local)
        (first, s1, t1), (second, s2, t2) = generate_all(llm_params, sets), generate_all(llm_params, sets)
        n = sum(len(texts) for texts in first)
        same = sum(a == b for x, y in zip(first, second) for a, b in zip(x, y))
        minutes = (s1 + s2) / 120
        print(f"{name}: identical {same}/{n} records; per run {s1:.1f} s and {s2:.1f} s, "
              f"{n / minutes:.1f} examples/min, {(t1 + t2) / (s1 + s2):.1f} generated tokens/s")


if __name__ == "__main__":
    main()
