import math

import numpy as np
import pytest

from synthclf.diversity import (
    Embedder,
    chamfer,
    describe_set,
    describe_sources,
    distinct_n,
    remote_clique,
    similarity_to_real,
)

# Unit vectors at 0, 60 and 180 degrees: cosine similarities 0.5 (0-60), -1 (0-180), -0.5 (60-180).
ANGLES = np.radians([0.0, 60.0, 180.0])
POINTS = np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1)


def test_remote_clique_of_orthogonal_identical_and_known_points():
    assert remote_clique(np.eye(4)) == pytest.approx(1.0)
    assert remote_clique(np.ones((5, 3))) == pytest.approx(0.0)
    # Pairwise distances 0.5, 2 and 1.5.
    assert remote_clique(POINTS) == pytest.approx(4 / 3)


def test_remote_clique_equals_the_mean_over_the_pair_matrix():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 8))
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    distances = 1 - unit @ unit.T
    assert remote_clique(x) == pytest.approx(distances[~np.eye(30, dtype=bool)].mean())


def test_chamfer_is_the_mean_distance_to_the_nearest_other_item():
    # Nearest other item: 0 -> 60 (0.5), 60 -> 0 (0.5), 180 -> 60 (1.5).
    assert chamfer(POINTS) == pytest.approx(2.5 / 3)
    assert chamfer(np.eye(3)) == pytest.approx(1.0)
    # A duplicate is its twin's nearest neighbour, however far the rest lies.
    assert chamfer(np.array([[1.0, 0.0], [2.0, 0.0]])) == pytest.approx(0.0)


def test_chamfer_does_not_depend_on_block_size(monkeypatch):
    x = np.random.default_rng(1).normal(size=(25, 4))
    whole = chamfer(x)
    monkeypatch.setattr("synthclf.diversity.BLOCK", 7)
    assert chamfer(x) == pytest.approx(whole)


def test_similarity_to_real_averages_the_top_k_matches():
    real = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    synthetic = np.array([[1.0, 0.0], [0.0, -1.0]])
    # Row 1 best two: 1 and 0 -> 0.5; row 2 best two: 0 and 0 -> 0.
    assert similarity_to_real(synthetic, real, k=2) == pytest.approx(0.25)
    # k larger than the real set: every real row counts, (1 + 0 - 1) / 3 and (0 - 1 + 0) / 3.
    assert similarity_to_real(synthetic, real, k=10) == pytest.approx(-1 / 6)


def test_similarity_of_the_real_set_to_itself_skips_self_matches():
    # Each point's best other match: 0.5, 0.5, -0.5.
    assert similarity_to_real(POINTS, k=1) == pytest.approx(0.5 / 3)
    assert similarity_to_real(np.eye(1), k=5) is None


def test_distinct_n_on_known_texts():
    texts = ["The cat sat.", "the cat ran"]
    # Words: the cat sat the cat ran -> 4 unique of 6.
    assert distinct_n(texts, 1) == pytest.approx(4 / 6)
    # Bigrams never span texts: (the cat) (cat sat) (the cat) (cat ran) -> 3 of 4.
    assert distinct_n(texts, 2) == pytest.approx(3 / 4)
    assert distinct_n(["Don't stop, don't!"], 1) == pytest.approx(2 / 3)


def test_empty_and_single_sets_give_none_not_errors():
    empty = np.zeros((0, 3))
    assert remote_clique(empty) is None and chamfer(empty) is None
    assert similarity_to_real(empty, np.eye(3)) is None
    assert similarity_to_real(np.eye(3), empty) is None
    assert distinct_n([], 1) is None and distinct_n(["one"], 2) is None
    one = describe_set(["just one text"], np.eye(3)[:1], np.eye(3))
    assert one["remote_clique"] is None and one["chamfer"] is None
    assert one["similarity_to_real"] == pytest.approx(1 / 3)
    assert one["distinct_1"] == 1.0 and one["n"] == 1


def test_describe_sources_caps_every_set_and_compares_with_real():
    vectors = {f"t{i}": row for i, row in enumerate(np.eye(6))}

    def embed(texts):
        return np.array([vectors[t] for t in texts]).reshape(len(texts), 6)

    real = [f"t{i}" for i in range(6)]
    figures = describe_sources(real, {"zero_shot": ["t0", "t0"], "few_shot": []}, embed, k=1, max_texts=4)
    assert figures["real"]["n"] == 4 and figures["real"]["remote_clique"] == pytest.approx(1.0)
    assert figures["zero_shot"]["chamfer"] == pytest.approx(0.0)
    assert figures["few_shot"] == {
        "n": 0,
        "remote_clique": None,
        "chamfer": None,
        "similarity_to_real": None,
        "distinct_1": None,
        "distinct_2": None,
    }
    assert all(math.isfinite(v) for v in figures["real"].values() if v is not None)


@pytest.mark.slow
def test_packaged_minilm_puts_a_paraphrase_nearer_than_an_unrelated_sentence():
    embed = Embedder("sentence-transformers/all-MiniLM-L6-v2")
    texts = ["The movie was wonderful.", "I really loved this film.", "Stock markets fell sharply on Monday."]
    e = embed(texts)
    assert e.shape == (3, 384)
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2
    assert embed([]).shape == (0, 384)
