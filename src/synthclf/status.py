"""Where the project stands: which stages are stale (and which of those would ask the LLM), what the
synthetic data cost to produce, and where the LLM request cache lives.

Command line: ``synthclf status``, in the project's root. It only reads: ``dvc status``, the committed
``metrics/generate/*.json`` and the cache file's size and row count.
"""

from __future__ import annotations

import argparse
import math
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthclf.distributions import cache_root
from synthclf.errors import SynthclfError
from synthclf.io import read_json, read_yaml
from synthclf.runs import dvc_status

HELP = "what is stale (and would ask the LLM), what the synthetic data cost, where the LLM cache is"
DESCRIPTION = (
    "Show which stages dvc status finds stale, and which of them ask the LLM (so would send requests that "
    "the cache cannot answer); what producing the synthetic data cost (metrics/generate/*.json); and where "
    "the LLM request cache is, with its size and number of cached answers. Run it in the project's root."
)
EXAMPLE = """example:
  synthclf status    # before dvc repro: what it would run, which of that asks the LLM, what was paid"""

# Stages that ask the LLM; filter does only when it judges labels (filter.label_check.llm_judge).
LLM_STAGES = ("attributes", "generate", "agreement_proxy", "subjectivity")
JUDGE_STAGE = "filter"
GENERATE_METRICS = Path("metrics/generate")
PARAMS = Path("params.yaml")
# The cache's file inside its folder (synthclf.llm.cache.CACHE_FILE; not imported: that package loads the client).
CACHE_FILE = "responses.sqlite3"
SHOWN = 3  # changed files or params named per stage


@dataclass
class StaleStage:
    """One stage of dvc.yaml (all its matrix runs) that dvc status finds out of date."""

    name: str
    runs: list[str] = field(default_factory=list)
    params: set[str] = field(default_factory=set)  # changed params
    deps: set[str] = field(default_factory=set)  # changed code and data
    outs: set[str] = field(default_factory=set)  # outputs missing or changed
    other: set[str] = field(default_factory=set)  # "always changed", "changed checksum"
    asks_llm: bool = False


def stage_name(address: str) -> str:
    """``generate@imdb-few_shot`` -> ``generate``; ``sub/dvc.yaml:train`` -> ``train``."""
    return address.rpartition(":")[2].partition("@")[0]


def llm_stages(llm_judge: bool) -> tuple[str, ...]:
    return LLM_STAGES + ((JUDGE_STAGE,) if llm_judge else ())


def stale_by_stage(status: Mapping[str, Any], llm_judge: bool, order: Sequence[str] = ()) -> dict[str, StaleStage]:
    """``dvc status --json`` grouped by stage; the stages named in ``order`` (dvc.yaml's) in that order,
    then the rest as dvc status lists them."""
    stages: dict[str, StaleStage] = {}
    asking = llm_stages(llm_judge)
    for address, entries in status.items():
        name = stage_name(address)
        stage = stages.setdefault(name, StaleStage(name, asks_llm=name in asking))
        stage.runs.append(address)
        for entry in entries if isinstance(entries, list) else [entries]:
            if isinstance(entry, str):
                stage.other.add(entry)
                continue
            if not isinstance(entry, Mapping):
                continue
            for path, state in (entry.get("changed deps") or {}).items():
                if isinstance(state, Mapping):  # a params file: {key: "modified"}
                    stage.params.update(state)
                elif Path(path).name == PARAMS.name:  # a stage that never ran: the whole file is "new"
                    stage.params.add(path)
                else:
                    stage.deps.add(path)
            stage.outs.update(entry.get("changed outs") or {})
    rank = {name: i for i, name in enumerate(order)}
    return dict(sorted(stages.items(), key=lambda item: rank.get(item[0], len(rank))))


def _named(items: set[str]) -> str:
    shown = sorted(items)[:SHOWN]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" (+{more} more)" if more else "")


def describe_stale(stages: Mapping[str, StaleStage]) -> list[str]:
    """Lines: one per stale stage, then which of them ask the LLM."""
    if not stages:
        return ["Stale stages: none (dvc repro has nothing to run)."]
    runs = sum(len(s.runs) for s in stages.values())
    lines = [f"Stale stages (dvc status): {len(stages)} stage(s), {runs} run(s) that dvc repro would run"]
    width = max(len(name) for name in stages)
    for stage in stages.values():
        why = [f"{label}: {_named(items)}" for label, items in
               (("params", stage.params), ("code/data", stage.deps), ("outputs", stage.outs)) if items]
        why += sorted(stage.other)
        llm = "asks the LLM" if stage.asks_llm else ""
        lines.append(f"  {stage.name:<{width}}  {len(stage.runs):>3} run(s)  {llm:<12}  {'; '.join(why)}".rstrip())
    asking = [s for s in stages.values() if s.asks_llm]
    if asking:
        lines.append("Of these, ask the LLM: " + ", ".join(f"{s.name} ({len(s.runs)})" for s in asking)
                     + ". Answers already in the cache are reused; only new requests are sent and paid for.")
    else:
        lines.append("None of these asks the LLM.")
    lines.append("(dvc status lists a stage when its own inputs changed: stages after these may follow once these run.)")
    return lines


@dataclass
class Paid:
    """What producing the synthetic sets cost, summed over ``metrics/generate/*.json``."""

    sets: list[tuple[str, int, int, float | None]]  # (set, tokens in, tokens out, USD or None if unknown)

    @property
    def tokens_in(self) -> int:
        return sum(s[1] for s in self.sets)

    @property
    def tokens_out(self) -> int:
        return sum(s[2] for s in self.sets)

    @property
    def cost_usd(self) -> float:
        return sum(s[3] or 0.0 for s in self.sets)

    @property
    def cost_unknown(self) -> int:
        return sum(1 for s in self.sets if s[3] is None)


def _count(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else 0


def paid(folder: Path = GENERATE_METRICS) -> Paid:
    """tokens_in, tokens_out and cost_usd of every ``<task>-<method>.json`` under ``folder``."""
    sets = []
    for path in sorted(Path(folder).glob("*.json")):
        record = read_json(path)
        if not isinstance(record, dict):
            raise SynthclfError(f"{path}: expected a JSON object of generation metrics")
        cost = record.get("cost_usd")
        usd = float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None
        sets.append((path.stem, _count(record.get("tokens_in")), _count(record.get("tokens_out")), usd))
    return Paid(sets)


def _usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def describe_paid(spent: Paid, folder: Path = GENERATE_METRICS) -> list[str]:
    if not spent.sets:
        return [f"Paid: nothing recorded ({folder}/ holds no metrics: no synthetic set generated yet)."]
    unknown = f" (cost unknown for {spent.cost_unknown} set(s))" if spent.cost_unknown else ""
    lines = [f"Paid for the synthetic data ({folder}/*.json, {len(spent.sets)} set(s); what producing each cost): "
             f"{spent.tokens_in:,} tokens in, {spent.tokens_out:,} tokens out, {_usd(spent.cost_usd)}{unknown}"]
    width = max(len(s[0]) for s in spent.sets)
    for name, tokens_in, tokens_out, usd in spent.sets:
        shown = "cost unknown" if usd is None else _usd(usd)
        lines.append(f"  {name:<{width}}  {tokens_in:>10,} in  {tokens_out:>9,} out  {shown}")
    return lines


def cache_dir(params_file: Path = PARAMS) -> tuple[Path, str]:
    """The LLM cache's folder, and where that setting comes from: params.yaml's llm.cache_dir (relative
    to the project root, as the stages read it) or the default under ``cache_root()``."""
    params = read_yaml(params_file) if params_file.is_file() else None
    llm = params.get("llm") if isinstance(params, dict) else None
    configured = llm.get("cache_dir") if isinstance(llm, dict) else None
    if configured:
        return Path(str(configured)).expanduser(), f"llm.cache_dir in {params_file}"
    return cache_root() / "llm", "the default; set llm.cache_dir in params.yaml to move it"


def llm_judge_on(params_file: Path = PARAMS) -> bool:
    """params.yaml's filter.label_check.llm_judge: whether the filter stage asks the LLM."""
    params = read_yaml(params_file) if params_file.is_file() else None
    try:
        return params["filter"]["label_check"]["llm_judge"] is True  # type: ignore[index]
    except (TypeError, KeyError):
        return False


def _size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{n_bytes} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def cached_answers(path: Path) -> int:
    """``SELECT COUNT(*) FROM responses`` in the cache file, opened read-only."""
    uri = path.resolve().as_uri() + "?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
            return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
    except sqlite3.Error as exc:
        raise SynthclfError(f"{path}: cannot count the cached answers ({exc})") from None


def describe_cache(folder: Path, origin: str) -> list[str]:
    path = folder / CACHE_FILE
    lines = [f"LLM request cache: {path} ({origin})"]
    if not path.is_file():
        lines.append("  not created yet: no LLM request has been sent with this cache")
        return lines
    wal = path.with_name(path.name + "-wal")
    size = path.stat().st_size + (wal.stat().st_size if wal.is_file() else 0)
    try:
        answers = f"{cached_answers(path):,} cached answers"
    except SynthclfError as exc:
        answers = str(exc)
    lines.append(f"  {_size(size)}, {answers}")
    return lines


def project_status(root: Path = Path(".")) -> str:
    """The whole status report, as plain text."""
    if not (root / "dvc.yaml").is_file():
        raise SynthclfError(f"no dvc.yaml in {root.resolve()}: run synthclf status in the project's root")
    params = root / PARAMS
    pipeline = read_yaml(root / "dvc.yaml")
    order = list(pipeline.get("stages") or {}) if isinstance(pipeline, dict) else []
    stages = stale_by_stage(dvc_status(root), llm_judge_on(params), order)
    folder, origin = cache_dir(params)
    if not folder.is_absolute():
        folder = root / folder
    lines = [*describe_stale(stages), "", *describe_paid(paid(root / GENERATE_METRICS), GENERATE_METRICS),
             "", *describe_cache(folder, origin)]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``synthclf status`` takes no arguments."""


def run(args: argparse.Namespace) -> None:
    print(project_status())
