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

A figure that needs more items than a set has (pairs from one text, anything from none) is None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from synthclf.classifiers import resolve_model
from synthclf.errors import SynthclfError, first_line

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


def _sample(texts: Sequence[str], max_texts: int | None, rng: np.random.Generator) -> list[str]:
    if max_texts is None or len(texts) <= max_texts:
        return list(texts)
    return [texts[i] for i in sorted(rng.choice(len(texts), max_texts, replace=False))]


def describe_sources(
    real: Sequence[str],
    synthetic: Mapping[str, Sequence[str]],
    embed: Callable[[Sequence[str]], np.ndarray],
    k: int = 5,
    max_texts: int | None = None,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """``{"real": figures, <method>: figures, ...}``; each set is cut to a random ``max_texts`` first."""
    rng = np.random.default_rng(seed)
    real = _sample(real, max_texts, rng)
    real_embeddings = embed(real)
    figures = {"real": describe_set(real, real_embeddings, k=k)}
    for method, texts in synthetic.items():
        texts = _sample(texts, max_texts, rng)
        figures[method] = describe_set(texts, embed(texts), real_embeddings, k)
    return figures
