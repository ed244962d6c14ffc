import pytest

from synthclf.filters import filter_synthetic, normalize
from synthclf.params import FilterParams


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
    ]
    kept, counts = filter_synthetic(records, FilterParams(min_words=3, max_words=20))
    assert [r["id"] for r in kept] == ["1", "6"]
    assert kept[0]["text"] == "A fine and long enough text."
    assert counts == {
        "input": 6,
        "kept": 2,
        "removed": {"empty": 1, "too_short": 1, "too_long": 1, "duplicate": 1},
        "kept_per_label": {"a": 1, "b": 1},
    }
