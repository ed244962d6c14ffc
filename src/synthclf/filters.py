"""Filtering synthetic data: the LLM writes fluent text around what was asked for (preambles, list
numbering, quotes), sometimes too little or far too much, and often the same thing twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from datasketch import MinHash, MinHashLSH

from synthclf.answers import duplicate_key, example_key, normalize, refusal_or_meta
from synthclf.errors import SynthclfError
from synthclf.params import FilterParams, MinHashParams
from synthclf.replicates import by_replicate

REASONS = ("empty", "refusal_or_meta", "too_short", "too_long", "duplicate", "contaminated", "near_duplicate",
           "label_issue")
# Given the records that survived every other filter: which to drop for a wrong label, and a report.
LabelChecker = Callable[[list[dict[str, Any]]], tuple[list[bool], dict[str, Any]]]


def shingles(text: str, ngram: int) -> set[bytes]:
    """The word n-grams of a text, compared case- and punctuation-blind like exact duplicates.

    A text shorter than ``ngram`` words is one shingle, so it still gets a signature of its own.
    """
    words = duplicate_key(text).split()
    if len(words) <= ngram:
        return {" ".join(words).encode()}
    return {" ".join(words[i : i + ngram]).encode() for i in range(len(words) - ngram + 1)}


def signatures(texts: Iterable[str], params: MinHashParams) -> list[MinHash]:
    """One MinHash per text; the fixed default seed makes every run choose the same survivors."""
    return MinHash.bulk((shingles(text, params.ngram) for text in texts), num_perm=params.num_perm)


def _resembles_indexed(signature: MinHash, index: MinHashLSH, indexed: Mapping[int, MinHash], threshold: float) -> bool:
    # LSH only proposes candidates; the estimated Jaccard similarity confirms them, so the threshold
    # means what it says rather than whatever the band layout lets through.
    return any(signature.jaccard(indexed[key]) >= threshold for key in index.query(signature))


def near_duplicates(sigs: Mapping[int, MinHash], params: FilterParams) -> set[int]:
    """Keys of the texts that resemble an earlier survivor; ``sigs`` in input order.

    The first text of each group survives and only survivors are indexed, so the result depends on
    the input order alone.
    """
    threshold = params.near_duplicates.threshold
    index = MinHashLSH(threshold=threshold, num_perm=params.minhash.num_perm)
    dropped: set[int] = set()
    for key, signature in sigs.items():
        if _resembles_indexed(signature, index, sigs, threshold):
            dropped.add(key)
        else:
            index.insert(key, signature, check_duplication=False)
    return dropped


def contaminated(texts: list[str], sigs: list[MinHash], test_texts: list[str], params: FilterParams) -> set[int]:
    """Positions of the texts that equal a test text after normalising, or nearly copy one."""
    if not test_texts:
        return set()
    test_keys = {example_key(text) for text in test_texts}
    test_sigs = dict(enumerate(signatures((normalize(text) for text in test_texts), params.minhash)))
    threshold = params.contamination.threshold
    index = MinHashLSH(threshold=threshold, num_perm=params.minhash.num_perm)
    with index.insertion_session() as session:
        for key, signature in test_sigs.items():
            session.insert(key, signature, check_duplication=False)
    return {
        i
        for i, (text, signature) in enumerate(zip(texts, sigs))
        if duplicate_key(text) in test_keys or _resembles_indexed(signature, index, test_sigs, threshold)
    }


def class_balance(labels: Iterable[str], kept: list[dict[str, Any]], floor: float) -> dict[str, Any]:
    """Kept examples per label (zero for a label filtering emptied), min/max of them, and the short labels.

    A classifier trained on a lopsided synthetic set learns the imbalance, not the task.
    """
    per_label = dict.fromkeys(sorted(set(labels)), 0)
    per_label.update(Counter(r["label"] for r in kept))
    most = max(per_label.values(), default=0)
    return {
        "kept_per_label": per_label,
        "balance": round(min(per_label.values()) / most, 4) if most else 0.0,
        "labels_below_floor": [label for label, n in per_label.items() if n < floor * most],
    }


def _drop_unusable(records: Iterable[dict[str, Any]], params: FilterParams) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Normalise every text; drop empty texts, refusals and meta-answers, too short or long texts and
    exact duplicates, counting each."""
    kept: list[dict[str, Any]] = []
    removed: Counter[str] = Counter()
    seen: set[str] = set()
    for record in records:
        text = normalize(record["text"])
        words = len(text.split())
        if words == 0:
            removed["empty"] += 1
        elif refusal_or_meta(record["text"]):
            removed["refusal_or_meta"] += 1
        elif words < params.min_words:
            removed["too_short"] += 1
        elif words > params.max_words:
            removed["too_long"] += 1
        elif duplicate_key(text) in seen:
            removed["duplicate"] += 1
        else:
            seen.add(duplicate_key(text))
            kept.append({**record, "text": text})
    return kept, removed


def filter_synthetic(
    records: Iterable[dict[str, Any]],
    params: FilterParams,
    test_texts: Iterable[str] = (),
    check_labels: LabelChecker | None = None,
    labels: Sequence[str] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Normalise every text and drop the unusable ones; return the kept records and counts per reason.

    ``test_texts`` are the real test set's texts: a synthetic text that (nearly) copies one is dropped.
    ``check_labels`` (see :func:`synthclf.label_check.check_labels`) runs last, on what survived.
    ``labels`` are the task's labels, so that the balance counts a label nothing was written for;
    without them, the labels found in ``records``.
    """
    records = list(records)
    candidates, removed = _drop_unusable(records, params)
    texts = [r["text"] for r in candidates]
    real_test = list(test_texts) if params.contamination.enabled else []
    sigs = signatures(texts, params.minhash) if real_test or params.near_duplicates.enabled else []
    # Contamination first: a contaminated text must not survive as the representative of its group
    # and take innocent near-duplicates down with it.
    dropped = contaminated(texts, sigs, real_test, params)
    removed["contaminated"] = len(dropped)
    if params.near_duplicates.enabled:
        near = near_duplicates({i: s for i, s in enumerate(sigs) if i not in dropped}, params)
        removed["near_duplicate"] = len(near)
        dropped |= near
    kept = [r for i, r in enumerate(candidates) if i not in dropped]
    label_report = None
    if check_labels is not None:
        wrong, label_report = check_labels(kept)
        removed["label_issue"] = sum(wrong)
        kept = [r for r, drop in zip(kept, wrong) if not drop]
    counts = {
        "input": len(records),
        "kept": len(kept),
        "removed": {reason: removed[reason] for reason in REASONS},
        **class_balance(labels if labels is not None else [r["label"] for r in records], kept, params.balance_floor),
    }
    if label_report is not None:
        counts["label_check"] = label_report
    return kept, counts


def filter_replicates(
    records: Iterable[dict[str, Any]],
    params: FilterParams,
    labels: Sequence[str],
    test_texts: Iterable[str] = (),
    check_labels: LabelChecker | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """:func:`filter_synthetic` on each generation replicate apart (a text is a duplicate only of
    its own sample), then the counts summed, with each replicate's beside them.

    Raises when a label of the task kept no example in some replicate, unless
    ``params.allow_missing_labels``: a classifier trained without a label can never predict it, and
    the failure of 1 of 5 labels stays under any failure rate meant for flaky backends.
    """
    test_texts = list(test_texts)
    kept: list[dict[str, Any]] = []
    per_replicate: dict[str, dict[str, Any]] = {}
    for replicate, group in by_replicate(records).items():
        kept_here, counts = filter_synthetic(group, params, test_texts, check_labels, labels)
        missing = [label for label, n in counts["kept_per_label"].items() if n == 0]
        if missing and not params.allow_missing_labels:
            raise SynthclfError(
                f"replicate {replicate}: no example of label(s) {', '.join(missing)} survived generation and "
                f"filtering (removed: {counts['removed']}); set filter.allow_missing_labels to train without them"
            )
        kept += kept_here
        per_replicate[str(replicate)] = counts
    runs = list(per_replicate.values())
    total = {
        "input": sum(c["input"] for c in runs),
        "kept": len(kept),
        "removed": {reason: sum(c["removed"][reason] for c in runs) for reason in REASONS},
        **class_balance(labels, kept, params.balance_floor),
        # The weakest replicate's balance: a summed count can hide a label one sample lost.
        "labels_below_floor": sorted({label for c in runs for label in c["labels_below_floor"]}),
        "replicates": per_replicate,
    }
    checked = [c["label_check"] for c in runs if "label_check" in c]
    if checked:
        total["label_check"] = _summed(checked)
    return kept, total


def _summed(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The label checks' counts over the replicates (None where a check could not run in any)."""
    keys = [k for k, v in reports[0].items() if v is None or isinstance(v, int)]
    return {k: None if all(r.get(k) is None for r in reports) else sum(r.get(k) or 0 for r in reports) for k in keys}
