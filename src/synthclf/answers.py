"""What an LLM's answer holds: the example inside what wraps it, or why there is none.

Small chat models answer "I'm sorry, but I can't help with that request." or "Here is a headline:"
as fluently as they write the example asked for. Generation retries such an answer like any other
unusable one, and the filter drops any that still reach it (from older data or another generator),
so that none becomes training data. They also ignore word limits: an answer cut off at max_tokens
keeps its complete sentences rather than being paid for again.
"""

from __future__ import annotations

import re

# An answer that opens by declining or apologising as an assistant does, after any quote or punctuation.
# Narrow on purpose: "I can't believe this film" or "Sorry, Chelsea" are fine examples of a review or a tweet.
_REFUSAL_OPENING = re.compile(
    r"^\W*(?:(?:i'?m|i am) sorry,? but\b|sorry,? but (?:i|as)\b|my apologies\b|apologies,? but\b|i apologi[sz]e\b"
    r"|unfortunately,? (?:i (?:can(?:no|')t|am (?:unable|not able))|as an ai)\b"
    r"|i (?:can(?:no|')t|am (?:unable|not able) to|won'?t|will not|must decline to) "
    r"(?:help|assist|comply|provide|write|create|generate|fulfil+|produce|complete|continue|do that|answer)\b"
    r"|i must decline\b|as an ai\b)",
    re.IGNORECASE,
)
# Anywhere: the model speaking of itself as a model.
_SELF_REFERENCE = re.compile(r"\bas an ai(?: language)? model\b|\bi(?:'m| am) (?:just |only )?an ai\b", re.IGNORECASE)
# Nothing but a lead-in: "Here is a headline:", "Sure! Here's a tweet." with no example after it.
_LEAD_IN_ONLY = re.compile(
    r"^\W*(?:(?:sure|certainly|of course|okay|ok|absolutely)\W+)?(?:here(?:'s| is| are)|below is)\b[^\n:]{0,100}[:.!]?\W*$",
    re.IGNORECASE,
)
# The prompt's own scaffolding echoed as fields: "headline: ... first sentence: ...".
_SCAFFOLD_FIELD = re.compile(
    r"(?:^|[\s*#])(?:headline|title|first sentence|opening sentence|sentence|review|tweet|text|article|label|category)"
    r"\s*\d*\s*:",
    re.IGNORECASE,
)


# The paper's diversity prompt said back instead of answered.
_ECHOED_REQUEST = re.compile(r"^\W*(?:can you )?provide something more diverse\b", re.IGNORECASE)


def refusal_or_meta(text: str) -> str | None:
    """Why ``text`` is not an example ("a refusal", "a meta-answer"), or None if it may be one."""
    if _REFUSAL_OPENING.search(text) or _SELF_REFERENCE.search(text):
        return "a refusal or apology, not an example"
    if _LEAD_IN_ONLY.match(text) or len(_SCAFFOLD_FIELD.findall(text)) >= 2 or _ECHOED_REQUEST.search(text):
        return "a meta-answer (the prompt's scaffolding, not an example)"
    return None


# The end of a sentence (with its closing quotes or brackets) that more text follows, or a line break.
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*(?=\s)|\n")


def complete_sentences(cut: str) -> str:
    """An answer cut off at max_tokens, up to the end of its last complete sentence or line; "" if it
    was cut inside its first. Its last words are a fragment the model never finished, which no real
    text of the task ends with."""
    ends = [match.end() for match in _SENTENCE_END.finditer(cut)]
    return cut[: ends[-1]].strip() if ends else ""


_OPENER = r"(?:sure|certainly|of course|okay|ok|absolutely|here(?:'s| is| are)|below is)\b"
# A first line like "Sure, here is a positive review:" followed by the example on the next lines.
_PREAMBLE_LINE = re.compile(rf"^\s*{_OPENER}[^\n]{{0,150}}\n", re.IGNORECASE)
# The same on one line: "Sure! The film ..." or "Here is a tweet: I love ...".
_INTERJECTION = re.compile(r"^\s*(?:sure|certainly|of course|absolutely)\s*[,!.]\s+", re.IGNORECASE)
_INLINE_LEAD = re.compile(r"^\s*(?:here(?:'s| is| are)|below is)\b[^:\n]{0,100}:\s*", re.IGNORECASE)
_HEADING = re.compile(r"^\s*(?:#+\s*)?(?:\*\*)?(?:title|headline|review|tweet|text|example|article)\s*\d*\s*:(?:\*\*)?\s*", re.IGNORECASE)
_LIST_MARK = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*\u2022])\s+")
QUOTES = "\"'\u201c\u201d\u2018\u2019`"
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
    while len(text) >= 2 and text[0] in QUOTES and text[-1] in QUOTES:
        text = text[1:-1].strip()
    return re.sub(r"\s+", " ", text).strip()


def duplicate_key(normalized: str) -> str:
    """What two examples share when one is an exact duplicate of the other: case and punctuation aside."""
    return re.sub(r"[^\w]+", " ", normalized.lower()).strip()


def example_key(text: str) -> str:
    """:func:`duplicate_key` of an answer as the filter will see it."""
    return duplicate_key(normalize(text))
