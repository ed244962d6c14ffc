"""Kept runs: the report, figures, metrics, params and dvc.lock of a finished run, copied under
``reports/runs/<name>/`` so that results of other settings (more methods, the paper's ten tasks)
can be committed beside the default run's, which ``dvc repro`` overwrites.

Command line: ``synthclf keep-run NAME [--force]`` after ``dvc repro`` or ``dvc exp run``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from synthclf.errors import SynthclfError, dvc_error

RUNS = Path("reports/runs")
# What a kept run holds, relative to the project root; the report links its figures relatively.
KEPT = ("reports/report.md", "reports/figures", "metrics", "params.yaml", "dvc.lock")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

HELP = "keep the finished run's report, figures, metrics, params and dvc.lock under reports/runs/NAME/"
DESCRIPTION = (
    "Copy the finished run's report, figures, metrics, params and dvc.lock to reports/runs/NAME/, so that "
    "results of other settings can be committed beside the default run's. Refuses results that dvc status "
    "finds out of date."
)
EXAMPLE = """example:
  dvc exp run -S 'methods=[zero_shot,few_shot,attributed,grounded]'
  synthclf keep-run four_methods    # -> reports/runs/four_methods/
  git add reports/runs/four_methods && git commit -m 'Run with all four methods'"""


def dvc_status(root: Path) -> dict[str, Any]:
    """``dvc status --json`` in ``root``: each stale stage (``generate@imdb-few_shot``) and what changed."""
    cmd = [sys.executable, "-m", "dvc", "status", "--json"]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SynthclfError(f"dvc status failed in {root}: {dvc_error(proc.stderr)}")
    try:
        status = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        raise SynthclfError(f"dvc status printed no JSON: {proc.stdout[:200]!r}") from None
    if not isinstance(status, dict):
        raise SynthclfError(f"dvc status printed {type(status).__name__}, not a mapping of stages")
    return status


def stale_stages(root: Path) -> list[str]:
    """The stages whose results do not match the workspace's code, data and params (``dvc status``)."""
    return sorted(dvc_status(root))


def keep_run(name: str, root: Path = Path("."), force: bool = False) -> Path:
    """Copy the finished run in ``root`` to ``root/reports/runs/<name>/`` and return that folder.

    Refuses a run that ``dvc status`` finds out of date, so a kept report always matches the params
    kept beside it; the copy appears whole or not at all.
    """
    if not _NAME.fullmatch(name):
        raise SynthclfError(f"run name {name!r}: use letters, digits, '_', '-' or '.'")
    missing = [path for path in KEPT if not (root / path).exists()]
    if missing:
        raise SynthclfError(f"no finished run to keep in {root}: {missing[0]} is missing (run dvc repro first)")
    stale = stale_stages(root)
    if stale:
        raise SynthclfError(f"the results are out of date for {len(stale)} stage(s), e.g. {stale[0]}: run dvc repro first")
    target = root / RUNS / name
    if target.exists() and not force:
        raise SynthclfError(f"{target} exists: choose another name or pass --force")

    (root / RUNS).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root / RUNS, prefix=f".{name}."))
    try:
        for path in KEPT:
            relative = Path(path).relative_to("reports") if path.startswith("reports/") else Path(path)
            source, copy = root / path, staging / relative
            if source.is_dir():
                shutil.copytree(source, copy)
            else:
                shutil.copy2(source, copy)
        _drop_other_tasks(staging / "metrics", root / "params.yaml")
        report = staging / "report.md"
        report.write_text(
            f"> Kept run `{name}`: the results of the params in [params.yaml](params.yaml) beside this "
            "report; the data it used is named by hash in [dvc.lock](dvc.lock).\n\n" + report.read_text(encoding="utf-8"),
            encoding="utf-8",
        )
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _drop_other_tasks(metrics: Path, params_file: Path) -> None:
    """Removes the per-task metrics (``metrics/<stage>/<task>.json``, ``<task>-<method>.json``) of tasks
    the run did not have: git keeps the default run's files in the workspace, and a kept run of other
    tasks must not pass them off as its own."""
    tasks = (yaml.safe_load(params_file.read_text(encoding="utf-8")) or {}).get("tasks")
    if not tasks:
        return
    for path in metrics.glob("*/*.json"):
        if path.stem.split("-", 1)[0] not in tasks:
            path.unlink()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``synthclf keep-run``."""
    parser.add_argument("name", help="folder name under reports/runs/")
    parser.add_argument("--force", action="store_true", help="replace a kept run of that name")


def run(args: argparse.Namespace) -> None:
    """``synthclf keep-run``: a :class:`SynthclfError` for the caller to report."""
    print(f"kept the run in {keep_run(args.name, force=args.force)}")
