import math
import zlib

import numpy as np
import pytest

from synthclf.diversity import (
    FIGURES,
    PERCENTILE_DRAWS,
    Embedder,
    chamfer,
    describe_set,
    describe_sources,
    distinct_n,
    matched_size,
    remote_clique,
    replicate_sets,
    similarity_to_real,
    size_matched_draws,
    spread,
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


class BagOfWords:
    """A cheap stand-in for MiniLM: word counts hashed into 64 dimensions (plus a constant, so no row is
    zero). It records every text it is asked to embed."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, texts):
        self.seen += texts
        rows = np.zeros((len(texts), 64))
        rows[:, 0] = 0.1
        for i, text in enumerate(texts):
            for word in text.lower().split():
                rows[i, 1 + zlib.crc32(word.encode()) % 63] += 1.0
        return rows


def sentences(count: int, seed: int, vocabulary: int = 30, length: int = 6) -> list[str]:
    """Random sentences from one small vocabulary: every set of them comes from the same source."""
    rng = np.random.default_rng(seed)
    return [" ".join(f"w{w}" for w in rng.integers(vocabulary, size=length)) for _ in range(count)]


def measure(real, synthetic, seed=0, draws=6, k=3, embed=None):
    return describe_sources(real, synthetic, embed or BagOfWords(), k=k, draws=draws, seed=seed)


def test_replicate_sets_groups_by_replicate_and_reads_a_missing_field_as_zero():
    records = [{"text": "a", "replicate": 1}, {"text": "b"}, {"text": "c", "replicate": 0},
               {"text": "d", "replicate": 2}]
    assert replicate_sets(records) == [["b", "c"], ["a"], ["d"]]
    assert replicate_sets([{"text": "x"}, {"text": "y"}]) == [["x", "y"]]
    assert replicate_sets([]) == []


def test_every_source_is_measured_at_the_smallest_replicate_size():
    real = sentences(400, 0)
    synthetic = {"zero_shot": [sentences(30, 1), sentences(16, 2), sentences(25, 3)],
                 "few_shot": [sentences(37, 4), sentences(20, 5)]}
    figures = measure(real, synthetic)
    assert matched_size(real, synthetic) == 16
    assert {f["n"] for f in figures.values()} == {16}
    assert all(f["draws"] == 6 for f in figures.values())
    assert figures["real"]["n_total"] == 400
    assert figures["zero_shot"]["n_total"] == 71 and figures["zero_shot"]["replicates"] == 3
    assert figures["few_shot"]["n_total"] == 57 and figures["few_shot"]["replicates"] == 2
    # Never more texts per sample than the real set has.
    assert matched_size(sentences(10, 6), synthetic) == 10


def test_draws_cycle_over_replicates_and_subsample_each_to_n():
    sets = [sentences(30, 1), sentences(16, 2), sentences(25, 3)]
    plan = size_matched_draws(sets, 16, 7, seed=0, source="zero_shot")
    assert [index for index, _ in plan] == [0, 1, 2, 0, 1, 2, 0]
    assert all(len(positions) == len(set(positions)) == 16 for _, positions in plan)
    assert all(max(positions) < len(sets[index]) for index, positions in plan)
    # The first draws do not change when more are asked for, nor with another source's name beside it.
    assert size_matched_draws(sets, 16, 3, seed=0, source="zero_shot") == plan[:3]
    assert size_matched_draws(sets, 16, 3, seed=1, source="zero_shot") != plan[:3]
    with pytest.raises(TypeError):
        size_matched_draws(["a flat list", "of texts"], 1, 2, seed=0, source="zero_shot")


def test_same_seed_same_figures_other_seed_other_samples():
    real = sentences(200, 0)
    synthetic = {"zero_shot": [sentences(20, 1), sentences(24, 2)]}
    first = measure(real, synthetic, seed=3)
    assert measure(real, synthetic, seed=3) == first
    other = measure(real, synthetic, seed=4)
    assert other["real"]["remote_clique"] != first["real"]["remote_clique"]


def test_the_low_and_high_ends_bracket_the_mean():
    real = sentences(300, 0)
    synthetic = {"zero_shot": [sentences(20, 1), sentences(22, 2), sentences(30, 3)]}
    for draws in (5, 40):  # min/max below PERCENTILE_DRAWS, percentiles from it on
        figures = measure(real, synthetic, draws=draws)
        for source in figures.values():
            for name in FIGURES:
                assert source[f"{name}_low"] <= source[name] <= source[f"{name}_high"], (draws, name)
            assert source["remote_clique_low"] < source["remote_clique_high"]
    assert PERCENTILE_DRAWS > 5


def test_spread_is_min_max_for_few_draws_and_percentiles_for_many():
    assert spread([0.2, 0.4, None, 0.3]) == pytest.approx((0.3, 0.2, 0.4))
    assert spread([None, None]) == (None, None, None)
    values = list(np.linspace(0, 1, 41))
    mean, low, high = spread(values)
    assert mean == pytest.approx(0.5) and low == pytest.approx(0.025) and high == pytest.approx(0.975)


def test_size_matching_removes_the_advantage_a_small_set_gets_from_its_size():
    # Real and synthetic texts come from the very same source, so a fair measure calls them equal.
    real = sentences(400, 0)
    synthetic = {"zero_shot": [sentences(20, 1), sentences(20, 2), sentences(20, 3)]}
    # Measured whole, the big set repeats more bigrams and has nearer neighbours: the small set looks
    # far more diverse on both counts.
    embed = BagOfWords()
    assert distinct_n(real, 2) < distinct_n(synthetic["zero_shot"][0], 2) - 0.2
    assert chamfer(embed(real)) < chamfer(embed(synthetic["zero_shot"][0])) - 0.1
    # Size-matched, the two agree: each mean lies inside the other's spread.
    figures = measure(real, synthetic, draws=9)
    for name in ("distinct_2", "chamfer", "remote_clique", "similarity_to_real"):
        ours, theirs = figures["real"], figures["zero_shot"]
        assert abs(ours[name] - theirs[name]) < 0.05, name
        assert ours[f"{name}_low"] <= theirs[name] <= ours[f"{name}_high"], name


def test_similarity_to_real_uses_the_whole_real_set_without_self_matches():
    vectors = {f"t{i}": row for i, row in enumerate(np.eye(6))}

    def embed(texts):
        return np.array([vectors[t] for t in texts]).reshape(len(texts), 6)

    real = [f"t{i}" for i in range(6)]
    # n = 2, yet a synthetic copy of t0 finds t0 among all six real texts, in every draw.
    figures = measure(real, {"zero_shot": [["t0", "t0"]]}, k=1, embed=embed)
    assert figures["zero_shot"]["n"] == 2
    assert figures["zero_shot"]["similarity_to_real"] == pytest.approx(1.0)
    assert figures["zero_shot"]["chamfer"] == pytest.approx(0.0)
    # A real text is never its own match: its best other real text is orthogonal.
    assert figures["real"]["similarity_to_real"] == pytest.approx(0.0)
    assert figures["real"]["remote_clique"] == pytest.approx(1.0)


def test_every_distinct_text_is_embedded_once():
    real = sentences(100, 0) + sentences(5, 0)  # five duplicates inside the real set
    synthetic = {"zero_shot": [sentences(10, 1), sentences(12, 2)], "few_shot": [sentences(10, 1)]}
    embed = BagOfWords()
    measure(real, synthetic, draws=8, embed=embed)
    assert len(embed.seen) == len(set(embed.seen))
    assert set(real) <= set(embed.seen)


def test_an_empty_method_gets_empty_figures_and_does_not_shrink_the_others():
    real = sentences(50, 0)
    figures = measure(real, {"zero_shot": [sentences(12, 1)], "few_shot": []})
    assert figures["real"]["n"] == figures["zero_shot"]["n"] == 12
    empty = figures["few_shot"]
    assert empty["n"] == 0 and empty["draws"] == 0 and empty["n_total"] == 0 and empty["replicates"] == 0
    assert all(empty[name] is None and empty[f"{name}_low"] is None for name in FIGURES)
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
