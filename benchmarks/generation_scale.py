"""Generation at scale: synthclf's own cost for 10k and 100k requests, with the model taken out.

Runs the generate stage's code path (chat plan, LLM client, response cache) against an instant
OpenAI-compatible server on 127.0.0.1, for each size:

1. cold: generate_synthetic from an empty cache (a temp llm.cache_dir), every request to the server;
2. cached: the same again from the filled cache, as a re-run of the stage does (no requests);
3. filter: the filter stage's filter_replicates on the texts of step 1 (params.yaml's filter settings;
   no real test set, so no contamination check).

Each step runs in a fresh process, as a stage does, so that its peak RSS (resource.getrusage) is its
own; the time is the step's work, not the interpreter's start. The server answers every request at
once with 8-40 made-up words drawn from the request's seed, so texts differ as a model's do and the
filter has real work. It is the standard library's asyncio in a process of its own: a web framework
or a thread per connection would time the server as much as synthclf.

The chat plan is params.yaml's generate section with one replicate and ``generate.chats_per_label``
null (automatic: enough chats for every one of ``--concurrency`` slots) unless ``--chats-per-label``
gives a number; the task's labels share each size evenly.

    python benchmarks/generation_scale.py --sizes 10000 100000
    python benchmarks/generation_scale.py --sizes 10000 --chats-per-label 4   # the explicit default plan
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from itertools import accumulate
from pathlib import Path
from typing import Any

from synthclf.filters import filter_replicates
from synthclf.generation import generate_synthetic, generation_sampling, plan_chats, resolve_chats_per_label
from synthclf.io import read_jsonl, write_jsonl
from synthclf.llm import open_llm
from synthclf.params import FilterParams, GenerateParams, LLMParams, load_section
from synthclf.tasks import load_task

ROOT = Path(__file__).resolve().parents[1]
# Every setting the command line does not change comes from the project's params.yaml.
PARAMS_FILE = ROOT / "params.yaml"
# Unset on purpose: the client then sends a placeholder, never a real key from the environment.
KEY_ENV = "SYNTHCLF_BENCH_KEY"
SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "to", "vel", "dor", "pu", "que", "ta", "ber", "nim", "gal", "fro", "zu"]


def _vocabulary(size: int = 5000) -> tuple[list[str], list[float]]:
    """Made-up words and their cumulative Zipf weights (frequency falls with rank, as in language)."""
    rng = random.Random(0)
    words = sorted({"".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))) for _ in range(size * 3)})
    rng.shuffle(words)
    words = words[:size]
    return words, list(accumulate(1 / rank for rank in range(1, len(words) + 1)))


WORDS, CUM_WEIGHTS = _vocabulary()


def _completion(body: dict[str, Any]) -> bytes:
    rng = random.Random(body.get("seed"))
    content = " ".join(rng.choices(WORDS, cum_weights=CUM_WEIGHTS, k=rng.randint(8, 40)))
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
    completion_tokens = len(content.split())
    return json.dumps({
        "id": "chatcmpl-instant", "object": "chat.completion", "created": 0, "model": body.get("model", "instant"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }).encode()


async def _connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """HTTP/1.1 keep-alive, as much of it as the openai client's POSTs (with Content-Length) need."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            payload = _completion(json.loads(await reader.readexactly(length)))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(payload), payload))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the client closed the connection: its pool shrank or the run ended
    finally:
        writer.close()


def serve(ports: Any) -> None:
    """The instant server, forever; its port goes to ``ports`` (a multiprocessing queue)."""
    async def main() -> None:
        # A backlog for every connection the client opens at once, or the surplus waits out a SYN retry.
        server = await asyncio.start_server(_connection, "127.0.0.1", 0, backlog=4096)
        ports.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def generate_step(base_url: str, cache_dir: str, task_name: str, per_label: int, concurrency: int,
                  chats_per_label: int | None, records_path: str | None) -> dict[str, Any]:
    """One generate stage's work; writes the records to ``records_path`` (after the clock stops)."""
    started = time.perf_counter()
    task = load_task(task_name, ROOT / "tasks")
    llm_params = load_section(LLMParams, "llm", PARAMS_FILE, backend="openai-compatible", model="instant",
                              base_url=base_url, api_key_env=KEY_ENV, concurrency=concurrency, cache_dir=cache_dir)
    generate = load_section(GenerateParams, "generate", PARAMS_FILE, per_label=per_label, replicates=1,
                            chats_per_label=chats_per_label)
    with open_llm(llm_params, generation_sampling(task, generate), progress_total=per_label * len(task.labels),
                  progress_desc="cold" if records_path else "cached") as llm:
        records, summary = generate_synthetic(task, "zero_shot", llm, generate, seed=0)
    seconds = time.perf_counter() - started
    if records_path:
        write_jsonl(records_path, records)
    usage = llm.usage
    return {"seconds": seconds, "records": summary["n"], "requests": usage.requests, "cache_hits": usage.cache_hits,
            "failed": summary["failed_requests"], "peak_rss_mb": _peak_rss_mb()}


def filter_step(records_path: str, task_name: str) -> dict[str, Any]:
    """The filter stage's work on the generated records."""
    records = read_jsonl(records_path)
    labels = list(load_task(task_name, ROOT / "tasks").labels)
    started = time.perf_counter()
    kept, counts = filter_replicates(records, load_section(FilterParams, "filter", PARAMS_FILE), labels)
    return {"seconds": time.perf_counter() - started, "input": counts["input"], "kept": len(kept),
            "removed": {reason: n for reason, n in counts["removed"].items() if n}, "peak_rss_mb": _peak_rss_mb()}


def in_fresh_process(step: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(step, *args).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="requests per run")
    parser.add_argument("--concurrency", type=int, default=500, help="llm.concurrency: requests in flight")
    parser.add_argument("--chats-per-label", type=int, default=None, help="default: null (automatic)")
    parser.add_argument("--task", default="bbc_news")
    args = parser.parse_args()

    # The server is on loopback: a proxy from the environment must not stand between it and the client.
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1"
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    server = context.Process(target=serve, args=(ports,), daemon=True)
    server.start()
    base_url = f"http://127.0.0.1:{ports.get(timeout=60)}/v1"
    labels = list(load_task(args.task, ROOT / "tasks").labels)
    print(f"instant server at {base_url}; task {args.task} ({len(labels)} labels), concurrency {args.concurrency}, "
          f"{os.cpu_count()} CPUs")
    try:
        for size in args.sizes:
            per_label = max(1, size // len(labels))
            generate = load_section(GenerateParams, "generate", PARAMS_FILE, per_label=per_label, replicates=1,
                                    chats_per_label=args.chats_per_label)
            chats = len(plan_chats(labels, per_label, resolve_chats_per_label(generate, len(labels), args.concurrency)))
            with tempfile.TemporaryDirectory() as tmp:
                records_path = str(Path(tmp) / "records.jsonl")
                run = (base_url, str(Path(tmp) / "llm"), args.task, per_label, args.concurrency, args.chats_per_label)
                cold = in_fresh_process(generate_step, *run, records_path)
                cached = in_fresh_process(generate_step, *run, None)
                filtered = in_fresh_process(filter_step, records_path, args.task)
            print(f"\n{per_label * len(labels)} requests in {chats} chats:")
            for name, step in (("cold", cold), ("cached", cached)):
                answers = step["requests"] + step["cache_hits"]
                print(f"  {name:<6} {step['seconds']:7.1f} s  {answers / step['seconds']:7.0f} requests/s  "
                      f"peak RSS {step['peak_rss_mb']:5.0f} MB  ({step['requests']} sent, {step['cache_hits']} from "
                      f"the cache, {step['records']} records, {step['failed']} failed)")
            print(f"  filter {filtered['seconds']:7.1f} s  {filtered['input'] / filtered['seconds']:7.0f} texts/s     "
                  f"peak RSS {filtered['peak_rss_mb']:5.0f} MB  (kept {filtered['kept']} of {filtered['input']}; "
                  f"removed {filtered['removed'] or 'none'})")
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
