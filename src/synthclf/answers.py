"""Answers that hold no example: refusals, apologies and meta-answers.

Small chat models answer "I'm sorry, but I can't help with that request." or "Here is a headline:"
as fluently as they write the example asked for. Generation retries such an answer like any other
unusable one, and the filter drops any that still reach it (from older data or another generator),
so that none becomes training data.
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


def refusal_or_meta(text: str) -> str | None:
    """Why ``text`` is not an example ("a refusal", "a meta-answer"), or None if it may be one."""
    if _REFUSAL_OPENING.search(text) or _SELF_REFERENCE.search(text):
        return "a refusal or apology, not an example"
    if _LEAD_IN_ONLY.match(text) or len(_SCAFFOLD_FIELD.findall(text)) >= 2:
        return "a meta-answer (the prompt's scaffolding, not an example)"
    return None
