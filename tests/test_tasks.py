"""The task catalog: every tasks/*.yaml validates, and its labels match the real data."""

import csv
from pathlib import Path

import pydantic
import pytest
import yaml

from synthclf.errors import SynthclfError
from synthclf.params import load_params
from synthclf.tasks import HFSource, LocalSource, PyPISource, available_tasks, load_task

ROOT = Path(__file__).resolve().parents[1]
TASKS_DIR = ROOT / "tasks"
# offline task -> the paper's task it stands in for
OFFLINE_SUITE = {
    "bbc_news": "ag_news",
    "movie_snippets": "imdb",
    "tweet_sentiment": "tweet_emotion",
    "seinfeld_humor": "humor",
}
PAPER_TASKS = [
    "ag_news",
    "imdb",
    "sms_spam",
    "financial_phrasebank",
    "go_emotions",
    "relation",
    "tweet_irony",
    "tweet_emotion",
    "sarcasm",
    "humor",
]


def test_catalog_is_complete():
    assert set(PAPER_TASKS) | set(OFFLINE_SUITE) <= set(available_tasks(TASKS_DIR))


@pytest.mark.parametrize("name", sorted(set(PAPER_TASKS) | set(OFFLINE_SUITE)))
def test_task_file_validates_and_its_prompts_format(name):
    task = load_task(name, TASKS_DIR)
    assert task.name == name
    limit = task.prompts.word_limit
    for label, description in task.labels.items():
        prompt = task.prompts.generation.format(label=label, description=description, word_limit=limit)
        assert description in prompt or label in prompt
    # Generation runs on a tiny CPU model: short outputs.
    assert 30 <= task.prompts.word_limit <= 60


@pytest.mark.parametrize("name, paper_task", sorted(OFFLINE_SUITE.items()))
def test_offline_suite_stands_in_for_a_paper_task(name, paper_task):
    task = load_task(name, TASKS_DIR)
    assert task.stands_in_for == paper_task
    assert task.subjectivity_basis == "analogy"
    assert isinstance(task.sources[0], PyPISource)


def test_offline_suite_spans_objective_to_subjective():
    levels = {name: load_task(name, TASKS_DIR).subjectivity for name in OFFLINE_SUITE}
    assert levels["bbc_news"] == 1 and levels["seinfeld_humor"] == 5
    assert len(set(levels.values())) == len(levels)


@pytest.mark.parametrize("name", PAPER_TASKS)
def test_paper_task_sources_and_subjectivity(name):
    task = load_task(name, TASKS_DIR)
    assert task.stands_in_for is None
    assert isinstance(task.sources[0], LocalSource) and task.sources[0].path == f"../shared/datasets/{name}"
    assert isinstance(task.sources[1], HFSource)
    endpoints = {"ag_news": 1, "sarcasm": 5, "humor": 5}
    if name in endpoints:
        assert (task.subjectivity, task.subjectivity_basis) == (endpoints[name], "paper")
    else:
        assert task.subjectivity_basis == "reconstructed"


def local_labels(folder: Path) -> set[str]:
    labels = set()
    for split in ("train", "test"):
        with (folder / f"{split}.csv").open(encoding="utf-8", newline="") as fh:
            labels |= {row["label"] for row in csv.DictReader(fh)}
    return labels


@pytest.mark.parametrize("name", PAPER_TASKS)
def test_task_labels_match_the_local_csv(name):
    source = load_task(name, TASKS_DIR).sources[0]
    folder = ROOT / source.path
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    task = load_task(name, TASKS_DIR)
    found = {(source.label_map or {}).get(label, label) for label in local_labels(folder)}
    if source.other_labels == "drop":
        assert set(task.labels) <= found
    else:
        assert found == set(task.labels)


def test_financial_phrasebank_reads_agreement():
    assert load_task("financial_phrasebank", TASKS_DIR).sources[0].agreement_column == "agreement"


# --- the source options added for the catalog --------------------------------------------------


def test_hf_test_split_may_be_none_and_other_labels_is_checked():
    assert HFSource(kind="hf", id="x/y", test_split=None).test_split is None
    assert LocalSource(kind="local", path="p").other_labels == "error"
    with pytest.raises(pydantic.ValidationError):
        LocalSource(kind="local", path="p", other_labels="keep")


def test_a_key_with_a_line_break_is_reported_on_one_line(tmp_path):
    params = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
    params["seed\n"] = 1
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params), encoding="utf-8")
    with pytest.raises(SynthclfError) as err:
        load_params(path)
    assert "\n" not in str(err.value) and "field 'seed\\n'" in str(err.value)
