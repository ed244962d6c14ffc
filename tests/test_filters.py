from pathlib import Path

import pytest
import yaml
from params_helpers import repo_params

from synthclf.errors import SynthclfError
from synthclf.answers import normalize
from synthclf.filters import filter_replicates, filter_synthetic
from synthclf.params import FilterParams, load_params

ROOT = Path(__file__).resolve().parents[1]
# 30 words each, with no word trigram in common.
REVIEW = (
    "The film opens slowly but the second half rewards patience with sharp dialogue, a moving score and "
    "two lead performances that feel honest, warm and surprisingly funny for a quiet family drama"
)
MATCH = (
    "Late goals from both substitutes gave the visitors a narrow win on Saturday, lifting them into third "
    "place while the home side slipped closer to the relegation zone after another poor defensive display"
)
EARNINGS = (
    "Quarterly earnings at the retailer beat analyst forecasts as online sales grew strongly, and the board "
    "raised its dividend while warning that higher shipping costs could squeeze margins next year again"
)


def _one_word_changed(text: str, position: int = 15, word: str = "remarkable") -> str:
    words = text.split()
    words[position] = word
    return " ".join(words)


def _records(*texts: str, label: str = "a") -> list[dict]:
    return [{"id": str(i), "text": text, "label": label} for i, text in enumerate(texts, 1)]


def _params(**changes) -> FilterParams:
    return repo_params(FilterParams, min_words=3, max_words=60, **changes)


@pytest.mark.parametrize(
    "raw, clean",
    [
        ('Sure, here is a positive review:\n\n"This movie was great and fun."', "This movie was great and fun."),
        ("1. The market rallied today.", "The market rallied today."),
        ("- A bullet point example here", "A bullet point example here"),
        ("**Title:** Stocks fall\nMarkets fell sharply today.", "Stocks fall Markets fell sharply today."),
        ("Here's a tweet about joy!\n\n\u201cI love sunny days #happy\u201d\n\nI hope this helps!", "I love sunny days #happy"),
        ("Certainly! Plain text follows.", "Plain text follows."),
        ("Here is a tweet: I love rain", "I love rain"),
        ("Okay so this film was bad.", "Okay so this film was bad."),
        ("  spaced \t out\ntext ", "spaced out text"),
    ],
)
def test_normalize_strips_wrapping_not_content(raw, clean):
    assert normalize(raw) == clean


def test_filter_counts_every_reason_and_keeps_the_rest():
    records = [
        {"id": "1", "text": "Sure, here it is:\n\nA fine and long enough text.", "label": "a"},
        {"id": "2", "text": "a FINE and long enough text!", "label": "a"},  # duplicate after normalising
        {"id": "3", "text": "   ", "label": "b"},
        {"id": "4", "text": "Too short", "label": "b"},
        {"id": "5", "text": " ".join(["word"] * 30), "label": "b"},
        {"id": "6", "text": "Another good example sentence here.", "label": "b"},
        {"id": "7", "text": "I'm sorry, but I can't help with that request.", "label": "a"},
    ]
    kept, counts = filter_synthetic(records, repo_params(FilterParams, min_words=3, max_words=20))
    assert [r["id"] for r in kept] == ["1", "6"]
    assert kept[0]["text"] == "A fine and long enough text."
    assert counts == {
        "input": 7,
        "kept": 2,
        "removed": {"empty": 1, "refusal_or_meta": 1, "too_short": 1, "too_long": 1, "duplicate": 1, "contaminated": 0,
                    "near_duplicate": 0, "label_issue": 0},
        "kept_per_label": {"a": 1, "b": 1},
        "balance": 1.0,
        "labels_below_floor": [],
    }


def test_near_duplicate_with_one_word_changed_is_removed_and_the_first_survives():
    variant = _one_word_changed(REVIEW)
    kept, counts = filter_synthetic(_records(REVIEW, MATCH, variant, EARNINGS), _params())
    assert [r["id"] for r in kept] == ["1", "2", "4"]
    assert counts["removed"]["near_duplicate"] == 1
    # The survivor is whichever comes first, on every run.
    for _ in range(2):
        kept, _ = filter_synthetic(_records(variant, REVIEW), _params())
        assert [r["text"] for r in kept] == [variant]


def test_distinct_texts_on_one_topic_are_all_kept():
    texts = [
        "The striker scored twice as the home side won the derby in front of a sold out crowd",
        "A late penalty decided the cup final after the keeper brought down the winger in the box",
        "The coach praised his young defenders after a clean sheet against the league leaders away",
        "Fans protested outside the stadium over ticket prices before the season opener on Friday",
    ]
    kept, counts = filter_synthetic(_records(*texts), _params())
    assert [r["text"] for r in kept] == texts
    assert counts["removed"]["near_duplicate"] == 0


def test_contamination_drops_copies_and_near_copies_of_test_texts_and_counts_them():
    test_texts = ["The committee approved the new budget on Tuesday after a long debate.", MATCH]
    synthetic = [
        '"the committee approved the NEW budget on tuesday, after a long debate"',  # equal once normalised
        _one_word_changed(MATCH, word="narrowly"),  # a near-copy
        REVIEW,
        EARNINGS,
    ]
    kept, counts = filter_synthetic(_records(*synthetic), _params(), test_texts=test_texts)
    assert [r["id"] for r in kept] == ["3", "4"]
    assert counts["removed"]["contaminated"] == 2
    assert counts["removed"]["near_duplicate"] == 0


def test_a_contaminated_text_does_not_take_its_clean_near_duplicates_down():
    close_to_test = _one_word_changed(REVIEW, 15, "odd")  # about 0.8 similar to the test text
    further = _one_word_changed(_one_word_changed(close_to_test, 5, "bold"), 25, "calm")  # about 0.5
    params = _params(contamination={"threshold": 0.7}, near_duplicates={"threshold": 0.5})
    kept, counts = filter_synthetic(_records(close_to_test, further), params, test_texts=[REVIEW])
    assert (counts["removed"]["contaminated"], counts["removed"]["near_duplicate"]) == (1, 0)
    assert [r["text"] for r in kept] == [further]


def test_switched_off_checks_keep_what_they_would_drop():
    records = _records(REVIEW, _one_word_changed(REVIEW), MATCH)
    params = _params(near_duplicates={"enabled": False}, contamination={"enabled": False})
    kept, counts = filter_synthetic(records, params, test_texts=[MATCH])
    assert len(kept) == 3
    assert counts["removed"]["near_duplicate"] == counts["removed"]["contaminated"] == 0


def test_class_balance_lists_every_label_and_flags_the_short_ones():
    records = [
        *_records(REVIEW, MATCH, EARNINGS, label="a"),
        *_records("A short but fine example text here", label="b"),
        *_records("no", label="c"),  # too short: label c loses everything
    ]
    _, counts = filter_synthetic(records, _params(balance_floor=0.5))
    assert counts["kept_per_label"] == {"a": 3, "b": 1, "c": 0}
    assert counts["balance"] == 0.0
    assert counts["labels_below_floor"] == ["b", "c"]


def test_a_label_the_generator_never_wrote_is_counted_and_stops_the_stage():
    # The records name labels a and b only; the task also has c, which nothing was written for.
    records = _records(REVIEW, MATCH, label="a") + _records(EARNINGS, label="b")
    _, counts = filter_synthetic(records, _params(allow_missing_labels=True), labels=["a", "b", "c"])
    assert counts["kept_per_label"] == {"a": 2, "b": 1, "c": 0} and counts["labels_below_floor"] == ["c"]
    with pytest.raises(SynthclfError, match=r"replicate 0: no example of label\(s\) c survived"):
        filter_replicates(records, _params(), ["a", "b", "c"])
    kept, counts = filter_replicates(records, _params(allow_missing_labels=True), ["a", "b", "c"])
    assert len(kept) == 3 and counts["replicates"]["0"]["kept_per_label"]["c"] == 0


def test_replicates_are_filtered_apart_and_summed():
    # The same text in two replicates is no duplicate: each replicate is its own sample.
    first = [{**r, "replicate": 0} for r in _records(REVIEW, label="a") + _records(MATCH, label="b")]
    second = [{**r, "replicate": 1} for r in _records(REVIEW, REVIEW, label="a") + _records(EARNINGS, label="b")]
    kept, counts = filter_replicates(first + second, _params(), ["a", "b"])
    assert [(r["replicate"], r["text"]) for r in kept] == [(0, REVIEW), (0, MATCH), (1, REVIEW), (1, EARNINGS)]
    assert counts["input"] == 5 and counts["kept"] == 4 and counts["removed"]["duplicate"] == 1
    assert counts["replicates"]["1"]["removed"]["duplicate"] == 1 and counts["replicates"]["0"]["kept"] == 2
    # A label short in one replicate is flagged though the sums look balanced.
    lopsided = first + [{**r, "replicate": 1} for r in _records(REVIEW, MATCH, EARNINGS, label="a") + _records(
        "A short but fine example text here", label="b")]
    _, counts = filter_replicates(lopsided, _params(balance_floor=0.5), ["a", "b"])
    assert counts["labels_below_floor"] == ["b"]


@pytest.mark.parametrize("check", ["near_duplicates", "contamination"])
@pytest.mark.parametrize("threshold", [0, 1.5])
def test_a_threshold_outside_0_to_1_is_rejected_naming_the_field(tmp_path, check, threshold):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["filter"][check]["threshold"] = threshold
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(SynthclfError, match=rf"params\.yaml: field 'filter\.{check}\.threshold': .*\(got {threshold}\)"):
        load_params(path)
