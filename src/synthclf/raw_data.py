"""What every real-data loader hands back, and the field checks they share.

Both the generic loaders (``sources``) and the corpus readers (``corpora``) build these rows, so they
live below both: a reader never has to import the module that dispatches to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from synthclf.errors import SynthclfError

Row = dict[str, Any]


@dataclass(frozen=True)
class RawData:
    """What a loader found: official train and test rows, or one pool (``test`` is None) to split."""

    where: str
    train: list[Row]
    test: list[Row] | None = None
    # Rows sharing this field's value must stay on one side of a split we make (default: same text).
    group_key: str | None = None


@dataclass(frozen=True)
class Columns:
    """The fields of a table that hold the text, the label and (if the source has one) the agreement."""

    text: str
    label: str
    agreement: str | None


def require_columns(where: str, present: Iterable[str], columns: Columns) -> None:
    """Fail naming the first of ``columns`` that ``present`` lacks."""
    present = list(present)
    for name in (columns.text, columns.label, columns.agreement):
        if name is not None and name not in present:
            raise SynthclfError(f"{where}: missing column '{name}' (has: {', '.join(present) or 'none'})")


def agreement_share(value: Any, where: str) -> float | None:
    """A share in [0, 1]; numbers above 1 are read as percentages (financial_phrasebank: 50..100)."""
    if value is None or str(value).strip() == "":
        return None
    try:
        share = float(value)
    except (TypeError, ValueError):
        raise SynthclfError(f"{where}: agreement {value!r} is not a number") from None
    if share > 1:
        share /= 100
    if not 0 <= share <= 1:
        raise SynthclfError(f"{where}: agreement {value!r} is not a share in [0, 1] or a percentage")
    return share
