"""Deterministic, seed-driven sampling and splitting of labelled records.

Both helpers keep label proportions (so a capped or held-out set looks like the pool it came from)
and return rows in their original order, so that the same seed and input give byte-identical files.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

Record = dict[str, Any]


def label_quotas(counts: dict[str, int], total: int) -> dict[str, int]:
    """Split ``total`` slots over labels in proportion to ``counts`` (largest-remainder method).

    Floors first, then the leftover slots go to the largest fractional remainders, ties broken by
    label name, so the quotas add up to ``total`` exactly and never depend on dict order.
    """
    pool = sum(counts.values())
    exact = {label: total * n / pool for label, n in counts.items()}
    quotas = {label: math.floor(share) for label, share in exact.items()}
    leftover = total - sum(quotas.values())
    by_remainder = sorted(counts, key=lambda label: (quotas[label] - exact[label], label))
    for label in by_remainder[:leftover]:
        quotas[label] += 1
    return quotas


def stratified_cap(records: Sequence[Record], cap: int, seed: int, label_key: str = "label") -> list[Record]:
    """Keep at most ``cap`` records, label proportions preserved, rows in their original order."""
    if cap <= 0:
        raise ValueError(f"cap must be positive, got {cap}")
    if len(records) <= cap:
        return list(records)
    rows_by_label: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        rows_by_label[record[label_key]].append(index)
    quotas = label_quotas({label: len(rows) for label, rows in rows_by_label.items()}, cap)
    rng = np.random.default_rng(seed)
    kept: list[int] = []
    # Sorted labels: the random draws must not depend on which label happened to come first.
    for label in sorted(rows_by_label):
        kept.extend(rng.choice(rows_by_label[label], size=quotas[label], replace=False).tolist())
    return [records[index] for index in sorted(kept)]


def grouped_stratified_split(
    records: Sequence[Record],
    test_fraction: float,
    seed: int,
    group_key: str | None = None,
    label_key: str = "label",
) -> tuple[list[Record], list[Record]]:
    """Hold out about ``test_fraction`` of ``records`` as test data; return ``(train, test)``.

    Rows of one group never straddle the split. Groups are identical texts by default, or the
    value of ``record[group_key]`` (e.g. a TV episode). Groups are visited in a seeded random order
    and each goes to test while that brings the test set's per-label counts closer to their targets,
    which stratifies by label for one-row groups and stays close for large mixed groups. Test rows
    whose text also occurs in train are then dropped, so no test text was seen in training.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    groups = _group_rows(records, group_key)
    targets = {label: n * test_fraction for label, n in Counter(r[label_key] for r in records).items()}
    test_groups = _pick_test_groups(records, groups, targets, seed, label_key)
    train = [i for key, rows in groups.items() if key not in test_groups for i in rows]
    seen = {records[i]["text"] for i in train}
    test = [i for key in test_groups for i in groups[key] if records[i]["text"] not in seen]
    return [records[i] for i in sorted(train)], [records[i] for i in sorted(test)]


def _group_rows(records: Sequence[Record], group_key: str | None) -> dict[Hashable, list[int]]:
    """Row indices per group, groups in order of first appearance."""
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        groups[record["text"] if group_key is None else record[group_key]].append(index)
    return groups


def _pick_test_groups(
    records: Sequence[Record],
    groups: dict[Hashable, list[int]],
    targets: dict[str, float],
    seed: int,
    label_key: str,
) -> set[Hashable]:
    """Greedy: take a group for test when that lowers the squared distance to the per-label targets."""
    keys = list(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    taken: Counter[str] = Counter()
    test_groups: set[Hashable] = set()
    for position in order:
        key = keys[position]
        counts = Counter(records[i][label_key] for i in groups[key])
        # Only the labels in this group change, so compare their terms alone.
        before = sum((taken[label] - targets[label]) ** 2 for label in counts)
        after = sum((taken[label] + n - targets[label]) ** 2 for label, n in counts.items())
        if after < before:
            taken.update(counts)
            test_groups.add(key)
    return test_groups
