"""Publish synthetic data as a dataset: each filtered synthetic set (``data/filtered/<task>/<method>.jsonl``)
as a Hugging Face ``datasets`` folder, a parquet file and a dataset card that says how the data was made
(generator and its file hash, prompts, method, filters and what they removed, sizes, cost), how well a
classifier trained on it does against one trained on real data, where the real data came from, and what
the data is not fit for.

Command line: ``synthclf export [--tasks ...] [--methods ...] [--output DIR] [--push-to-hub REPO]``, in the
project's root. It only reads the project; it writes ``DIR`` (default ``exports/``) whole or not at all:

    exports/README.md                                  the card of the whole export, one config per set
    exports/<task>-<method>/README.md                  the card of one set
    exports/<task>-<method>/data/train-00000-of-00001.parquet

``--push-to-hub REPO`` then uploads that folder to the dataset repository ``REPO`` on the hub.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from synthclf.errors import SynthclfError, first_line
from synthclf.generation import generation_sampling
from synthclf.io import read_examples, read_json, read_yaml
from synthclf.params import METHODS, GenerateParams, check_method
from synthclf.prompts import DIVERSITY_PROMPT, EXAMPLE_WORDS, FEW_SHOT_INSTRUCTION
from synthclf.tasks import HFSource, LocalSource, PyPISource, Task, load_task
from synthclf.titles import bounds

HELP = "write each filtered synthetic set as a Hugging Face dataset (parquet + dataset card); --push-to-hub publishes it"
DESCRIPTION = (
    "Write each filtered synthetic set (data/filtered/<task>/<method>.jsonl) as a Hugging Face dataset: one "
    "folder per task x method with a parquet file (labels as a ClassLabel with the task's label names) and a "
    "dataset card stating the generator and its file hash, the prompts, the filters and what they removed, "
    "the sizes per label, the cost, the real-versus-synthetic result with its 95% intervals, the source data's "
    "licence and the intended use and limitations. The output folder is written whole or not at all, and replaces an "
    "earlier export there. --push-to-hub REPO then uploads it as the dataset repository REPO (one config "
    "per set); the local export stays if the push fails. Run it in the project's root."
)
EXAMPLE = """example:
  synthclf export                                   # every task x method of params.yaml -> exports/
  synthclf export --tasks movie_snippets --methods few_shot --output /tmp/snippets
  synthclf export --push-to-hub my-team/synthclf-data   # log in first: hf auth login (or set HF_TOKEN)"""

DEFAULT_OUTPUT = Path("exports")
FILTERED = Path("data/filtered")
GENERATE_METRICS = Path("metrics/generate")
FILTER_METRICS = Path("metrics/filter")
SUMMARY = Path("metrics/summary.json")
PARAMS = Path("params.yaml")
LOCK = Path("dvc.lock")
PARQUET = "data/train-00000-of-00001.parquet"
MARKER_TAG = "synthclf"  # every card synthclf writes carries it; an output folder whose card lacks it is not replaced
COLUMNS: dict[str, type] = {"id": str, "text": str, "label": str, "method": str, "model": str,
                            "prompt_sha256": str, "seed": int, "request_index": int, "replicate": int}
METHOD_TITLES = {"zero_shot": "zero-shot", "few_shot": "few-shot", "attributed": "attributed", "grounded": "grounded"}
# The hub's size buckets (https://huggingface.co/docs/hub/datasets-cards), upper bounds exclusive.
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"))
INTERVAL_NOTE = ("Each figure comes from one generation sample of this set and one training seed, so it "
                 "carries no interval yet: a new sample of the same size can move it by several points.")


@dataclass
class SynthSet:
    """One filtered synthetic set and everything its card states, read and checked before anything is written."""

    task: Task
    method: str
    records: list[dict[str, Any]]
    source_file: Path  # relative to the project root
    source_sha256: str
    lock_md5: str | None  # what dvc.lock records for the filtered file, if it does
    file_md5: str
    generated: dict[str, Any]  # metrics/generate/<task>-<method>.json
    filtered: dict[str, Any]  # metrics/filter/<task>-<method>.json
    generate_params: dict[str, Any]  # llm, generate, seed: as the generate stage ran (dvc.lock) or params.yaml
    filter_params: dict[str, Any]  # filter: as the filter stage ran (dvc.lock) or params.yaml
    params_from: str
    summary: dict[str, Any] | None  # metrics/summary.json's tasks.<task>, if there
    method_prompts: dict[str, Any] | None  # prompts/methods.yaml, for attributed and grounded

    @property
    def name(self) -> str:
        return f"{self.task.name}-{self.method}"

    @property
    def labels(self) -> list[str]:
        return list(self.task.labels)


# --- Reading the project --------------------------------------------------------------------------


def _digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _mapping(path: Path, what: str) -> dict[str, Any]:
    value = read_json(path)
    if not isinstance(value, dict):
        raise SynthclfError(f"{path}: expected a JSON object of {what}")
    return value


def _check_records(path: Path, records: list[dict[str, Any]], method: str) -> None:
    for number, record in enumerate(records, 1):
        for column, kind in COLUMNS.items():
            value = record.get(column)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise SynthclfError(f"{path}: record {number}: field '{column}' missing or not a {kind.__name__}")
        if record["method"] != method:
            raise SynthclfError(f"{path}: record {number}: method '{record['method']}', expected '{method}'")


def _lock_stage(lock: Any, stage: str) -> dict[str, Any] | None:
    stages = lock.get("stages") if isinstance(lock, dict) else None
    entry = stages.get(stage) if isinstance(stages, dict) else None
    return entry if isinstance(entry, dict) else None


def _lock_params(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    params = entry.get("params") if entry else None
    values = params.get("params.yaml") if isinstance(params, dict) else None
    return values if isinstance(values, dict) else None


def _lock_md5(entry: dict[str, Any] | None, path: Path) -> str | None:
    for out in (entry or {}).get("outs") or []:
        if isinstance(out, dict) and out.get("path") == path.as_posix():
            return out.get("md5")
    return None


def read_set(root: Path, task_name: str, method: str, params: dict[str, Any], lock: Any,
             summary: dict[str, Any] | None) -> SynthSet:
    """Everything the export of ``task_name`` x ``method`` needs, checked; a problem is one-line error."""
    check_method(method)
    task = load_task(task_name, root / "tasks")
    relative = FILTERED / task_name / f"{method}.jsonl"
    path = root / relative
    if not path.is_file():
        raise SynthclfError(f"{relative} not found: run dvc repro (or dvc pull) first to make the filtered synthetic data")
    records = read_examples(path, task.labels)
    if not records:
        raise SynthclfError(f"{relative} holds no examples: filtering removed them all, nothing to publish")
    _check_records(relative, records, method)
    name = f"{task_name}-{method}"
    metrics = {}
    for folder, what in ((GENERATE_METRICS, "generation metrics"), (FILTER_METRICS, "filter metrics")):
        if not (root / folder / f"{name}.json").is_file():
            raise SynthclfError(f"{folder / f'{name}.json'} not found: run dvc repro (or dvc pull) first")
        metrics[folder] = _mapping(root / folder / f"{name}.json", what)

    generate_entry, filter_entry = _lock_stage(lock, f"generate@{name}"), _lock_stage(lock, f"filter@{name}")
    generate_params, filter_params = _lock_params(generate_entry), _lock_params(filter_entry)
    params_from = "dvc.lock (the settings the generate and filter stages ran with)"
    if generate_params is None or filter_params is None or "llm" not in generate_params or "filter" not in filter_params:
        generate_params = filter_params = params
        params_from = "params.yaml (dvc.lock records no run of this set)"
    by_task = summary.get("tasks") if isinstance(summary, dict) else None
    task_summary = by_task.get(task_name) if isinstance(by_task, dict) else None
    method_prompts = None
    if method in ("attributed", "grounded") and (root / "prompts" / "methods.yaml").is_file():
        loaded = read_yaml(root / "prompts" / "methods.yaml")
        method_prompts = loaded if isinstance(loaded, dict) else None
    return SynthSet(
        task=task, method=method, records=records, source_file=relative, source_sha256=_digest(path, "sha256"),
        lock_md5=_lock_md5(filter_entry, relative), file_md5=_digest(path, "md5"),
        generated=metrics[GENERATE_METRICS], filtered=metrics[FILTER_METRICS], generate_params=generate_params,
        filter_params=filter_params, params_from=params_from,
        summary=task_summary if isinstance(task_summary, dict) else None, method_prompts=method_prompts,
    )


def read_sets(root: Path, tasks: Sequence[str] | None, methods: Sequence[str] | None) -> list[SynthSet]:
    """The sets to export (by default every task x method of params.yaml), all read before anything is written."""
    params_file = root / PARAMS
    if not params_file.is_file():
        raise SynthclfError(f"{PARAMS} not found in {root}: run synthclf export in the project's root")
    params = read_yaml(params_file)
    if not isinstance(params, dict):
        raise SynthclfError(f"{params_file}: expected a mapping of settings")
    for method in methods or ():
        check_method(method)
    tasks = list(tasks or params.get("tasks") or [])
    methods = list(methods or params.get("methods") or [])
    if not tasks or not methods:
        raise SynthclfError(f"{params_file}: no tasks or methods to export (name them with --tasks and --methods)")
    lock = read_yaml(root / LOCK) if (root / LOCK).is_file() else None
    summary = read_json(root / SUMMARY) if (root / SUMMARY).is_file() else None
    chosen = [(t, m) for t in dict.fromkeys(tasks) for m in dict.fromkeys(methods)]
    return [read_set(root, t, m, params, lock, summary) for t, m in chosen]


# --- The dataset ----------------------------------------------------------------------------------


def build_dataset(synth: SynthSet) -> "datasets.Dataset":  # noqa: F821
    """The set as a ``datasets.Dataset``: the record fields as columns, ``label`` a ClassLabel of the task's labels."""
    from datasets import ClassLabel, Dataset, Features, Value

    features = Features({
        column: (ClassLabel(names=synth.labels) if column == "label" else Value("int64" if kind is int else "string"))
        for column, kind in COLUMNS.items()
    })
    index = {label: i for i, label in enumerate(synth.labels)}
    rows = [{column: (index[r[column]] if column == "label" else r[column]) for column in COLUMNS} for r in synth.records]
    return Dataset.from_list(rows, features=features)


def size_category(n: int) -> str:
    for bound, name in SIZE_CATEGORIES:
        if n < bound:
            return name
    return "n>10M"


def _dataset_info(dataset: "datasets.Dataset", config_name: str | None = None) -> dict[str, Any]:  # noqa: F821
    info: dict[str, Any] = {"config_name": config_name} if config_name else {}
    # The same YAML that datasets writes into a card (DatasetInfo), so the hub and load_dataset read the label names.
    info["features"] = dataset.features._to_yaml_list()
    info["splits"] = [{"name": "train", "num_examples": len(dataset)}]
    return info


def _front_matter(pretty_name: str, n: int, license_id: str, configs: list[dict[str, Any]],
                  infos: list[dict[str, Any]] | dict[str, Any]) -> str:
    meta: dict[str, Any] = {"pretty_name": pretty_name, "license": license_id}
    if license_id == "other":
        meta["license_name"] = "see-dataset-card"
    meta.update({
        "language": ["en"],
        "task_categories": ["text-classification"],
        "size_categories": [size_category(n)],
        "annotations_creators": ["machine-generated"],
        "language_creators": ["machine-generated"],
        "tags": ["synthetic", MARKER_TAG],
        "configs": configs,
        "dataset_info": infos,
    })
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000) + "---\n"


# --- The card -------------------------------------------------------------------------------------


def _pct(value: Any) -> str:
    return f"{100 * value:.1f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "–"


def _int(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "–"


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in str(text).strip().splitlines())


def _short_model(synth: SynthSet) -> str:
    return str(synth.generated.get("model") or synth.generate_params.get("llm", {}).get("model") or "unknown")


def describe_generator(synth: SynthSet) -> list[str]:
    llm = synth.generate_params.get("llm") or {}
    local = llm.get("local") or {}
    model = _short_model(synth)
    lines = [f"- **Model**: `{model}` (as the generation metrics `{GENERATE_METRICS / synth.name}.json` record it; "
             f"`llm.model` was `{llm.get('model', 'unknown')}`)."]
    backend = llm.get("backend")
    if backend == "local" and not local.get("gguf"):
        lines.append(
            f"- **File and hash**: the GGUF `{local.get('member')}`, served by an embedded llama.cpp server "
            f"(xllamacpp), from the pinned PyPI distribution `{local.get('distribution')}`: file "
            f"`{local.get('filename')}`, **sha256 `{local.get('sha256')}`** (`llm.local.sha256`, checked before "
            "the model is used; the hash is the distribution file's, which ships the GGUF).")
    elif backend == "local":
        gguf = Path(str(local["gguf"])).expanduser()
        digest = f"sha256 `{_digest(gguf, 'sha256')}`" if gguf.is_file() else "file hash unknown (the file is not on this machine)"
        lines.append(f"- **File and hash**: the GGUF file `{local['gguf']}` (`llm.local.gguf`), {digest}, served by an "
                     "embedded llama.cpp server (xllamacpp).")
    else:
        where = f" at `{llm['base_url']}`" if llm.get("base_url") else ""
        lines.append(f"- **File and hash**: none: a hosted model (`llm.backend: {backend}`{where}), known only by its "
                     "name, which the provider may update.")
    generate = synth.generate_params.get("generate") or {}
    sampling = generate.get("sampling") or {}
    if sampling:
        try:
            max_tokens = generation_sampling(synth.task, GenerateParams.model_validate(generate)).max_tokens
        except ValidationError:  # params of a version before these settings: max_tokens was always a number
            max_tokens = sampling.get("max_tokens")
        cut_off = {"keep_sentences": "; an answer cut off there kept its complete sentences",
                   "retry": "; an answer cut off there was asked for again"}.get(generate.get("cut_off"), "")
        lines.append(f"- **Sampling**: temperature {sampling.get('temperature')}, top-p {sampling.get('top_p')}, at most "
                     f"{max_tokens} tokens per answer{cut_off}; base seed {synth.generate_params.get('seed')}, "
                     "each request's own seed in the `seed` column.")
    lines.append(f"- Settings as recorded in {synth.params_from}.")
    return lines


def describe_prompts(synth: SynthSet) -> list[str]:
    prompts = synth.task.prompts
    generate = synth.generate_params.get("generate") or {}
    lines = [
        "Every request opened with the task's context prompt (as the system message):", "", _quote(prompts.context), "",
        f"and asked for one text of a label with the generation prompt, `{{description}}` being the label's "
        f"description (see [Sizes per label](#sizes-per-label)) and `{{word_limit}}` = {prompts.word_limit}:", "",
        _quote(prompts.generation), "",
    ]
    if synth.method in ("zero_shot", "few_shot"):
        count = generate.get("chats_per_label", "?")
        # null: the count followed llm.concurrency, which for the embedded servers is the machine's cores.
        chats = "ongoing chats, enough to keep every concurrent request busy," if count is None else f"{count} ongoing chats"
        lines += [f"Each label's examples were written in {chats} (the model "
                  f"saw its last {generate.get('history_turns', '?')} exchanges); after every "
                  f"{generate.get('diversity_every', '?')} outputs the request was the diversity prompt "
                  f"\"{DIVERSITY_PROMPT}\" (Li et al., EMNLP 2023)."]
    if synth.method == "few_shot":
        block = FEW_SHOT_INSTRUCTION.format(label="{label}", examples="1. ...")
        lines += ["", f"**Few-shot: real examples were shown.** Before each request, {generate.get('few_shot_k', '?')} "
                  f"real examples of the label, drawn from the task's real *training* split (cut to {EXAMPLE_WORDS} "
                  "words), were shown with this instruction (the real test split was never shown):", "", _quote(block)]
    elif synth.method == "attributed":
        template = ((synth.method_prompts or {}).get("attributed") or {}).get("request")
        lines += ["", "**Attributed** (after AttrPrompt, Yu et al., 2023): each request stood alone and asked for one "
                  f"combination of attribute values that the LLM had proposed (`data/attributes/{synth.task.name}.json`)."]
        if template:
            lines += ["Request template (`prompts/methods.yaml`):", "", _quote(template)]
    elif synth.method == "grounded":
        template = ((synth.method_prompts or {}).get("grounded") or {}).get("request")
        lines += ["", "**Grounded** (after Veselovsky et al., 2023): each request stood alone and **showed one real "
                  "text from the task's real training split**, whatever its label, asking for a new text on its topic "
                  "and in its style that expresses the wanted label."]
        if template:
            lines += ["Request template (`prompts/methods.yaml`):", "", _quote(template)]
    lines += ["", "The `prompt_sha256` column is the sha256 of the exact messages each text answered."]
    return lines


def describe_filters(synth: SynthSet) -> list[str]:
    f = synth.filter_params.get("filter") or {}
    removed = synth.filtered.get("removed") or {}
    near, contam = f.get("near_duplicates") or {}, f.get("contamination") or {}
    check = f.get("label_check") or {}
    minhash = f.get("minhash") or {}
    if near.get("enabled"):
        near_text = (f"of texts with estimated Jaccard similarity of at least {near.get('threshold')} (MinHash over "
                     f"word {minhash.get('ngram', '?')}-grams), the first kept")
    else:
        near_text = "switched off"
    if contam.get("enabled"):
        contam_text = (f"a text equal to, or with estimated Jaccard similarity of at least {contam.get('threshold')} "
                       "to, a real *test* text dropped")
    else:
        contam_text = "switched off"
    drop = check.get("drop", "none")
    lines = [
        f"{_int(synth.filtered.get('input'))} texts came out of generation; the filters kept "
        f"**{_int(synth.filtered.get('kept'))}** (the rows here). In order:", "",
        "- wrappers stripped (\"Sure, here is...\", list numbers, quotes); empty texts, refusals and meta-answers "
        "dropped;",
        f"- too short (under {f.get('min_words', '?')} words) or too long (over {f.get('max_words', '?')} words) dropped, "
        "and exact duplicates;",
        f"- near-duplicates: {near_text};",
        f"- contamination: {contam_text};",
        f"- label consistency: cleanlab {'on' if check.get('cleanlab') else 'off'}, LLM judge "
        f"{'on' if check.get('llm_judge') else 'off'}, dropping `{drop}`"
        + (" (flagged texts only counted)" if drop == "none" else "") + ".",
        "", "| Removed because | Texts |", "|---|---:|",
    ]
    lines += [f"| {reason.replace('_', ' ')} | {_int(count)} |" for reason, count in removed.items()]
    lines.append(f"| **kept** | **{_int(synth.filtered.get('kept'))}** |")
    return lines


def describe_sizes(synth: SynthSet, dataset: "datasets.Dataset") -> list[str]:  # noqa: F821
    counts = {label: 0 for label in synth.labels}
    for record in synth.records:
        counts[record["label"]] += 1
    generated = synth.generated.get("per_label") or {}
    lines = ["| Label (id) | Description | Generated | In this set |", "|---|---|---:|---:|"]
    for i, label in enumerate(synth.labels):
        lines.append(f"| {label} ({i}) | {synth.task.labels[label]} | {_int(generated.get(label))} | {counts[label]} |")
    lines.append(f"| **all** | | {_int(synth.generated.get('n'))} | **{len(dataset)}** |")
    below = synth.filtered.get("labels_below_floor") or []
    if below:
        lines += ["", f"Labels left with under the balance floor of the largest label's count: {', '.join(below)}."]
    return lines


def describe_cost(synth: SynthSet) -> list[str]:
    g = synth.generated
    prices = (synth.generate_params.get("llm") or {}).get("prices") or {}
    cost = g.get("cost_usd")
    usd = f"${cost:,.4f}" if isinstance(cost, (int, float)) and not isinstance(cost, bool) else "unknown"
    lines = [
        "| Tokens in | Tokens out | Cost (USD) | Requests failed | Unusable answers retried |", "|---:|---:|---:|---:|---:|",
        f"| {_int(g.get('tokens_in'))} | {_int(g.get('tokens_out'))} | {usd} | {_int(g.get('failed_requests'))} | "
        f"{_int(g.get('bad_responses'))} |", "",
        f"Over every answer the set used, rejected ones included (`{GENERATE_METRICS / synth.name}.json`), at "
        f"{prices.get('input_per_million', '?')} / {prices.get('output_per_million', '?')} USD per million input / "
        "output tokens (`llm.prices`).",
    ]
    if (synth.generate_params.get("llm") or {}).get("backend") == "local" and cost == 0:
        lines[-1] += " The embedded model ran on the local CPU, so nothing was paid beyond the machine's time."
    return lines


def _interval(record: Mapping[str, Any], key: str) -> str:
    """``record[key]`` in percent with its 95% interval in brackets, as "71.2 [65.0, 77.1]"; without one, bare."""
    interval = bounds(record, key)
    return _pct(record.get(key)) + ("" if interval is None else f" [{_pct(interval[0])}, {_pct(interval[1])}]")


def _gap_verdict(clf: str, gap: Mapping[str, Any]) -> str | None:
    """What the Macro-F1 gap's interval says about ``clf``; None when the summary gives it no interval."""
    interval = bounds(gap, "macro_f1")
    if interval is None:
        return None
    low, high = interval
    shown = f"{_pct(gap.get('macro_f1'))} points, 95% interval [{_pct(low)}, {_pct(high)}]"
    if low <= 0 <= high:
        return f"- {clf}: **no detectable difference at this size** (Macro-F1 gap {shown}, which includes 0)."
    better = "real data" if low > 0 else "this set"
    return f"- {clf}: **{better} is better** (Macro-F1 gap {shown})."


def describe_result(synth: SynthSet) -> list[str]:
    summary = synth.summary
    scores = (summary or {}).get("scores") or {}
    if not scores.get(synth.method) or not scores.get("real"):
        return [f"No result yet: `{SUMMARY}` holds no scores of `{synth.task.name}` trained on this set "
                "(run dvc repro to train and evaluate)."]
    gaps = ((summary or {}).get("gap") or {}).get(synth.method) or {}
    worth = ((summary or {}).get("worth_real_examples") or {}).get(synth.method) or {}
    lines = [
        f"The same classifier trained on the real training data and on this method's synthetic data, both scored on "
        f"the task's real *test* split (`{SUMMARY}`; Macro-F1 and accuracy in %, gap = real minus synthetic in points):", "",
        "| Classifier | Real: Macro-F1 | Real: accuracy | This set: Macro-F1 | This set: accuracy | Gap: Macro-F1 "
        "| Gap: accuracy | Relative gap (%) | Worth in real examples |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    spread = bare = False
    verdicts, unknown = [], []
    for clf, synthetic in scores[synth.method].items():
        real = scores["real"].get(clf) or {}
        gap = gaps.get(clf) or {}

        def cell(figures: Mapping[str, Any], key: str) -> str:
            nonlocal spread, bare
            if bounds(figures, key) is not None or figures.get(key) is None:
                return _interval(figures, key)
            bare = True
            std = figures.get(f"{key}_std")
            # Summaries from before intervals carry the spread over training seeds instead, where there were several.
            if isinstance(std, (int, float)) and figures.get("n_seeds"):
                spread = True
                return f"{_pct(figures.get(key))} ± {_pct(std)}"
            return _pct(figures.get(key))

        w = worth.get(clf) or {}
        worth_cell = f"{w.get('relation')} {w.get('real_examples')}" if w.get("relation") else "–"
        lines.append(f"| {clf} | {cell(real, 'macro_f1')} | {cell(real, 'accuracy')} | {cell(synthetic, 'macro_f1')} | "
                     f"{cell(synthetic, 'accuracy')} | {cell(gap, 'macro_f1')} | {cell(gap, 'accuracy')} | "
                     f"{_interval(gap, 'macro_f1_relative')} | {worth_cell} |")
        verdict = _gap_verdict(clf, gap)
        if verdict is not None:
            verdicts.append(verdict)
        elif gap.get("macro_f1") is not None:
            unknown.append(clf)
    lines.append("")
    if verdicts:
        lines += [f"Each figure is the mean over the classifier's training runs (its training seeds, and for this set "
                  f"the {METHOD_TITLES.get(synth.method, synth.method)} replicates the pipeline generated); in brackets, "
                  "its 95% interval from a bootstrap over the test items and the replicates. The gap's interval is "
                  "paired on the same test items. Relative gap: the Macro-F1 gap as a share of what real data achieves "
                  "above chance. So:", "",
                  *verdicts, ""]
    if bare:
        # Summaries from before intervals: say what is missing rather than let a bare number pass for a verdict.
        if spread:
            lines.append("± is the standard deviation over the encoder's training seeds only. Every figure without "
                         "brackets still comes from one generation sample of this set, so it carries no interval over "
                         "new samples: a new sample of the same size can move it by several points.")
        else:
            lines.append(INTERVAL_NOTE)
    if unknown:
        lines.append(f"Whether the gap is more than noise is unknown for {', '.join(unknown)}: `{SUMMARY}` gives it no "
                     "interval. Relative gap: the Macro-F1 gap as a share of the real score.")
    lines.append("\"Worth in real examples\": where the learning curve of the same classifier on growing real subsets "
                 "reaches this set's Macro-F1.")
    return lines


def describe_source(synth: SynthSet) -> list[str]:
    task = synth.task
    lines = [f"The texts are synthetic, but the task, its labels and its real data come from: {task.title}. "
             f"{' '.join(task.description.split())}", ""]
    for i, source in enumerate(task.sources):
        role = "default source" if i == 0 else "alternative source"
        if isinstance(source, PyPISource):
            where = (f"the PyPI distribution `{source.distribution}` (file `{source.filename}`, sha256 "
                     f"`{source.sha256}`), read by synthclf's `{source.reader}` reader")
        elif isinstance(source, HFSource):
            where = f"the Hugging Face dataset `{source.id}`" + (f" (config `{source.config}`)" if source.config else "")
        elif isinstance(source, LocalSource):
            where = f"local files `{source.path}/{{train,test}}` (CSV or JSON Lines)"
        else:  # pragma: no cover - the task model allows only the three
            where = str(source)
        lines.append(f"- {role}: {where}")
    shown = synth.method in ("few_shot", "grounded")
    lines += ["", "**Licence of the source data**: the task file records none, so see the task's source above "
              f"(`tasks/{task.name}.yaml`) for its licence and terms."
              + (" Real training texts were shown to the generator for this set, so it is derived from that data "
                 "and its terms apply to it." if shown else
                 " No real text was shown to the generator for this set (only the task's label descriptions and "
                 "prompts)."),
              "The licence in this card's metadata (`license`) is the exporter's choice; check the generator's "
              "licence as well."]
    return lines


def describe_use(synth: SynthSet) -> list[str]:
    model = _short_model(synth)
    small = "135M" in model or "135m" in model
    generator = (f"`{model}` is a small generator (135M parameters): texts are short, often generic, repetitive or "
                 "off-topic" if small else f"The generator is `{model}`: its texts reflect that model's knowledge, style "
                 "and biases")
    return [
        "**Intended use**: research on synthetic training data (how far a classifier trained on LLM-written text "
        "gets against one trained on real data), and as a starting point or augmentation for a classifier of this "
        "task, checked against real data.", "",
        "**Limitations**:", "",
        f"- {generator}.",
        "- **Labels are followed loosely.** Each label is the one the prompt asked for; no person checked it, and the "
        "model often writes a text that does not express it (see the label-consistency counts above and the gap).",
        "- **Not for evaluation.** Do not score a model on this set or report results on it as a benchmark: it is "
        "not drawn from real data, and scores on it say nothing about real texts. Evaluate on real test data.",
        f"- Small: {len(synth.records)} texts. English only. The near-duplicate and contamination filters do not "
        "guarantee that no text repeats a real one.",
    ]


def set_card(synth: SynthSet, dataset: "datasets.Dataset", license_id: str, commit: str | None) -> str:  # noqa: F821
    method = METHOD_TITLES.get(synth.method, synth.method)
    configs = [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}]
    front = _front_matter(f"synthclf {synth.task.name} {method} synthetic data", len(dataset), license_id, configs,
                          _dataset_info(dataset))
    label_ids = ", ".join(f"{i} = {label}" for i, label in enumerate(synth.labels))
    lock = ("matches what `dvc.lock` records" if synth.lock_md5 == synth.file_md5 else
            f"**differs from what `dvc.lock` records** (md5 `{synth.lock_md5}`): the settings below may not be the ones "
            "that made it" if synth.lock_md5 else "is not recorded in `dvc.lock`")
    provenance = f" at commit `{commit}`" if commit else ""
    parts = [
        front,
        f"# {synth.task.name}: {method} synthetic training data", "",
        f"{len(dataset)} English texts for the text classification task **{synth.task.title}** (labels: "
        f"{', '.join(synth.labels)}), written by an LLM with the **{method}** method and kept by the filters of "
        f"synthclf (a DVC pipeline that measures what synthetic training data costs in "
        f"accuracy against real data, after Li et al., EMNLP 2023, arXiv:2310.07849).", "",
        "## Data", "",
        "One split, `train`. Columns: `id`, `text`, `label` (ClassLabel: " + label_ids + "), `method`, `model` (the "
        "generator), `prompt_sha256` (sha256 of the messages that produced the text), `seed` (the request's seed), "
        "`request_index` (the request's place in its chat), `replicate` (which of the independent generation samples "
        "the text belongs to: train on one replicate to reproduce one of synthclf's runs, or on all of them).", "",
        "```python",
        "from datasets import load_dataset",
        f"ds = load_dataset(\"parquet\", data_files=\"{PARQUET}\")[\"train\"]",
        "ds.features[\"label\"].names  # " + repr(synth.labels),
        "```", "",
        f"Exported from `{synth.source_file}`{provenance} (sha256 `{synth.source_sha256}`; the file {lock}).", "",
        "## Method", "",
        f"`{synth.method}`: " + {
            "zero_shot": "the LLM saw only the task's prompts and label descriptions, no real text (the paper's zero-shot setting).",
            "few_shot": "the LLM also saw real training examples of the label before each request (the paper's few-shot setting).",
            "attributed": "each request asked for a sampled combination of attribute values (AttrPrompt).",
            "grounded": "each request showed one real training text to write about (grounding in real data).",
        }.get(synth.method, "see Prompts."), "",
        "## Generator", "", *describe_generator(synth), "",
        "## Prompts", "", *describe_prompts(synth), "",
        "## Filters and what they removed", "", *describe_filters(synth), "",
        "## Sizes per label", "", *describe_sizes(synth, dataset), "",
        "## Cost", "", *describe_cost(synth), "",
        "## Real versus synthetic", "", *describe_result(synth), "",
        "## Source data and licence", "", *describe_source(synth), "",
        "## Intended use and limitations", "", *describe_use(synth), "",
    ]
    return "\n".join(parts)


def index_card(sets: Sequence[tuple[SynthSet, "datasets.Dataset"]], license_id: str,  # noqa: F821
               repo: str | None = None) -> str:
    configs, infos = [], []
    for i, (synth, dataset) in enumerate(sets):
        config: dict[str, Any] = {"config_name": synth.name,
                                  "data_files": [{"split": "train", "path": f"{synth.name}/data/train-*"}]}
        if i == 0:
            config["default"] = True
        configs.append(config)
        infos.append(_dataset_info(dataset, synth.name))
    total = sum(len(d) for _, d in sets)
    front = _front_matter("synthclf synthetic training data", total, license_id, configs, infos)
    lines = [
        front, "# synthclf synthetic training data", "",
        f"{len(sets)} synthetic text classification set(s), {total} texts in all, each written by an LLM for one task "
        "with one generation method and filtered by synthclf. Each set is one config; its folder's `README.md` is its "
        "full card: generator and file hash, prompts, filters and what they removed, sizes, cost, the result against "
        "real data, the source data's licence, intended use and limitations.", "",
        "| Config | Task | Method | Texts | Labels | Generator | Card |", "|---|---|---|---:|---|---|---|",
    ]
    for synth, dataset in sets:
        lines.append(f"| `{synth.name}` | {synth.task.title} | {METHOD_TITLES.get(synth.method, synth.method)} | "
                     f"{len(dataset)} | {', '.join(synth.labels)} | `{_short_model(synth)}` | "
                     f"[{synth.name}/README.md]({synth.name}/README.md) |")
    first = sets[0][0].name
    lines += ["", "```python", "from datasets import load_dataset",
              f"ds = load_dataset(\"{repo or '<this repository>'}\", \"{first}\")[\"train\"]   # or load_dataset("
              f"\"parquet\", data_files=\"{first}/data/*.parquet\")", "```", "",
              "**Not for evaluation**: these are synthetic training sets whose labels the generator followed loosely; "
              "evaluate on real test data. See each set's card for its limitations.", ""]
    return "\n".join(lines)


# --- Writing and publishing -----------------------------------------------------------------------


def _to_parquet(dataset: "datasets.Dataset", path: Path) -> None:  # noqa: F821
    """Write the parquet file without datasets' progress bar: the command's output stays its own lines."""
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    shown = not are_progress_bars_disabled()
    disable_progress_bars()
    try:
        dataset.to_parquet(str(path))
    finally:
        if shown:
            enable_progress_bars()


def _git_commit(root: Path) -> str | None:
    try:
        proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = proc.stdout.strip()
    return commit if proc.returncode == 0 and len(commit) == 40 else None


def _is_export(folder: Path) -> bool:
    """Whether ``folder`` holds an earlier synthclf export (its card carries the synthclf tag), so it may be replaced."""
    card = folder / "README.md"
    if not card.is_file():
        return False
    text = card.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---\n"):
        return False
    try:
        meta = yaml.safe_load(text[4:].split("\n---\n", 1)[0])
    except yaml.YAMLError:
        return False
    return isinstance(meta, dict) and MARKER_TAG in (meta.get("tags") or [])


def export(tasks: Sequence[str] | None = None, methods: Sequence[str] | None = None,
           output: str | Path = DEFAULT_OUTPUT, root: str | Path = ".", license_id: str = "other",
           repo: str | None = None) -> list[Path]:
    """Write each set as ``output/<task>-<method>/`` (parquet and card) and ``output/README.md``; return the set folders.

    Everything is read and checked first; the folder is built beside ``output`` and renamed into place, so an
    error or Ctrl-C leaves no partial export. An existing ``output`` is replaced only if it is empty or an
    earlier export. ``repo``, the hub repository it is meant for, only goes into the card's loading example."""
    root = Path(root)
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise SynthclfError(f"{output} exists and is not a folder: choose another --output")
    if output.is_dir() and any(output.iterdir()) and not _is_export(output):
        raise SynthclfError(f"{output} exists and holds something other than a synthclf export: choose another --output")
    sets = read_sets(root, tasks, methods)
    commit = _git_commit(root)

    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp"))
    try:
        built = []
        for synth in sets:
            dataset = build_dataset(synth)
            folder = staging / synth.name
            (folder / "data").mkdir(parents=True)
            _to_parquet(dataset, folder / PARQUET)
            (folder / "README.md").write_text(set_card(synth, dataset, license_id, commit), encoding="utf-8")
            built.append((synth, dataset))
        (staging / "README.md").write_text(index_card(built, license_id, repo), encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; an output gets the usual permissions
        old = None
        if output.exists():
            old = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.", suffix=".old"))
            os.replace(output, old / "export")
        try:
            os.replace(staging, output)
        except BaseException:
            if old is not None:  # put the earlier export back
                os.replace(old / "export", output)
                shutil.rmtree(old, ignore_errors=True)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for synth in sets:
        if synth.lock_md5 and synth.lock_md5 != synth.file_md5:
            print(f"warning: {synth.source_file} differs from what dvc.lock records; its card says so", file=sys.stderr)
    return [output / synth.name for synth in sets]


def hub_offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to a true value, as huggingface_hub reads it."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")
    return value is not None and value.upper() in {"1", "ON", "YES", "TRUE"}


def push_to_hub(output: str | Path, repo: str, private: bool = False) -> str:
    """Upload the export folder as the dataset repository ``repo`` (created if missing); return its URL.

    Every failure is one line: offline mode, an unreachable hub, no or a read-only token, a bad repo id."""
    where = f"the export is in {output}/"
    if hub_offline():
        raise SynthclfError(f"cannot push to the hub: HF_HUB_OFFLINE is set, so the hub is not contacted ({where}; "
                            "unset HF_HUB_OFFLINE and run again to publish)")
    from huggingface_hub import HfApi

    try:
        from huggingface_hub import errors as hub_errors
    except ImportError:  # huggingface_hub before its errors module: the same names from utils
        from huggingface_hub import utils as hub_errors
    HfHubHTTPError, HFValidationError = hub_errors.HfHubHTTPError, hub_errors.HFValidationError
    LocalTokenNotFoundError, OfflineModeIsEnabled = hub_errors.LocalTokenNotFoundError, hub_errors.OfflineModeIsEnabled

    api = HfApi()
    try:
        url = api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(output), repo_id=repo, repo_type="dataset",
                          commit_message="synthclf export: synthetic data sets and their dataset cards")
    except OfflineModeIsEnabled:
        raise SynthclfError(f"cannot push to the hub: offline mode is on (HF_HUB_OFFLINE); {where}") from None
    except HFValidationError as exc:
        raise SynthclfError(f"cannot push to the hub: bad repository id '{repo}' ({first_line(exc)}); {where}") from None
    except LocalTokenNotFoundError:
        raise SynthclfError(f"cannot push to the hub: not logged in (run hf auth login or set HF_TOKEN); {where}") from None
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        hint = " (log in with hf auth login or set HF_TOKEN to a token that may write)" if status in (401, 403) else ""
        raise SynthclfError(f"cannot push to the hub: {first_line(exc)}{hint}; {where}") from None
    except Exception as exc:  # noqa: BLE001 - a network failure surfaces as whatever the HTTP layer raises
        raise SynthclfError(f"cannot push to the hub: the hub is unreachable ({type(exc).__name__}: "
                            f"{first_line(exc)}); {where}") from None
    return str(url)


# --- Command line ---------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", nargs="+", metavar="TASK", help="tasks to export (default: params.yaml's tasks)")
    parser.add_argument("--methods", nargs="+", metavar="METHOD",
                        help=f"generation methods to export, of {', '.join(METHODS)} (default: params.yaml's methods)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, metavar="DIR",
                        help=f"folder to write (default: {DEFAULT_OUTPUT}/); replaces an earlier export there")
    parser.add_argument("--license", dest="license_id", default="other", metavar="ID",
                        help="licence identifier for the cards' metadata (default: other, i.e. see the card)")
    parser.add_argument("--push-to-hub", metavar="REPO",
                        help="then upload the export as the Hugging Face dataset repository REPO (e.g. my-team/synthclf-data)")
    parser.add_argument("--private", action="store_true", help="with --push-to-hub: create the repository as private")


def run(args: argparse.Namespace) -> None:
    folders = export(args.tasks, args.methods, args.output, license_id=args.license_id, repo=args.push_to_hub)
    print(f"Exported {len(folders)} synthetic set(s) to {args.output}/ (dataset card: {args.output / 'README.md'}):")
    for folder in folders:
        print(f"  {folder}/")
    if args.push_to_hub:
        url = push_to_hub(args.output, args.push_to_hub, private=args.private)
        print(f"Pushed to {url}")
