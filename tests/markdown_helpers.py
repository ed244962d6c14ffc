"""Markdown tables as a test reads them: without the padding that aligns their columns."""

from __future__ import annotations

import re

_RULE = re.compile(r":?-+:?")


def unpadded(markdown: str) -> str:
    """``markdown`` with each table line written without padding, so that an expected row reads as written by
    hand: ``| a |  | b |`` (an empty cell is two spaces), and the rule under the header as ``|---|---:|`` (a
    right-aligned column ends in a colon, any other column is plain dashes)."""

    def line(text: str) -> str:
        if not text.startswith("|"):
            return text
        cells = [cell.strip() for cell in text.strip()[1:-1].split("|")]
        if all(_RULE.fullmatch(cell) for cell in cells):
            return "|" + "".join("---:|" if cell.endswith(":") and not cell.startswith(":") else "---|" for cell in cells)
        return "| " + " | ".join(cells) + " |"

    return "\n".join(line(text) for text in markdown.splitlines())
