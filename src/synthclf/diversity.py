"""How varied a set of texts is, and how close synthetic texts come to real ones (Li et al. 2023, §6).

Every embedding figure is a cosine figure on sentence embeddings (all-MiniLM-L6-v2 by default, as in
the paper); the functions normalise rows themselves, so any matrix of non-zero vectors will do:

- Remote-Clique: the mean cosine distance (1 - cosine similarity) over all pairs of distinct items.
  High when the set spreads out in every direction.
- Chamfer distance: the mean, over items, of the cosine distance to the nearest *other* item of the same
  set. High when no item has a close neighbour; near-duplicates pull it towards 0 even in a spread-out set.
- Similarity to real data: for each text, the mean of its top-k (k = 5) cosine similarities to the real
  training texts, averaged over texts. For the real training set itself an item is not its own match,
  so its figure is the typical similarity of a real text to its nearest *other* real texts: the level
  synthetic data would reach if it were as close to the real data as the real data is to itself.
- distinct-n: unique n-grams / total n-grams of lower-cased word tokens over the whole set (Li et al.
  2016); n-grams never span two texts. It falls as a set grows, so compare sets of similar size.

Remote-Clique, Chamfer distance and distinct-n all move with the size of a set (a larger set has nearer
neighbours and repeats more n-grams), so :func:`describe_sources` measures every source of a task on
several random samples of one size, the smallest synthetic replicate set, and reports the mean and the
spread over those draws.

A figure that needs more items than a set has (pairs from one text, anything from none) is None.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from synthclf.classifiers import resolve_model
from synthclf.errors import SynthclfError, first_line
from synthclf.replicates import by_replicate

# Rows of the similarity matrix computed at a time: bounds memory at BLOCK x (size of the other set).
BLOCK = 1024
WORD = re.compile(r"\w+(?:'\w+)*")


class Embedder:
    """A sentence-transformers model, loaded once, that maps texts to unit-length embedding rows."""

    def __init__(self, model: str, batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer

        source = resolve_model(model)
        try:
            # CPU keeps the figures identical from machine to machine; embedding is cheap next to training.
            self._model = SentenceTransformer(source, device="cpu")
        except (OSError, ValueError) as exc:
            raise SynthclfError(f"embedding model {model!r}: cannot load {source} ({first_line(exc)})") from None
        self._batch_size = batch_size

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings, shape ``(len(texts), dimension)``, one unit-length row per text."""
        if not texts:
            return np.zeros((0, self._model.get_embedding_dimension()), dtype=np.float32)
        return self._model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, show_progress_bar=False
        )


def _unit_rows(embeddings: np.ndarray) -> np.ndarray:
    matrix = np.asarray(embeddings, dtype=np.float64)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _top_k_similarities(queries: np.ndarray, keys: np.ndarray, k: int, exclude_self: bool) -> np.ndarray:
    """The ``k`` largest cosine similarities of each query row to the key rows, shape ``(n, k)``, unordered.

    With ``exclude_self`` the queries are the keys, and an item is never its own neighbour.
    """
    queries, keys = _unit_rows(queries), _unit_rows(keys)
    blocks = []
    for start in range(0, len(queries), BLOCK):
        sims = queries[start : start + BLOCK] @ keys.T
        if exclude_self:
            rows = np.arange(len(sims))
            sims[rows, start + rows] = -np.inf
        blocks.append(np.partition(sims, -k, axis=1)[:, -k:])
    return np.concatenate(blocks)


def remote_clique(embeddings: np.ndarray) -> float | None:
    """Mean cosine distance over all pairs of distinct rows; None for fewer than two rows."""
    n = len(embeddings)
    if n < 2:
        return None
    unit = _unit_rows(embeddings)
    # The sum of all pairwise similarities, diagonal included, is |sum of rows|^2: O(n) instead of O(n^2).
    total = float(np.sum(unit.sum(axis=0) ** 2))
    return 1.0 - (total - n) / (n * (n - 1))


def chamfer(embeddings: np.ndarray) -> float | None:
    """Mean over rows of the cosine distance to the nearest other row; None for fewer than two rows."""
    if len(embeddings) < 2:
        return None
    nearest = _top_k_similarities(embeddings, embeddings, 1, exclude_self=True)[:, 0]
    return float(np.mean(1.0 - nearest))


def similarity_to_real(embeddings: np.ndarray, real: np.ndarray | None = None, k: int = 5) -> float | None:
    """Mean over rows of the mean of their top-``k`` cosine similarities to the ``real`` rows.

    ``real=None``: the rows are the real set itself, and a row is not matched with itself. Fewer than
    ``k`` real rows: all of them count. None when there is nothing to compare.
    """
    exclude_self = real is None
    keys = embeddings if exclude_self else real
    candidates = len(keys) - 1 if exclude_self else len(keys)
    k = min(k, candidates)
    if len(embeddings) == 0 or k < 1:
        return None
    return float(np.mean(_top_k_similarities(embeddings, keys, k, exclude_self)))


def distinct_n(texts: Sequence[str], n: int) -> float | None:
    """Unique / total word n-grams over all texts (lower-cased); None when the texts hold no n-gram."""
    ngrams = []
    for text in texts:
        words = WORD.findall(text.lower())
        ngrams += zip(*(words[i:] for i in range(n)))
    return len(set(ngrams)) / len(ngrams) if ngrams else None


def describe_set(
    texts: Sequence[str], embeddings: np.ndarray, real: np.ndarray | None = None, k: int = 5
) -> dict[str, Any]:
    """Every figure of one set; ``real=None`` means the set is the real training set itself."""
    return {
        "n": len(texts),
        "remote_clique": remote_clique(embeddings),
        "chamfer": chamfer(embeddings),
        "similarity_to_real": similarity_to_real(embeddings, real, k),
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
    }


# The figures of every draw; each is written as the mean over draws, with a low and a high end.
FIGURES = ("remote_clique", "chamfer", "similarity_to_real", "distinct_1", "distinct_2")
# From this many draws on, the spread is the 2.5th to 97.5th percentile; below it those percentiles
# would only interpolate between the two most extreme draws, so the spread is the plain minimum and
# maximum instead, and says no more than "the draws ranged this far".
PERCENTILE_DRAWS = 20


def replicate_sets(records: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """The texts of each generation replicate, ordered by replicate number.

    A record without a ``replicate`` field belongs to replicate 0, so data written before replicates
    existed reads as one replicate. A replicate with no record (everything filtered out) cannot show
    up here: its file has no trace of it.
    """
    return [[record["text"] for record in group] for group in by_replicate(records).values()]


def matched_size(real: Sequence[str], synthetic: Mapping[str, Sequence[Sequence[str]]]) -> int:
    """Texts per sample for every source of a task: the smallest non-empty synthetic replicate set,
    never more than the real set. Empty sets are left out: one method that kept nothing would
    otherwise leave every source, real included, with nothing to measure. Without any synthetic
    text, the whole real set."""
    sizes = [len(texts) for sets in synthetic.values() for texts in sets if texts]
    return min(*sizes, len(real)) if sizes else len(real)


def _rng(seed: int, source: str, draw: int) -> np.random.Generator:
    # One generator per source and draw, keyed by a stable string (Python's hash() is salted per
    # process): a source's samples do not change when another method is added, nor its first draws
    # when more draws are asked for. Any int seed works, negative ones included.
    digest = hashlib.sha256(f"synthclf.diversity/{seed}/{source}/{draw}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def size_matched_draws(
    sets: Sequence[Sequence[str]], n: int, draws: int, seed: int, source: str
) -> list[tuple[int, list[int]]]:
    """``draws`` samples of ``n`` texts each, as ``(set index, sorted positions in that set)``.

    Draw ``d`` subsamples, without replacement, the ``d % m``-th of the ``m`` sets holding at least
    ``n`` texts, so the draws cycle over a method's replicates and a real source (one set) is drawn
    from ``draws`` times. No draw when ``n`` is 0 or no set is large enough.
    """
    if any(isinstance(texts, str) for texts in sets):
        # A flat list of texts would pass as sets of characters and be measured as nonsense.
        raise TypeError(f"{source}: expected a list of replicate sets (lists of texts), got a list of strings")
    eligible = [i for i, texts in enumerate(sets) if len(texts) >= n] if n > 0 else []
    plan = []
    for draw in range(draws if eligible else 0):
        index = eligible[draw % len(eligible)]
        positions = _rng(seed, source, draw).choice(len(sets[index]), n, replace=False)
        plan.append((index, sorted(int(p) for p in positions)))
    return plan


def _mean_top_k(queries: np.ndarray, keys: np.ndarray, k: int, exclude_self: bool) -> np.ndarray | None:
    """Per query row, the mean of its top-``k`` cosine similarities to the key rows (all of them when
    there are fewer); None when there is nothing to compare with."""
    k = min(k, len(keys) - 1 if exclude_self else len(keys))
    if len(queries) == 0 or k < 1:
        return None
    return _top_k_similarities(queries, keys, k, exclude_self).mean(axis=1)


def spread(values: Sequence[float | None]) -> tuple[float | None, float | None, float | None]:
    """``(mean, low, high)`` of one figure over draws, None-valued draws left out (all None: None).

    ``low``/``high`` are the 2.5th and 97.5th percentiles (numpy's linear interpolation) from
    ``PERCENTILE_DRAWS`` draws on, the minimum and maximum below that. They describe how much the
    figure moves from one size-matched sample (and, for synthetic data, one replicate) to the next;
    with few draws they are a range seen, not a confidence interval.
    """
    kept = np.array([v for v in values if v is not None], dtype=np.float64)
    if kept.size == 0:
        return None, None, None
    if kept.size >= PERCENTILE_DRAWS:
        low, high = np.percentile(kept, [2.5, 97.5])
    else:
        low, high = kept.min(), kept.max()
    return float(kept.mean()), float(low), float(high)


def describe_sources(
    real: Sequence[str],
    synthetic: Mapping[str, Sequence[Sequence[str]]],
    embed: Callable[[Sequence[str]], np.ndarray],
    k: int,
    draws: int,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """``{"real": figures, <method>: figures, ...}``, every source measured on samples of one size.

    Remote-Clique, Chamfer distance and distinct-n all depend on how many texts a set holds, so a set
    of 400 real texts and one of 20 synthetic ones cannot be compared as they are. Every source is
    measured on ``draws`` random samples of ``n`` = :func:`matched_size` texts: the real set
    subsampled, a method's replicate sets (``synthetic[method]``, one list of texts per replicate)
    taken in turn and each subsampled (:func:`size_matched_draws`).

    Similarity to real data always compares with the *full* real training set, whatever the sample:
    a synthetic text with all real texts, a real text with all other real texts (not itself, as in
    :func:`similarity_to_real`), so both sides see a reference of (nearly) the same size.

    Per source: each figure of :data:`FIGURES` as the mean over draws, ``<figure>_low`` and
    ``<figure>_high`` (see :func:`spread`), ``n`` (texts per sample; 0 when nothing could be drawn),
    ``draws`` (samples measured), ``n_total`` (texts in the source: the real set, or all replicates
    of a method), and for a method ``replicates`` (non-empty replicate sets).
    """
    n = matched_size(real, synthetic)
    plans = {"real": size_matched_draws([real], n, draws, seed, "real")}
    plans.update({method: size_matched_draws(sets, n, draws, seed, method) for method, sets in synthetic.items()})
    sources: dict[str, Sequence[Sequence[str]]] = {"real": [real], **synthetic}
    samples = {
        source: [[sources[source][index][p] for p in positions] for index, positions in plan]
        for source, plan in plans.items()
    }

    # Embedding is the slow part (MiniLM on CPU): every distinct text once, only texts that are used
    # (the whole real set is the reference; of synthetic sets only what some sample drew).
    drawn = [text for method in synthetic for sample in samples[method] for text in sample]
    distinct = list(dict.fromkeys([*real, *drawn]))
    vectors = np.asarray(embed(distinct)) if distinct else np.zeros((0, 1))
    row = {text: i for i, text in enumerate(distinct)}
    real_rows = np.array([row[text] for text in real], dtype=np.int64)
    real_vectors = vectors[real_rows]

    # A text's similarity to real data does not depend on which sample it is in: computed once per
    # real position (leave-one-out) and once per distinct drawn synthetic text, then averaged per draw.
    real_similarity = _mean_top_k(real_vectors, real_vectors, k, exclude_self=True)
    synthetic_texts = list(dict.fromkeys(drawn))
    synthetic_vectors = vectors[[row[text] for text in synthetic_texts]] if synthetic_texts else vectors[:0]
    synthetic_similarity = _mean_top_k(synthetic_vectors, real_vectors, k, exclude_self=False)
    synthetic_index = {text: i for i, text in enumerate(synthetic_texts)}

    figures: dict[str, dict[str, Any]] = {}
    for source, plan in plans.items():
        per_draw: dict[str, list[float | None]] = {name: [] for name in FIGURES}
        for (_, positions), texts in zip(plan, samples[source]):
            embeddings = vectors[[row[text] for text in texts]]
            if source == "real":
                per_text, picked = real_similarity, positions
            else:
                per_text, picked = synthetic_similarity, [synthetic_index[text] for text in texts]
            similarity = None if per_text is None else float(np.mean(per_text[picked]))
            per_draw["remote_clique"].append(remote_clique(embeddings))
            per_draw["chamfer"].append(chamfer(embeddings))
            per_draw["similarity_to_real"].append(similarity)
            per_draw["distinct_1"].append(distinct_n(texts, 1))
            per_draw["distinct_2"].append(distinct_n(texts, 2))
        out: dict[str, Any] = {
            "n": n if plan else 0,
            "draws": len(plan),
            "n_total": sum(len(texts) for texts in sources[source]),
        }
        if source != "real":
            out["replicates"] = sum(1 for texts in sources[source] if texts)
        for name, values in per_draw.items():
            out[name], out[f"{name}_low"], out[f"{name}_high"] = spread(values)
        figures[source] = out
    return figures
