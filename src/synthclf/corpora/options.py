"""The ``options`` of a pypi source, as the reader it names accepts them."""

from __future__ import annotations

from typing import Any

from synthclf.errors import SynthclfError


def with_defaults(options: dict[str, Any], defaults: dict[str, Any], where: str) -> dict[str, Any]:
    """``options`` over the reader's ``defaults``; an option the reader does not have is an error (a typo
    would otherwise silently read the corpus with the default)."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        known = ", ".join(defaults) or "none"
        raise SynthclfError(f"{where}: unknown option '{unknown[0]}' (options: {known})")
    return {**defaults, **options}
