"""Grouping by generation replicate: a synthetic set's records into its independent samples, and a train
stage's prediction rows into one list per replicate of one prediction list per seed.

Both come out in ascending replicate (and seed) order, whatever order the file holds them in: the stages
that read them write figures keyed and ordered by replicate, which must not change when a file is
rewritten in another order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

RecordT = TypeVar("RecordT", bound=Mapping[str, Any])


def by_replicate(records: Iterable[RecordT]) -> dict[int, list[RecordT]]:
    """``records`` grouped by their ``replicate`` field, in ascending replicate order (each group in file
    order). A record without the field belongs to replicate 0: data written before replicates existed,
    and real data, read as one sample. A replicate with no record (everything filtered out) has no group."""
    groups: dict[int, list[RecordT]] = {}
    for record in records:
        groups.setdefault(int(record.get("replicate", 0)), []).append(record)
    return dict(sorted(groups.items()))


def predictions_by_replicate(rows: Iterable[Mapping[str, Any]]) -> list[list[Any]]:
    """The ``predicted`` field of prediction rows (one model each: ``replicate``, ``seed``) as one list per
    replicate of one entry per seed, both in ascending order: the shape
    :meth:`synthclf.intervals.ItemResampler.score` takes. Of two rows for the same model the later wins."""
    grouped: dict[int, dict[int, Any]] = {}
    for row in rows:
        grouped.setdefault(int(row["replicate"]), {})[int(row["seed"])] = row["predicted"]
    return [[seeds[s] for s in sorted(seeds)] for _, seeds in sorted(grouped.items())]
