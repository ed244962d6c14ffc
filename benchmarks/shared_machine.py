"""Two pipelines on one machine: one generate run alone vs two at once, with the embedded LLM.

Runs the real generate stage (``stages/generate.py``) as a subprocess in scratch copies of the project
(tasks and prompts, params.yaml with one task and method and ``--requests`` examples in one replicate),
each with a fresh ``SYNTHCLF_CACHE_DIR`` so that every request goes to the model (the pinned GGUF is
shared, not downloaded again). Prints:

1. the wall time of one run alone;
2. the wall time of two identical runs started at the same moment (from the start to the later end),
   each run's own time, and which of them waited for the other's embedded LLM;
3. the ratio of 2 to 1 (goal: at most about 2, i.e. no worse than running them one after the other),
   and whether all three runs wrote byte-identical data.

Run it alone on the machine: anything else running beside it changes the times.

    python benchmarks/shared_machine.py --requests 24
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from synthclf.distributions import cache_root
from synthclf.tasks import load_task

ROOT = Path(__file__).resolve().parents[1]
# Every setting the command line does not change comes from the project's params.yaml.
PARAMS_FILE = ROOT / "params.yaml"
WAITING = "waiting for another synthclf run's embedded LLM"


def make_project(where: Path, task: str, method: str, per_label: int) -> Path:
    """A scratch copy of what the generate stage reads, with its own empty synthclf cache beside it."""
    project = where / "project"
    project.mkdir(parents=True)
    for name in ("tasks", "prompts"):
        shutil.copytree(ROOT / name, project / name)
    params = yaml.safe_load(PARAMS_FILE.read_text())
    params.update(tasks=[task], methods=[method])
    params["generate"].update(per_label=per_label, replicates=1)
    params["llm"]["cache_dir"] = None  # the run's SYNTHCLF_CACHE_DIR below
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    downloads = cache_root() / "distributions"  # the pinned GGUF: fetched once, shared
    downloads.mkdir(parents=True, exist_ok=True)
    (where / "cache").mkdir()
    (where / "cache" / "distributions").symlink_to(downloads)
    return project


def start(where: Path, task: str, method: str) -> tuple[subprocess.Popen, float]:
    python_path = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "SYNTHCLF_CACHE_DIR": str(where / "cache"), "PYTHONPATH": python_path, "HF_HUB_OFFLINE": "1"}
    log = (where / "stage.log").open("w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "stages" / "generate.py"), task, method], cwd=where / "project",
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, time.perf_counter()


def finish(where: Path, proc: subprocess.Popen, started: float) -> float:
    code = proc.wait()
    seconds = time.perf_counter() - started
    if code != 0:
        sys.exit(f"the generate run in {where} failed ({code}):\n{(where / 'stage.log').read_text()[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=24, help="examples per run (split evenly over the labels)")
    parser.add_argument("--task", default="movie_snippets")
    parser.add_argument("--method", default="zero_shot", help="one that needs no real data (zero_shot)")
    args = parser.parse_args()

    labels = list(load_task(args.task, ROOT / "tasks").labels)
    per_label = max(1, args.requests // len(labels))
    print(f"generate {args.task}/{args.method}: {per_label * len(labels)} examples per run "
          f"({per_label} per label, 1 replicate), {os.cpu_count()} CPUs")
    output = Path("data") / "synthetic" / args.task / f"{args.method}.jsonl"

    with tempfile.TemporaryDirectory(prefix="synthclf-shared-machine-") as tmp:
        runs = [Path(tmp) / name for name in ("alone", "first", "second")]
        for where in runs:
            make_project(where, args.task, args.method, per_label)

        alone = finish(runs[0], *start(runs[0], args.task, args.method))
        print(f"\n1. one run alone:  {alone:7.1f} s")

        both_started = time.perf_counter()
        pair = [start(where, args.task, args.method) for where in runs[1:]]
        each = [finish(where, *run) for where, run in zip(runs[1:], pair)]
        both = time.perf_counter() - both_started
        waited = [where.name for where in runs[1:] if WAITING in (where / "stage.log").read_text()]
        print(f"2. two at once:    {both:7.1f} s  (each: {each[0]:.1f} s, {each[1]:.1f} s; "
              f"waited for the other's LLM: {', '.join(waited) or 'neither'})")

        identical = len({(where / "project" / output).read_bytes() for where in runs}) == 1
        print(f"3. two at once / one alone: {both / alone:.2f} (goal: at most about 2); "
              f"data of all three runs byte-identical: {'yes' if identical else 'NO'}")


if __name__ == "__main__":
    main()
