"""Instance-level subjectivity without annotators: how much k sampled LLM labels of a text agree.

Li et al. (2023, Sec. 6) measure an item's subjectivity by how far its human annotators agree; most
test sets carry no such ratings. As a stand-in, the LLM labels each test text ``samples`` times at
temperature > 0 (independent requests, different seeds) and the item's proxy agreement is the share
of its answers that name the most frequent label, the same statistic as the annotators' "share who
chose the majority label". Where real agreement exists (VADER's movie snippets carry each rater's
score), the proxy is checked against it with rank correlations, so the report says how far to trust
it on tasks that have none.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from synthclf.generation import ChatModel, request_seed
from synthclf.label_check import judge_labels
from synthclf.tasks import Task


def sample_items(n_items: int, max_items: int | None, seed: int) -> list[int]:
    """The test rows to label: all of them, or ``max_items`` drawn at random, in file order."""
    if max_items is None or max_items >= n_items:
        return list(range(n_items))
    return sorted(random.Random(seed).sample(range(n_items), max_items))


def sample_labels(task: Task, texts: Sequence[str], llm: ChatModel, seed: int, samples: int) -> list[list[str | None]]:
    """For each text, the label the LLM named in each of ``samples`` independent requests (None: no usable answer)."""
    runs = [judge_labels(task, texts, llm, seed=request_seed(seed, -1 - s)) for s in range(samples)]
    return [list(answers) for answers in zip(*runs)]


def proxy_agreement(answers: Sequence[str | None]) -> float | None:
    """The share of answered samples that name the most frequent label; None with fewer than two answers."""
    named = [a for a in answers if a is not None]
    if len(named) < 2:
        return None
    return Counter(named).most_common(1)[0][1] / len(named)


def majority_label(answers: Sequence[str | None]) -> str | None:
    """The most frequent answer (ties: the one named first); None if nothing was answered."""
    named = [a for a in answers if a is not None]
    if not named:
        return None
    counts = Counter(named)
    top = max(counts.values())
    return next(a for a in named if counts[a] == top)


def versus_annotators(proxy: Sequence[float | None], annotators: Sequence[float | None]) -> dict[str, Any]:
    """Spearman's rho and Kendall's tau (tau-b: agreement values tie a lot) of the proxy against the
    annotators' agreement, over the items that have both; None figures where there is nothing to rank."""
    pairs = [(p, a) for p, a in zip(proxy, annotators) if p is not None and a is not None]
    result: dict[str, Any] = {"n": len(pairs), "spearman_rho": None, "p_value": None, "kendall_tau": None, "kendall_p": None}
    if len(pairs) < 3 or len({p for p, _ in pairs}) < 2 or len({a for _, a in pairs}) < 2:
        return result
    x, y = np.array(pairs).T
    rho, tau = stats.spearmanr(x, y), stats.kendalltau(x, y)
    result.update(
        spearman_rho=float(rho.statistic), p_value=float(rho.pvalue), kendall_tau=float(tau.statistic), kendall_p=float(tau.pvalue)
    )
    return result


def summarize(
    rows: Sequence[dict[str, Any]], gold: Sequence[str], annotators: Sequence[float | None], samples: int
) -> dict[str, Any]:
    """The stage's metrics: coverage, the mean proxy, how often the LLM's majority label is the gold
    one, and the proxy against the annotators' agreement where the test data has it."""
    proxies = [r["agreement"] for r in rows]
    known = [p for p in proxies if p is not None]
    majorities = [r["majority"] for r in rows]
    answered = [(m, g) for m, g in zip(majorities, gold) if m is not None]
    has_annotators = any(a is not None for a in annotators)
    return {
        "enabled": True,
        "samples": samples,
        "items": len(rows),
        "items_with_proxy": len(known),
        "mean_agreement": float(np.mean(known)) if known else None,
        "majority_accuracy": float(np.mean([m == g for m, g in answered])) if answered else None,
        "vs_annotators": versus_annotators(proxies, annotators) if has_annotators else None,
    }
