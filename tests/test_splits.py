from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthclf.splits import grouped_stratified_split, label_quotas, stratified_cap


def make_records(labels: list[str], texts: list[str] | None = None, groups: list[str] | None = None) -> list[dict]:
    records = []
    for i, label in enumerate(labels):
        record = {"i": i, "text": texts[i] if texts else f"text {i}", "label": label}
        if groups:
            record["group"] = groups[i]
        records.append(record)
    return records


def counts(records: list[dict]) -> Counter:
    return Counter(r["label"] for r in records)


# --- label_quotas ------------------------------------------------------------------------------


def test_quotas_add_up_and_follow_proportions():
    quotas = label_quotas({"a": 700, "b": 200, "c": 100}, 50)
    assert quotas == {"a": 35, "b": 10, "c": 5}


def test_quota_leftovers_go_to_largest_remainder_then_label_name():
    # 10 slots over 3 equal labels: 3.33 each; the one leftover slot goes to the first name.
    assert label_quotas({"b": 1, "a": 1, "c": 1}, 10) == {"a": 4, "b": 3, "c": 3}
    assert label_quotas({"x": 5, "y": 3}, 4) == {"x": 3, "y": 1}  # 2.5 / 1.5 -> tie on .5, x first


# --- stratified_cap ----------------------------------------------------------------------------


def test_cap_keeps_proportions_and_original_order():
    records = make_records(["a"] * 600 + ["b"] * 300 + ["c"] * 100)
    capped = stratified_cap(records, 100, seed=0)
    assert len(capped) == 100
    assert counts(capped) == {"a": 60, "b": 30, "c": 10}
    positions = [r["i"] for r in capped]
    assert positions == sorted(positions)


def test_cap_is_deterministic_per_seed():
    records = make_records(["a", "b"] * 500)
    first = stratified_cap(records, 50, seed=3)
    assert first == stratified_cap(records, 50, seed=3)
    assert first != stratified_cap(records, 50, seed=4)


def test_cap_at_or_above_pool_size_keeps_everything():
    records = make_records(["a", "b", "b"])
    assert stratified_cap(records, 3, seed=0) == records
    assert stratified_cap(records, 10, seed=0) == records


def test_cap_must_be_positive():
    with pytest.raises(ValueError, match="cap"):
        stratified_cap(make_records(["a"]), 0, seed=0)


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.sampled_from("abcd"), min_size=1, max_size=300),
    cap=st.integers(min_value=1, max_value=300),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_cap_property(labels, cap, seed):
    records = make_records(labels)
    capped = stratified_cap(records, cap, seed)
    assert len(capped) == min(cap, len(records))
    pool = counts(records)
    for label, n in counts(capped).items():
        # Largest remainder: every label within one of its exact proportional share.
        assert abs(n - min(cap, len(records)) * pool[label] / len(records)) < 1
    assert len({r["i"] for r in capped}) == len(capped)


# --- grouped_stratified_split ------------------------------------------------------------------


def test_split_is_stratified_by_label():
    records = make_records(["a"] * 800 + ["b"] * 200)
    train, test = grouped_stratified_split(records, 0.2, seed=0)
    assert counts(test) == {"a": 160, "b": 40}
    assert len(train) + len(test) == len(records)


def test_identical_texts_stay_on_one_side():
    texts = [f"text {i % 50}" for i in range(500)]  # every text occurs ten times
    records = make_records(["a", "b"] * 250, texts=texts)
    train, test = grouped_stratified_split(records, 0.3, seed=1)
    assert {r["text"] for r in train}.isdisjoint({r["text"] for r in test})
    assert test and train


def test_explicit_groups_stay_on_one_side_and_stay_close_to_the_fraction():
    groups = [f"episode {i // 40}" for i in range(2000)]  # 50 episodes of 40 lines
    labels = ["funny" if i % 3 == 0 else "not_funny" for i in range(2000)]
    records = make_records(labels, groups=groups)
    train, test = grouped_stratified_split(records, 0.2, seed=0, group_key="group")
    assert {r["group"] for r in train}.isdisjoint({r["group"] for r in test})
    assert len(test) == 400  # ten whole episodes
    share = counts(test)["funny"] / len(test)
    assert abs(share - 1 / 3) < 0.02


def test_with_groups_a_test_text_seen_in_train_is_dropped():
    records = make_records(["a"] * 4, texts=["same", "same", "x", "y"], groups=["g1", "g2", "g1", "g2"])
    for seed in range(10):
        train, test = grouped_stratified_split(records, 0.5, seed=seed, group_key="group")
        assert {r["text"] for r in train}.isdisjoint({r["text"] for r in test})


def test_split_is_deterministic_and_keeps_order():
    records = make_records(["a", "b", "c"] * 300)
    train, test = grouped_stratified_split(records, 0.2, seed=7)
    assert (train, test) == grouped_stratified_split(records, 0.2, seed=7)
    assert test != grouped_stratified_split(records, 0.2, seed=8)[1]
    for part in (train, test):
        positions = [r["i"] for r in part]
        assert positions == sorted(positions)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_split_fraction_must_be_a_share(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        grouped_stratified_split(make_records(["a", "b"]), fraction, seed=0)
