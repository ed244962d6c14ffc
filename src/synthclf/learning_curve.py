"""How many real examples is a synthetic set worth? The same classifiers trained on growing real
subsets and scored on the real test set give a learning curve; the real-data size at which the
curve reaches a synthetic set's score is what that set is worth. The same subsets with a synthetic
set added answer the other practical question: does synthetic data help when real data is scarce?"""

from __future__ import annotations

import math
import random
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from synthclf.classifiers import load_classifier, model_dirs, train_classifier
from synthclf.evaluation import combine_seeds, score
from synthclf.params import TrainParams


def stratified_order(labels: Sequence[str], seed: int) -> list[int]:
    """Row indices in an order whose every prefix keeps the label proportions (as closely as whole
    examples allow): the subsets of a learning curve are then stratified and nested, so a larger
    subset only adds examples."""
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = defaultdict(list)
    for row, label in enumerate(labels):
        by_label[label].append(row)
    keyed = []
    for rows in by_label.values():
        rng.shuffle(rows)
        # The k-th example of a label comes at its share of the label, (k + 1/2) / count, of the way in.
        keyed += [((k + 0.5) / len(rows), rng.random(), row) for k, row in enumerate(rows)]
    return [row for *_, row in sorted(keyed)]


def learning_curve(
    train: Sequence[Mapping[str, Any]],
    test: Sequence[Mapping[str, Any]],
    label_names: list[str],
    sizes: Sequence[int],
    kinds: Sequence[str],
    params: TrainParams,
    seed: int,
    added: Sequence[Mapping[str, Any]] = (),
) -> dict[str, dict[str, Any]]:
    """``{kind: {size: scores}}`` for each size below the real training set's (the full set is the
    ``real`` source itself), scores as ``evaluation.combine_seeds`` gives them.

    With ``added`` (a synthetic set), each model trains on the real subset plus all of ``added``,
    and the full real set plus ``added`` is one more point.
    """
    order = stratified_order([r["label"] for r in train], seed)
    texts, gold = [r["text"] for r in test], [r["label"] for r in test]
    agreement = [r.get("agreement") for r in test]
    curve: dict[str, dict[str, Any]] = {kind: {} for kind in kinds}
    for size in sorted(s for s in set(sizes) if s < len(train)) + ([len(train)] if added else []):
        subset = [train[i] for i in order[:size]] + list(added)
        for kind in kinds:
            with tempfile.TemporaryDirectory(prefix="synthclf-curve-") as scratch:
                by_seed = {}
                for model_seed, path in model_dirs(scratch, kind, params.seeds).items():
                    train_classifier(kind, [r["text"] for r in subset], [r["label"] for r in subset], label_names,
                                     params, model_seed, path)
                    by_seed[model_seed] = score(gold, load_classifier(path).predict(texts), label_names, agreement)
            curve[kind][str(size)] = combine_seeds(by_seed)
    return curve


def real_examples_worth(curve: Mapping[int, float], synthetic: float) -> dict[str, Any]:
    """Where a synthetic set's score meets the real-data learning curve ``{size: score}``.

    ``{"relation": "about", "real_examples": n}`` where the curve first rises through the score
    (interpolated on a log scale of size, as learning curves are roughly straight there);
    ``"fewer than"`` the smallest size if the score is below the whole curve; ``"at least"`` the
    largest size if it is at or above the curve's end without crossing it before.
    """
    points = sorted(curve.items())
    if synthetic < points[0][1]:
        return {"relation": "fewer than", "real_examples": points[0][0]}
    for (n0, s0), (n1, s1) in zip(points, points[1:]):
        if s0 <= synthetic < s1:
            t = (synthetic - s0) / (s1 - s0)
            return {"relation": "about", "real_examples": round(math.exp(math.log(n0) + t * math.log(n1 / n0)))}
    return {"relation": "at least", "real_examples": points[-1][0]}
