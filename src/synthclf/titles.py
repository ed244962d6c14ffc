"""How figures are shown: display names of training sources and classifiers, and number formats.

Shared by the report, the PR comment and the run comparison, which must agree on them (and the PR
comment must not pay for the report's plotting imports).
"""

from __future__ import annotations

SOURCE_TITLES = {"real": "Real", "zero_shot": "Zero-shot", "few_shot": "Few-shot", "attributed": "Attributed", "grounded": "Grounded"}
CLASSIFIER_TITLES = {"encoder": "fine-tuned encoder", "tfidf_lr": "TF-IDF + logistic regression"}


def percent(x: float | None, std: float | None = None) -> str:
    """A share as percent; with ``std``, as mean ± standard deviation over seeds; "–" when missing."""
    if x is None:
        return "–"
    return f"{100 * x:.1f}" if std is None else f"{100 * x:.1f} ± {100 * std:.1f}"


def fraction(x: float | None) -> str:
    """A figure between 0 and 1 (a similarity, a distance, a share) to three places; "–" when missing."""
    return "–" if x is None else f"{x:.3f}"
