"""Where the embedded model's tokens go: generated, kept, thrown away, and how fast kept data arrives.

Runs the real generate stage (``stages/generate.py``) of two versions of synthclf, each in a scratch
copy of the project with its own code, params.yaml (``--tasks``, ``--method``, ``--per-label``, one
replicate) and an empty synthclf cache, so that every request goes to the embedded model (the pinned
GGUF is shared, not downloaded again):

- ``before``: a git revision, by default the last one before generate.tokens_per_word, cut_off,
  sampling.stop and the rejection of a chat's repeats existed;
- ``after``: the working tree (or another revision).

Then today's filter runs on both outputs (params.yaml's filter settings, with the real test set of
data/real/<task>/test.jsonl for the contamination check where prepare has written it). For each it
prints answers received, examples written and kept, prompt and output tokens, and the figures of the
targets:

- useful share: output tokens that end up in a kept example / all output tokens generated. A kept
  example's tokens are its answer's tokens times the share of the answer's characters it kept, since
  the cache stores token counts per answer, not per character;
- prompt tokens per kept example: as the API reports them (every token of every prompt), and as
  llama.cpp processed them (its log's "prompt eval ... tokens", fewer where llm.local.prompt_cache
  reused a cached prefix);
- kept examples per minute: kept examples / the generate stages' wall time (the filter not counted);
- whether the two sides wrote the same data, byte for byte.

``--before-set`` / ``--after-set KEY=VALUE`` change a side's params.yaml (dotted keys, YAML values),
e.g. the same code with and without llama.cpp's prompt cache:

    python benchmarks/generation_waste.py                                        # the default tasks
    python benchmarks/generation_waste.py --tasks bbc_news --per-label 60        # one task, longer chats
    python benchmarks/generation_waste.py --before HEAD --after-set llm.local.prompt_cache=true

Run it alone: it is a timing on every core.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from synthclf.answers import complete_sentences, normalize
from synthclf.distributions import cache_root
from synthclf.filters import filter_synthetic
from synthclf.io import read_jsonl
from synthclf.llm.cache import CACHE_FILE
from synthclf.params import FilterParams, load_section
from synthclf.tasks import load_task

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "d34cc9f"  # the last commit before the levers
CODE = ("src", "stages", "tasks", "prompts", "params.yaml")


# The generate stage with the embedded servers' own log on (llama.cpp writes it to stderr), so that
# what each request's prompt cost the server can be read from its "prompt eval time" lines.
LAUNCHER = ("import logging, runpy, sys; logging.basicConfig(level=logging.WARNING); "
            "logging.getLogger('synthclf.llm.client').setLevel(logging.DEBUG); "
            "sys.argv = ['stages/generate.py', *sys.argv[1:]]; runpy.run_path('stages/generate.py', run_name='__main__')")
PROMPT_EVAL = re.compile(r"prompt eval time =\s*[\d.]+ ms /\s*(\d+) tokens")


def overridden(params: dict[str, Any], settings: list[str]) -> dict[str, Any]:
    """``params`` with each ``a.b.c=value`` of ``settings`` set (the value read as YAML)."""
    for setting in settings:
        key, _, value = setting.partition("=")
        *path, last = key.split(".")
        section = params
        for part in path:
            section = section[part]
        if last not in section:
            sys.exit(f"--set {setting}: params.yaml has no {key}")
        section[last] = yaml.safe_load(value)
    return params


def make_project(where: Path, revision: str | None, tasks: list[str], method: str, per_label: int,
                 settings: list[str]) -> Path:
    """A scratch copy of ``revision`` (None: the working tree) with its own params and an empty cache."""
    project = where / "project"
    project.mkdir(parents=True)
    if revision is None:
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "--", *CODE], cwd=ROOT, check=True,
                               capture_output=True, text=True).stdout.split()
        for name in files:
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            (project / name).write_bytes((ROOT / name).read_bytes())
    else:
        archive = subprocess.run(["git", "archive", revision, "--", *CODE], cwd=ROOT, check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(project, filter="data")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params.update(tasks=tasks, methods=[method])
    params["generate"].update(per_label=per_label, replicates=1)
    params["llm"]["cache_dir"] = None  # the run's own SYNTHCLF_CACHE_DIR below
    (project / "params.yaml").write_text(yaml.safe_dump(overridden(params, settings), sort_keys=False))
    if method != "zero_shot":
        for task in tasks:  # few-shot and grounded read the real train split that prepare wrote
            (project / "data" / "real" / task).mkdir(parents=True)
            (project / "data" / "real" / task / "train.jsonl").symlink_to(ROOT / "data" / "real" / task / "train.jsonl")
    downloads = cache_root() / "distributions"
    downloads.mkdir(parents=True, exist_ok=True)
    (where / "cache").mkdir()
    (where / "cache" / "distributions").symlink_to(downloads)
    return project


def generate(where: Path, project: Path, tasks: list[str], method: str) -> tuple[float, int]:
    """Runs the copy's own generate stage for every task; returns the seconds they took and the
    prompt tokens the embedded servers processed."""
    env = {**os.environ, "SYNTHCLF_CACHE_DIR": str(where / "cache"), "PYTHONPATH": str(project / "src"),
           "HF_HUB_OFFLINE": "1"}
    seconds, processed = 0.0, 0
    for task in tasks:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", LAUNCHER, task, method], cwd=project, env=env,
                              capture_output=True, text=True)
        seconds += time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"{where.name}: generate {task}/{method} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        processed += sum(int(n) for n in PROMPT_EVAL.findall(done.stdout + done.stderr))
    return seconds, processed


def measure(where: Path, project: Path, tasks: list[str], method: str, seconds: float, processed: int) -> dict[str, Any]:
    params = yaml.safe_load((project / "params.yaml").read_text())
    keeps_cut = params["generate"].get("cut_off") == "keep_sentences"
    filter_params = load_section(FilterParams, "filter", ROOT / "params.yaml")
    written = kept = duplicates = 0
    kept_texts: set[str] = set()
    for name in tasks:
        task = load_task(name, ROOT / "tasks")
        records = read_jsonl(project / "data" / "synthetic" / name / f"{method}.jsonl")
        test = ROOT / "data" / "real" / name / "test.jsonl"
        test_texts = [r["text"] for r in read_jsonl(test)] if test.is_file() else []
        survivors, report = filter_synthetic(records, filter_params, test_texts, labels=list(task.labels))
        written += len(records)
        kept += len(survivors)
        duplicates += report["removed"].get("duplicate", 0) + report["removed"].get("near_duplicate", 0)
        kept_texts |= {r["text"] for r in survivors}
    answers = tokens_in = tokens_out = useful = 0
    credited: set[str] = set()
    with sqlite3.connect(where / "cache" / "llm" / CACHE_FILE) as db:
        for content, finish, t_in, t_out in db.execute("SELECT content, finish_reason, tokens_in, tokens_out FROM responses"):
            answers += 1
            tokens_in += t_in
            tokens_out += t_out
            content = (content or "").strip()
            if finish == "length" and not keeps_cut:
                continue  # asked again: none of it became data
            used = complete_sentences(content) if finish == "length" else content
            text = normalize(used)
            if text in kept_texts and text not in credited:
                credited.add(text)
                useful += round(t_out * len(used) / max(len(content), 1))
    return {"answers": answers, "written": written, "duplicates": duplicates, "kept": kept, "tokens_in": tokens_in,
            "tokens_out": tokens_out, "prompt_processed": processed, "wall_s": seconds,
            "useful_share": useful / max(tokens_out, 1), "prompt_tokens_per_kept": tokens_in / max(kept, 1),
            "processed_per_kept": processed / max(kept, 1), "kept_per_minute": kept / (seconds / 60)}


def data_digest(project: Path, tasks: list[str], method: str) -> str:
    """One hash over the synthetic data the copy wrote, to tell whether two sides wrote the same bytes."""
    digest = hashlib.sha256()
    for name in tasks:
        digest.update((project / "data" / "synthetic" / name / f"{method}.jsonl").read_bytes())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", help="default: params.yaml's tasks")
    parser.add_argument("--method", default="zero_shot")
    parser.add_argument("--per-label", type=int, default=20)
    parser.add_argument("--before", default=BEFORE, help=f"a git revision (default {BEFORE})")
    parser.add_argument("--after", default=None, help="a git revision (default: the working tree)")
    parser.add_argument("--before-set", action="append", default=[], metavar="KEY=VALUE", help="a params change, before")
    parser.add_argument("--after-set", action="append", default=[], metavar="KEY=VALUE", help="a params change, after")
    args = parser.parse_args()
    tasks = args.tasks or yaml.safe_load((ROOT / "params.yaml").read_text())["tasks"]
    results, digests = {}, {}
    with tempfile.TemporaryDirectory(prefix="synthclf-waste-") as tmp:
        for name, revision, settings in (("before", args.before, args.before_set), ("after", args.after, args.after_set)):
            where = Path(tmp) / name
            project = make_project(where, revision, tasks, args.method, args.per_label, settings)
            seconds, processed = generate(where, project, tasks, args.method)
            results[name] = measure(where, project, tasks, args.method, seconds, processed)
            digests[name] = data_digest(project, tasks, args.method)
    print(f"{args.method}, {args.per_label} per label, 1 replicate: {', '.join(tasks)}; before = {args.before} "
          f"{' '.join(args.before_set)}, after = {args.after or 'the working tree'} {' '.join(args.after_set)}")
    formats = {"useful_share": "{:.2f}", "prompt_tokens_per_kept": "{:.0f}", "processed_per_kept": "{:.0f}",
               "kept_per_minute": "{:.1f}", "wall_s": "{:.0f}"}
    print(f"{'':24}{'before':>10}{'after':>10}")
    for key in results["before"]:
        cells = [formats.get(key, "{:d}").format(r[key]) for r in results.values()]
        print(f"{key:24}" + "".join(f"{cell:>10}" for cell in cells))
    b, a = results["before"], results["after"]
    print(f"\nuseful share {b['useful_share']:.2f} -> {a['useful_share']:.2f} (target >= 0.70); prompt tokens per kept "
          f"example x{a['prompt_tokens_per_kept'] / b['prompt_tokens_per_kept']:.2f}, processed by llama.cpp "
          f"x{a['processed_per_kept'] / max(b['processed_per_kept'], 1e-9):.2f} (target <= 0.5); kept per minute "
          f"x{a['kept_per_minute'] / b['kept_per_minute']:.2f} (target >= 2); the same data byte for byte: "
          f"{'yes' if digests['before'] == digests['after'] else 'no'}")


if __name__ == "__main__":
    main()
