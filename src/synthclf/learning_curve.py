"""How many real examples is a synthetic set worth? The same classifiers trained on growing real
subsets and scored on real held-out data give a learning curve; the real-data size at which the
curve reaches a synthetic set's score is what that set is worth. Beside it, two comparisons that
need no curve: real subsets of the same size as each synthetic set (is an LLM-written example worth a
real one?), and real subsets with each synthetic set added (does synthetic data help scarce real
data?).

A subset is one sample of the real data, so every size is drawn ``draws`` times and its score is a
mean over draws x seeds, with an interval (synthclf.intervals) in which the draws play the part that
generation replicates play for a synthetic source. Every comparison is scored on the same bootstrap
resamples of the test items, so differences leave out the test-set noise both sides share."""

from __future__ import annotations

import hashlib
import math
import random
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

from synthclf.classifiers import load_classifier, model_dirs, train_classifier
from synthclf.errors import SynthclfError
from synthclf.intervals import ItemResampler, Predictions, Replicates, Resampled, family_level
from synthclf.io import read_examples, read_jsonl
from synthclf.params import IntervalParams, TrainParams
from synthclf.replicates import by_replicate, predictions_by_replicate

Record = Mapping[str, Any]
# classifier -> split -> one list per replicate of one prediction list per seed.
SourcePredictions = Mapping[str, Mapping[str, Replicates]]
# The split whose scores are the reported numbers; every other split scored goes under its own key.
REPORTED_SPLIT = "test"
SPLITS = ("test", "validation")


def stratified_order(labels: Sequence[str], seed: int) -> list[int]:
    """Row indices in an order whose every prefix keeps the label proportions (as closely as whole
    examples allow), so that a prefix is a stratified subset."""
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


def draw_subset(labels: Sequence[str], size: int, draw: int, seed: int) -> list[int]:
    """Rows of the ``draw``-th stratified subset of ``size`` examples. Each (seed, draw, size) gets
    its own shuffle: the draws of one size differ, and no size's subset is built from another's, so
    each point of the curve is a sample of its own and a size-matched comparison at, say, 37 real
    examples is drawn as freshly as a curve point."""
    # A hash rather than seed + draw + size, under which draw 1 of size 25 would be draw 0 of size 26.
    key = hashlib.sha256(f"{seed}/{draw}/{size}".encode()).digest()
    return stratified_order(labels, int.from_bytes(key[:8], "big"))[:size]


def train_and_predict(
    kind: str,
    records: Sequence[Record],
    inputs: Mapping[str, Sequence[str]],
    label_names: list[str],
    params: TrainParams,
) -> dict[str, list[Predictions]]:
    """``{split: [predicted labels of each model]}``: ``kind`` trained on ``records`` once per seed
    (TF-IDF + LR, which no seed changes, once, as the train stage does) and asked to label each
    split's texts. The models go to a scratch folder: the curve's output is its scores."""
    predicted: dict[str, list[Predictions]] = {split: [] for split in inputs}
    texts, labels = [r["text"] for r in records], [r["label"] for r in records]
    with tempfile.TemporaryDirectory(prefix="synthclf-curve-") as scratch:
        for model_seed, path in model_dirs(scratch, kind, params.seeds).items():
            train_classifier(kind, texts, labels, label_names, params, model_seed, path)
            model = load_classifier(path)
            for split, split_texts in inputs.items():
                predicted[split].append(model.predict(list(split_texts)))
    return predicted


def curve_point(resampler: ItemResampler, by_draw: Replicates, level: float) -> dict[str, Any]:
    """One size of the curve: the mean over draws x seeds with its interval (draws resampled like
    replicates), and under ``draws`` each draw's Macro-F1 (mean over its seeds), the points that
    :func:`real_examples_worth` fits."""
    per_draw = [float(np.mean([resampler.model_scores(p)["macro_f1"][0] for p in seeds])) for seeds in by_draw]
    return {**resampler.score(by_draw).summary(level), "draws": per_draw}


def matched_comparison(
    resampler: ItemResampler, real_by_draw: Replicates, synthetic: Replicates, size: int, level: float,
    difference_level: float,
) -> dict[str, Any]:
    """Real subsets of ``size`` examples against a synthetic source of that (mean) size, and the
    difference real - synthetic (its interval at ``difference_level``, its family's share of the
    level). Both are scored on the same resampled items; the real draws and the generation
    replicates are independent samples and are resampled independently."""
    real, synth = resampler.score(real_by_draw), resampler.score(synthetic)
    return {"size": size, "real": real.summary(level), "synthetic": synth.summary(level),
            "difference": {**(real - synth).summary(difference_level), "level": difference_level}}


def crossed_mean(grid: Sequence[Sequence[Resampled]], seed: int) -> Resampled:
    """The mean of a draws x replicates grid of scores, each of which varies with the test items
    only, with a crossed bootstrap: in each resample the rows (draws) and the columns (replicates)
    are drawn with replacement, independently, and every drawn row meets every drawn column.

    Two grids of the same shape resampled with the same ``seed`` get the same rows and columns, so
    their difference is paired on draws and replicates as well as on the items."""
    rows, cols = len(grid), len(grid[0])
    keys = list(grid[0][0].point)
    resamples = len(grid[0][0].draws[keys[0]])
    rng = np.random.default_rng(seed)
    # How much each row / column weighs in each resample: the times it was drawn over the number drawn.
    row_weight = (rng.integers(rows, size=(resamples, rows))[:, :, None] == np.arange(rows)).sum(axis=1) / rows
    col_weight = (rng.integers(cols, size=(resamples, cols))[:, :, None] == np.arange(cols)).sum(axis=1) / cols
    return Resampled(
        point={k: float(np.mean([[cell.point[k] for cell in row] for row in grid])) for k in keys},
        draws={k: np.einsum("bd,drb,br->b", row_weight, np.array([[cell.draws[k] for cell in row] for row in grid]), col_weight)
               for k in keys},
    )


def mix_gain(
    resampler: ItemResampler, mixed: Sequence[Replicates], real_by_draw: Replicates, level: float,
    gain_level: float, seed: int,
) -> dict[str, Any]:
    """Real subsets with a synthetic set added, and the gain over the same subsets alone.

    ``mixed[d][r]`` holds the models (one per seed) trained on real draw ``d`` plus replicate ``r``
    of the synthetic set; ``real_by_draw[d]`` those trained on draw ``d`` alone. Every draw is
    crossed with every replicate, so that each real subset and each LLM sample weighs the same.
    Each (draw, replicate) pair is one model group; its gain is its score minus that of its own
    draw alone, on the same items. The interval is a crossed bootstrap (:func:`crossed_mean`) over
    draws and replicates on top of the item resamples, the same for the mix and for the real-only
    grid, so the gain is paired on items, draws and replicates: a synthetic set that changes no
    prediction gains exactly 0, with an interval of width 0. The gain's interval is at
    ``gain_level``, its family's share of the level."""
    alone = [resampler.score([seeds]) for seeds in real_by_draw]
    with_added = crossed_mean([[resampler.score([seeds]) for seeds in row] for row in mixed], seed)
    without = crossed_mean([[alone[d]] * len(row) for d, row in enumerate(mixed)], seed)
    return {**with_added.summary(level), "gain": {**(with_added - without).summary(gain_level), "level": gain_level}}


def real_examples_worth(points: Sequence[tuple[int, float]], synthetic: Mapping[str, float]) -> dict[str, Any]:
    """Where a synthetic set's Macro-F1 meets the real-data learning curve.

    ``points`` are (real examples, Macro-F1) pairs: every draw of every size and the full real set.
    Real scores of one size vary with the draw, and a curve that dips would be crossed several
    times, so the curve is the isotonic (non-decreasing) least-squares fit of Macro-F1 on log size,
    read as straight lines between sizes on that log scale. The worth is the size at which the fit
    first reaches the score: ``"about"`` n, ``"fewer than"`` the smallest size when the score is
    below the whole fit, ``"at least"`` the largest size when the score is at or above the fit's
    end (a flat fit included). ``synthetic`` holds ``macro_f1`` and its interval ends ``macro_f1_low``
    and ``macro_f1_high``; the same map applied to the ends gives ``real_examples_low`` and
    ``real_examples_high`` (with their own relations): the map never decreases, so they stay in order.
    """
    sizes = np.log([n for n, _ in points])
    fit = IsotonicRegression(increasing=True).fit(sizes, [f1 for _, f1 in points])
    grid = np.unique(sizes)
    fitted = fit.predict(grid)

    def reach(score: float) -> tuple[str, int]:
        if score < fitted[0]:
            return "fewer than", round(math.exp(grid[0]))
        if score >= fitted[-1]:
            return "at least", round(math.exp(grid[-1]))
        j = int(np.argmax(fitted >= score))  # the first size whose fitted score reaches it
        if j == 0:
            return "about", round(math.exp(grid[0]))
        t = (score - fitted[j - 1]) / (fitted[j] - fitted[j - 1])
        return "about", round(math.exp(grid[j - 1] + t * (grid[j] - grid[j - 1])))

    worth: dict[str, Any] = {}
    for suffix in ("", "_low", "_high"):
        relation, n = reach(synthetic[f"macro_f1{suffix}"])
        worth.update({f"relation{suffix}": relation, f"real_examples{suffix}": n})
    return worth


@dataclass(frozen=True)
class SyntheticSource:
    """What the curve needs of one generation method: its kept replicate sets (for the size and the
    mixes) and the predictions of the train stage's models trained on them (for the matched scores)."""

    replicates: Sequence[Sequence[Record]]
    predictions: SourcePredictions

    @property
    def mean_size(self) -> int:
        """The mean number of kept examples over the replicate sets, rounded."""
        return round(float(np.mean([len(r) for r in self.replicates])))


def curve_classifiers(params: TrainParams) -> list[str]:
    """The classifiers of the curve: those asked for that the train stage trains too (the matched
    comparison and the full-size mix read its predictions)."""
    return [kind for kind in params.learning_curve.classifiers if kind in params.classifiers]


def learning_curve(
    train: Sequence[Record],
    evaluated: Mapping[str, Sequence[Record]],
    label_names: list[str],
    params: TrainParams,
    real: SourcePredictions,
    synthetic: Mapping[str, SyntheticSource],
    seed: int,
    intervals: IntervalParams,
) -> dict[str, Any]:
    """The learning_curve stage's metrics: ``curve``, ``matched`` and ``mixed`` scored on the
    ``test`` split of ``evaluated``, and the same for every other split under its name.

    ``real`` holds the train stage's predictions of the models trained on all of ``train`` (read
    with mixes only: the mixes' last point adds each synthetic set to the full real set and compares
    with them); ``synthetic`` each method's sets and predictions. Curve sizes not below the real
    training set are left out: a subset that large is the full set, the ``real`` source itself.
    ``seed`` fixes the subsets, the bootstrap and so every number. The size-matched differences of
    the task are one family of comparisons, the mixes' gains another (``intervals.correction``).
    """
    settings = params.learning_curve
    kinds = curve_classifiers(params)
    n_train, labels = len(train), [r["label"] for r in train]
    inputs = {split: [r["text"] for r in records] for split, records in evaluated.items()}
    sizes = sorted(s for s in set(settings.sizes) if s < n_train)
    matched_sizes = {m: s.mean_size for m, s in synthetic.items() if 0 < s.mean_size < n_train}
    subsets: dict[tuple[int, int], list[Record]] = {}
    # Real-only models, shared by the curve, the matched comparisons and the mixes' baselines.
    trained: dict[tuple[str, int, int], dict[str, list[Predictions]]] = {}

    def subset(size: int, draw: int) -> list[Record]:
        if (size, draw) not in subsets:
            subsets[size, draw] = [train[i] for i in draw_subset(labels, size, draw, seed)]
        return subsets[size, draw]

    def real_draws(kind: str, size: int) -> list[dict[str, list[Predictions]]]:
        for draw in range(settings.draws):
            if (kind, size, draw) not in trained:
                trained[kind, size, draw] = train_and_predict(kind, subset(size, draw), inputs, label_names, params)
        return [trained[kind, size, draw] for draw in range(settings.draws)]

    def mixed_models(kind: str, added: Sequence[Sequence[Record]]) -> dict[int, tuple[list[Any], list[list[Any]]]]:
        """{size: (real-only predictions by draw, [draw][replicate] predictions of the mixes)}, for
        each size of the curve and the full real set, whose one draw is the train stage's ``real``."""
        bases = {size: ([subset(size, d) for d in range(settings.draws)], real_draws(kind, size)) for size in sizes}
        bases[n_train] = ([list(train)], [{split: real[kind][split][0] for split in evaluated}])
        return {size: (alone, [[train_and_predict(kind, [*base, *rep], inputs, label_names, params) for rep in added]
                               for base in subsets_of_size])
                for size, (subsets_of_size, alone) in bases.items()}

    models: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        models[kind] = {
            "curve": {size: real_draws(kind, size) for size in sizes},
            "matched": {m: real_draws(kind, n) for m, n in matched_sizes.items()},
            "mixed": {m: mixed_models(kind, s.replicates) for m, s in synthetic.items()} if settings.mixes else {},
        }

    level = intervals.level
    matched_level = family_level(level, len(matched_sizes) * len(kinds), intervals.correction)
    gain_level = family_level(level, len(synthetic) * (len(sizes) + 1) * len(kinds) if settings.mixes else 1,
                              intervals.correction)

    def scored(split: str) -> dict[str, Any]:
        gold = [r["label"] for r in evaluated[split]]

        def resampler() -> ItemResampler:
            # The same seed gives the same item resamples, so every block is paired on the items; a
            # fresh one per block keeps a block's numbers independent of which other blocks ran.
            return ItemResampler(gold, label_names, intervals.resamples, seed)

        def at(by_draw: Sequence[Mapping[str, list[Predictions]]]) -> Replicates:
            return [models_of_draw[split] for models_of_draw in by_draw]

        out: dict[str, Any] = {"curve": {}, "matched": {}, "mixed": {}}
        for kind, blocks in models.items():
            points = resampler()
            out["curve"][kind] = {str(size): curve_point(points, at(by_draw), level) for size, by_draw in blocks["curve"].items()}
            for method, by_draw in blocks["matched"].items():
                out["matched"].setdefault(method, {})[kind] = matched_comparison(
                    resampler(), at(by_draw), synthetic[method].predictions[kind][split], matched_sizes[method], level,
                    matched_level)
            for method, by_size in blocks["mixed"].items():
                mixes = resampler()
                out["mixed"].setdefault(method, {})[kind] = {
                    str(size): mix_gain(mixes, [at(row) for row in grid], at(alone), level, gain_level, seed)
                    for size, (alone, grid) in by_size.items()
                }
        return out

    by_split = {split: scored(split) for split in evaluated}
    others = {split: scores for split, scores in by_split.items() if split != REPORTED_SPLIT}
    return {"n_train": n_train, "draws": settings.draws, **by_split[REPORTED_SPLIT], **others}


def read_predictions(path: str | Path, kinds: Sequence[str], items: Mapping[str, int]) -> dict[str, dict[str, Replicates]]:
    """A train stage predictions file as ``{classifier: {split: [replicate][seed] predictions}}``
    (replicates and seeds in ascending order) for ``kinds`` and the splits of ``items`` (split ->
    number of items), refusing a file that lacks any of them or labels the wrong number of items."""
    selected: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for number, row in enumerate(read_jsonl(path), 1):
        try:  # replicate and seed are grouped on below; looked up here so that a row lacking one is named
            kind, split, _, _, predicted = (row[k] for k in ("classifier", "split", "replicate", "seed", "predicted"))
        except KeyError as exc:
            raise SynthclfError(f"{path}: row {number}: no field {exc.args[0]!r}") from None
        if kind in kinds and split in items:
            if len(predicted) != items[split]:
                raise SynthclfError(f"{path}: row {number}: {len(predicted)} predictions for {items[split]} {split} items "
                                    "(the real data changed since the train stage ran?)")
            selected[kind, split].append(row)
    grouped = {(kind, split): predictions_by_replicate(selected[kind, split]) for kind in kinds for split in items}
    missing = [f"{kind} on {split}" for kind in kinds for split in items if not grouped[kind, split]]
    if missing:
        raise SynthclfError(f"{path}: no predictions of {', '.join(missing)}; run the train stage")
    return {kind: {split: grouped[kind, split] for split in items} for kind in kinds}


def read_replicates(path: str | Path, labels: Sequence[str]) -> list[list[Record]]:
    """A filtered synthetic set split into its generation replicates, in ascending order (a record
    without a ``replicate`` field belongs to replicate 0, as in the train stage)."""
    groups = by_replicate(read_examples(path, labels))
    if not groups:
        raise SynthclfError(f"{path}: no synthetic examples")
    return list(groups.values())


def task_learning_curve(
    root: str | Path, task: str, label_names: list[str], methods: Sequence[str],
    params: TrainParams, seed: int, intervals: IntervalParams,
) -> dict[str, Any]:
    """:func:`learning_curve` for one task, read from the project folder ``root``: the real splits
    under data/real/<task>/, each method's kept sets under data/filtered/<task>/ and the train
    stage's predictions under predictions/<task>/."""
    root = Path(root)
    real_dir = root / "data" / "real" / task
    train = read_examples(real_dir / "train.jsonl", label_names)
    evaluated = {split: read_examples(real_dir / f"{split}.jsonl", label_names) for split in SPLITS}
    items = {split: len(records) for split, records in evaluated.items()}
    kinds = curve_classifiers(params)

    def predictions(source: str) -> dict[str, dict[str, Replicates]]:
        return read_predictions(root / "predictions" / task / f"{source}.jsonl", kinds, items)

    synthetic = {
        method: SyntheticSource(read_replicates(root / "data" / "filtered" / task / f"{method}.jsonl", label_names),
                                predictions(method))
        for method in methods
    }
    real = predictions("real") if params.learning_curve.mixes else {}
    return learning_curve(train, evaluated, label_names, params, real, synthetic, seed, intervals)
