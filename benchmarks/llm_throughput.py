"""Throughput of synthclf's LLM layer against the real embedded llama.cpp server.

Prints three figures:
1. generated tokens/s through synthclf's client vs plain ``openai`` requests at the same concurrency
   against the same server (overhead ratio; goal <= 1.10);
2. tokens/s through synthclf's client at several concurrency levels;
3. a fully cached re-run vs the cold run, both end to end through ``open_llm`` with backend local
   (speedup; goal >= 50x, with zero requests).

    python benchmarks/llm_throughput.py --requests 32 --max-tokens 48
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import openai

from synthclf.llm import open_llm
from synthclf.llm.server import embedded_server, resolve_gguf
from synthclf.params import LLMParams, LocalModel, Sampling, load_section

KEY_ENV = "SYNTHCLF_BENCH_KEY"
# Every setting the command line does not change comes from the project's params.yaml.
PARAMS_FILE = Path(__file__).resolve().parents[1] / "params.yaml"
TOPICS = ("a film", "a phone", "a novel", "a restaurant", "a football match", "a laptop", "a city", "a song")


def prompts(n: int, run: str) -> list[list[dict[str, str]]]:
    # Distinct per run, so llama.cpp's prompt cache does not favour whichever client runs second.
    return [[{"role": "user", "content": f"({run} #{i}) Write a short review of {TOPICS[i % len(TOPICS)]}."}]
            for i in range(n)]


async def direct(base_url: str, key: str, chats: list[Any], sampling: Sampling, concurrency: int) -> tuple[int, float]:
    """Plain openai requests under a semaphore: (completion tokens, seconds)."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=600)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int, messages: Any) -> int:
        async with gate:
            answer = await client.chat.completions.create(
                model="bench", messages=messages, seed=i, temperature=sampling.temperature,
                top_p=sampling.top_p, max_tokens=sampling.max_tokens)
            return answer.usage.completion_tokens if answer.usage else 0

    started = time.perf_counter()
    tokens = await asyncio.gather(*(one(i, m) for i, m in enumerate(chats)))
    elapsed = time.perf_counter() - started
    await client.close()
    return sum(tokens), elapsed


def through_synthclf(params: LLMParams, chats: list[Any], sampling: Sampling) -> tuple[int, float, dict[str, Any]]:
    """The same requests through open_llm/complete: (completion tokens, seconds, usage)."""
    started = time.perf_counter()
    with open_llm(params, sampling, progress_total=len(chats), progress_desc="synthclf") as llm:
        async def main() -> None:
            await asyncio.gather(*(llm.complete(m, seed=i, index=i) for i, m in enumerate(chats)))
        asyncio.run(main())
    return llm.usage.tokens_out, time.perf_counter() - started, llm.usage.as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--concurrency", type=int, default=16, help="for figures 1 and 3")
    parser.add_argument("--levels", default="1,2,4,8,16", help="concurrency levels for figure 2")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per client in figure 1")
    parser.add_argument("--parallel", type=int, default=8, help="server slots")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    sampling = load_section(Sampling, "generate.sampling", PARAMS_FILE, temperature=1.0, max_tokens=args.max_tokens, stop=[])
    local = load_section(LocalModel, "llm.local", PARAMS_FILE, parallel=args.parallel, context_per_slot=1024,
                         threads=args.threads)
    gguf = resolve_gguf(local)
    print(f"model {gguf.name}, {args.requests} requests x max {args.max_tokens} tokens, "
          f"{args.parallel} server slots, {os.cpu_count()} CPUs")

    with tempfile.TemporaryDirectory() as tmp:
        # Figures 1 and 2: one server for both clients, so only the client side differs.
        started = time.perf_counter()
        with embedded_server(gguf, local) as server:
            print(f"embedded server ready in {time.perf_counter() - started:.2f} s")
            os.environ[KEY_ENV] = server.api_key

            def params(concurrency: int, cache: str) -> LLMParams:
                # Every answer counts once: no retries of truncated answers, so both clients make the same requests.
                return load_section(LLMParams, "llm", PARAMS_FILE, backend="openai-compatible", model="bench",
                                    base_url=server.base_url, api_key_env=KEY_ENV, concurrency=concurrency,
                                    timeout_s=600, bad_response_retries=0, cache_dir=str(Path(tmp) / cache))

            rates: dict[str, list[float]] = {"openai": [], "synthclf": []}
            for r in range(args.rounds):
                tokens, seconds = asyncio.run(direct(server.base_url, server.api_key,
                                                     prompts(args.requests, f"d{r}"), sampling, args.concurrency))
                rates["openai"].append(tokens / seconds)
                tokens, seconds, _ = through_synthclf(params(args.concurrency, f"r{r}"),
                                                      prompts(args.requests, f"s{r}"), sampling)
                rates["synthclf"].append(tokens / seconds)
            plain, ours = statistics.mean(rates["openai"]), statistics.mean(rates["synthclf"])
            print(f"\n1. concurrency {args.concurrency}: plain openai {plain:.1f} tok/s, synthclf {ours:.1f} tok/s "
                  f"-> overhead ratio {plain / ours:.3f} (goal <= 1.10)")
            print(f"   rounds: openai {[round(x, 1) for x in rates['openai']]}, "
                  f"synthclf {[round(x, 1) for x in rates['synthclf']]}")

            print("\n2. throughput vs concurrency (synthclf client)")
            for level in (int(x) for x in args.levels.split(",")):
                tokens, seconds, _ = through_synthclf(params(level, f"c{level}"),
                                                      prompts(args.requests, f"c{level}"), sampling)
                print(f"   concurrency {level:>3}: {tokens / seconds:7.1f} tok/s, "
                      f"{args.requests / seconds:5.2f} req/s")

        # Figure 3: end to end with backend local; the warm run must not even start the server.
        local_params = load_section(LLMParams, "llm", PARAMS_FILE, backend="local", model="bench",
                                    concurrency=args.concurrency, local=local, bad_response_retries=0,
                                    cache_dir=str(Path(tmp) / "e2e"))
        chats = prompts(args.requests, "e2e")
        _, cold_s, cold = through_synthclf(local_params, chats, sampling)
        _, warm_s, warm = through_synthclf(local_params, chats, sampling)
        print(f"\n3. cold run {cold_s:.2f} s ({cold['requests']} requests, server start included), "
              f"cached re-run {warm_s * 1000:.1f} ms ({warm['requests']} requests, {warm['cache_hits']} cache hits) "
              f"-> speedup {cold_s / warm_s:.0f}x (goal >= 50x)")


if __name__ == "__main__":
    main()
