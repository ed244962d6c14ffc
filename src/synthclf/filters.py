"""Filtering synthetic data: the LLM writes fluent text around what was asked for (preambles, list
numbering, quotes), sometimes too little or far too much, and often the same thing twice."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from synthclf.params import FilterParams

_OPENER = r"(?:sure|certainly|of course|okay|ok|absolutely|here(?:'s| is| are)|below is)\b"
# A first line like "Sure, here is a positive review:" followed by the example on the next lines.
_PREAMBLE_LINE = re.compile(rf"^\s*{_OPENER}[^\n]{{0,150}}\n", re.IGNORECASE)
# The same on one line: "Sure! The film ..." or "Here is a tweet: I love ...".
_INTERJECTION = re.compile(r"^\s*(?:sure|certainly|of course|absolutely)\s*[,!.]\s+", re.IGNORECASE)
_INLINE_LEAD = re.compile(r"^\s*(?:here(?:'s| is| are)|below is)\b[^:\n]{0,100}:\s*", re.IGNORECASE)
_HEADING = re.compile(r"^\s*(?:#+\s*)?(?:\*\*)?(?:title|headline|review|tweet|text|example|article)\s*\d*\s*:(?:\*\*)?\s*", re.IGNORECASE)
_LIST_MARK = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*\u2022])\s+")
_QUOTES = "\"'\u201c\u201d\u2018\u2019`"
_CLOSING = re.compile(r"\n\s*(?:i hope|let me know|feel free|note:)[^\n]*$", re.IGNORECASE)


def normalize(text: str) -> str:
    """Strip what wraps the example rather than belongs to it, and collapse white space."""
    text = text.replace("\r\n", "\n").strip()
    text = _PREAMBLE_LINE.sub("", text, count=1)
    text = _INLINE_LEAD.sub("", _INTERJECTION.sub("", text, count=1), count=1)
    text = _CLOSING.sub("", text)
    lines = [_LIST_MARK.sub("", _HEADING.sub("", line)) for line in text.split("\n")]
    text = " ".join(line.strip() for line in lines if line.strip())
    text = text.replace("**", "")
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return re.sub(r"\s+", " ", text).strip()


def _duplicate_key(text: str) -> str:
    return re.sub(r"[^\w]+", " ", text.lower()).strip()


def filter_synthetic(records: Iterable[dict[str, Any]], params: FilterParams) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Normalise every text and drop the unusable ones; return the kept records and counts per reason."""
    kept: list[dict[str, Any]] = []
    removed: Counter[str] = Counter()
    seen: set[str] = set()
    n_in = 0
    for record in records:
        n_in += 1
        text = normalize(record["text"])
        words = len(text.split())
        if words == 0:
            removed["empty"] += 1
        elif words < params.min_words:
            removed["too_short"] += 1
        elif words > params.max_words:
            removed["too_long"] += 1
        elif _duplicate_key(text) in seen:
            removed["duplicate"] += 1
        else:
            seen.add(_duplicate_key(text))
            kept.append({**record, "text": text})
    reasons = ("empty", "too_short", "too_long", "duplicate")
    counts = {
        "input": n_in,
        "kept": len(kept),
        "removed": {reason: removed[reason] for reason in reasons},
        "kept_per_label": dict(sorted(Counter(r["label"] for r in kept).items())),
    }
    return kept, counts
