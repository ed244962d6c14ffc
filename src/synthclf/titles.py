"""How figures are shown: display names of training sources and classifiers, number formats, and the 95%
interval that metrics/summary.json keeps beside a figure.

Shared by the report, the PR comment and the run comparison, which must agree on them (and the PR
comment must not pay for the report's plotting imports).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

SOURCE_TITLES = {"real": "Real", "zero_shot": "Zero-shot", "few_shot": "Few-shot", "attributed": "Attributed", "grounded": "Grounded"}
CLASSIFIER_TITLES = {"encoder": "fine-tuned encoder", "tfidf_lr": "TF-IDF + logistic regression"}


def bounds(record: Mapping[str, Any] | None, key: str) -> tuple[float, float] | None:
    """The 95% interval of ``record[key]``: ``key_low`` and ``key_high`` beside it in metrics/summary.json.
    None where there is none: summaries written before intervals, or a bootstrap with no finite draw (NaN)."""
    if not record:
        return None
    low, high = record.get(f"{key}_low"), record.get(f"{key}_high")
    numbers = [v for v in (low, high) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    return (float(low), float(high)) if len(numbers) == 2 else None


def percent(x: float | None, std: float | None = None, interval: tuple[float, float] | None = None) -> str:
    """A share as percent; with ``interval``, followed by its 95% interval in brackets ("71.2 [65.0, 77.1]");
    otherwise with ``std``, as mean ± standard deviation over seeds; "–" when missing. The interval wins
    over ``std``: it already covers the seeds' spread."""
    if x is None:
        return "–"
    if interval is not None:
        return f"{100 * x:.1f} [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"
    return f"{100 * x:.1f}" if std is None else f"{100 * x:.1f} ± {100 * std:.1f}"


def fraction(x: float | None) -> str:
    """A figure between 0 and 1 (a similarity, a distance, a share) to three places; "–" when missing."""
    return "–" if x is None else f"{x:.3f}"
