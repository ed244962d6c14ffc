"""Classifiers: real models on tiny data sets, trained, saved, loaded back and asked to predict."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from params_helpers import repo_params

from synthclf.classifiers import load_classifier, train_classifier, validation_split
from synthclf.errors import SynthclfError
from synthclf.params import EarlyStoppingParams, TrainParams

SPORTS = [
    "The striker scored twice in the final match",
    "Our team won the championship game last night",
    "The goalkeeper saved a penalty in extra time",
    "She ran the marathon in record time",
    "The coach praised the players after the victory",
    "Fans cheered as the referee blew the whistle",
    "He hit a home run in the ninth inning",
    "The tennis star won the match in straight sets",
    "The basketball team lost by three points",
    "The cyclist crossed the finish line first",
]
COOKING = [
    "Stir the sauce and let it simmer for ten minutes",
    "Bake the bread until the crust is golden",
    "Chop the onions and fry them in butter",
    "Add a pinch of salt to the boiling pasta water",
    "Whisk the eggs with sugar and flour",
    "Roast the chicken with garlic and rosemary",
    "The soup needs more pepper and fresh herbs",
    "Slice the tomatoes and season the salad",
    "Melt the chocolate slowly over low heat",
    "Knead the dough and let it rise for an hour",
]
# 40 training sentences, two classes; "weather" is a label of the task with no training example, as
# when the LLM failed to write any usable text for a class.
TEXTS = SPORTS * 2 + COOKING * 2
LABELS = ["sports"] * 20 + ["cooking"] * 20
LABEL_NAMES = ["weather", "sports", "cooking"]
# New sentences, made of words the training sentences use, so that even bag-of-words can tell them apart.
HELD_OUT = [
    ("The goalkeeper praised the fans after the match", "sports"),
    ("The team won the game in extra time", "sports"),
    ("Roast the onions with garlic and butter", "cooking"),
    ("Stir the eggs into the sauce over low heat", "cooking"),
]

TFIDF = repo_params(TrainParams, classifiers=["tfidf_lr"], tfidf_lr={"C": 10.0, "ngram_max": 2})
ENCODER = repo_params(
    TrainParams,
    classifiers=["encoder"],
    encoder={"epochs": 4, "batch_size": 8, "learning_rate": 2e-4, "max_length": 32, "early_stopping": None},
)


def test_tfidf_learns_and_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "model"
    info = train_classifier("tfidf_lr", TEXTS, LABELS, ["sports", "cooking"], TFIDF, 0, out)
    assert info["n_train"] == 40 and info["kind"] == "tfidf_lr"
    assert json.loads((out / "info.json").read_text()) == info

    clf = load_classifier(out)
    assert clf.label_names == ["cooking", "sports"]
    texts = [t for t, _ in HELD_OUT]
    assert clf.predict(texts) == [label for _, label in HELD_OUT]
    assert clf.predict(TEXTS) == LABELS
    proba = clf.predict_proba(texts)
    assert proba.shape == (4, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


# Trains the TF-IDF baseline in a fresh interpreter: what a dvc repro in another process would write.
TFIDF_CHILD = """
import sys
from test_classifiers import LABELS, TEXTS, TFIDF
from synthclf.classifiers import train_classifier
train_classifier("tfidf_lr", TEXTS, LABELS, ["sports", "cooking"], TFIDF, 0, sys.argv[1])
"""


def test_tfidf_model_files_are_the_same_bytes_in_every_process(tmp_path: Path) -> None:
    """DVC tracks the model folder's hash: a warm re-run must not change dvc.lock."""
    for run, hash_seed in (("a", "1"), ("b", "2")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed,
               "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
        subprocess.run([sys.executable, "-c", TFIDF_CHILD, str(tmp_path / run)], env=env, check=True)
    assert folder_bytes(tmp_path / "a") == folder_bytes(tmp_path / "b")


def test_tfidf_keeps_a_column_for_a_class_missing_from_training(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="synthclf.classifiers"):
        info = train_classifier("tfidf_lr", TEXTS, LABELS, LABEL_NAMES, TFIDF, 0, tmp_path / "m")
    assert "'weather'" in caplog.text
    assert info["class_counts"] == {"cooking": 20, "sports": 20, "weather": 0}

    clf = load_classifier(tmp_path / "m")
    assert clf.label_names == ["cooking", "sports", "weather"]
    proba = clf.predict_proba([t for t, _ in HELD_OUT])
    assert proba.shape == (4, 3)
    assert np.all(proba[:, 2] == 0)
    assert clf.predict_proba([]).shape == (0, 3)
    assert clf.predict([]) == []


def test_retraining_replaces_the_previous_classifier(tmp_path: Path) -> None:
    out = tmp_path / "m"
    train_classifier("tfidf_lr", TEXTS, LABELS, ["sports", "cooking"], TFIDF, 0, out)
    (out / "stale.txt").write_text("from an earlier run")
    train_classifier("tfidf_lr", TEXTS[:30], LABELS[:30], ["sports", "cooking"], TFIDF, 0, out)
    assert not (out / "stale.txt").exists()
    assert load_classifier(out).info["n_train"] == 30
    # No staging directories are left beside the output.
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


@pytest.mark.parametrize(
    ("texts", "labels", "names", "message"),
    [
        ([], [], ["a", "b"], "empty"),
        (["x", "y"], ["a", "c"], ["a", "b"], "'c' are not among the label names"),
        (["x", "y"], ["a"], ["a", "b"], "2 texts but 1 labels"),
        (["x", "y"], ["a", "b"], ["a"], "at least two label names"),
        (["x", "y"], ["a", "b"], ["a", "b", "a"], "repeat"),
    ],
)
def test_degenerate_training_data_is_a_user_error(
    tmp_path: Path, texts: list[str], labels: list[str], names: list[str], message: str
) -> None:
    with pytest.raises(SynthclfError, match=message):
        train_classifier("tfidf_lr", texts, labels, names, TFIDF, 0, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_a_single_class_trains_a_classifier_that_always_predicts_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # As when a strict label filter kept the examples of one class only: the run must go on and score it.
    with caplog.at_level(logging.WARNING, logger="synthclf.classifiers"):
        train_classifier("tfidf_lr", SPORTS, ["sports"] * len(SPORTS), LABEL_NAMES, TFIDF, 0, tmp_path / "m")
    assert "single class ('sports')" in caplog.text
    clf = load_classifier(tmp_path / "m")
    texts = [text for text, _ in HELD_OUT]
    assert clf.predict(texts) == ["sports"] * len(texts)
    np.testing.assert_allclose(clf.predict_proba(texts), [[0.0, 1.0, 0.0]] * len(texts))


def test_unknown_kind_and_missing_model_dir(tmp_path: Path) -> None:
    with pytest.raises(SynthclfError, match="unknown classifier kind 'svm'"):
        train_classifier("svm", TEXTS, LABELS, ["sports", "cooking"], TFIDF, 0, tmp_path / "m")
    with pytest.raises(SynthclfError, match="not a trained classifier"):
        load_classifier(tmp_path / "nothing")


def test_refuses_to_overwrite_a_folder_that_is_not_a_classifier(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(SynthclfError, match="refusing to replace"):
        train_classifier("tfidf_lr", TEXTS, LABELS, ["sports", "cooking"], TFIDF, 0, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_hub_model_offline_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    # Never touch the network from tests, whatever the caller's environment says.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    params = repo_params(TrainParams, classifiers=["encoder"], encoder={"model": "no-such-org/no-such-model"})
    with pytest.raises(SynthclfError, match="'no-such-org/no-such-model' is not a local path and the hub"):
        train_classifier("encoder", TEXTS, LABELS, ["sports", "cooking"], params, 0, tmp_path / "m")
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_encoder_fine_tunes_saves_loads_and_is_deterministic(tmp_path: Path) -> None:
    info = train_classifier("encoder", TEXTS, LABELS, LABEL_NAMES, ENCODER, 0, tmp_path / "a")
    assert info["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert info["n_train"] == 40 and info["epochs"] == 4
    # The model folder's hash is tracked by DVC: nothing in it may depend on the clock or the host.
    assert not {"train_seconds", "device"} & set(json.loads((tmp_path / "a" / "info.json").read_text()))
    assert (tmp_path / "a" / "config.json").is_file()

    clf = load_classifier(tmp_path / "a")
    assert clf.label_names == ["cooking", "sports", "weather"]
    texts = [t for t, _ in HELD_OUT]
    proba = clf.predict_proba(texts)
    assert proba.shape == (4, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert clf.predict(texts) == [label for _, label in HELD_OUT]
    assert clf.predict(TEXTS) == LABELS

    # Same seed, same data, same machine: the same model.
    again = train_classifier("encoder", TEXTS, LABELS, LABEL_NAMES, ENCODER, 0, tmp_path / "b")
    assert again["train_loss"] == info["train_loss"]
    np.testing.assert_allclose(load_classifier(tmp_path / "b").predict_proba(texts), proba, atol=1e-6)
    # Byte for byte, since DVC tracks the folder's hash: a warm re-run must leave dvc.lock as it was.
    assert folder_bytes(tmp_path / "b") == folder_bytes(tmp_path / "a")


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(f.relative_to(folder)): f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file()}


def test_validation_split_is_stratified_from_the_training_source_or_none_when_too_small() -> None:
    train_rows, val_rows = validation_split(LABELS, 0.25, seed=0)
    assert len(val_rows) == 10 and sorted(train_rows + val_rows) == list(range(40))
    assert sorted(LABELS[i] for i in val_rows) == ["cooking"] * 5 + ["sports"] * 5
    assert validation_split(LABELS, 0.25, seed=1) != (train_rows, val_rows)
    # One example of a label cannot be both trained on and held out; 3 examples leave no room.
    assert validation_split(["a", "a", "a", "b"], 0.25, seed=0) is None
    assert validation_split(["a", "b", "a"], 0.4, seed=0) is None


def test_encoder_early_stopping_keeps_the_best_epoch_on_held_out_training_data(tmp_path: Path) -> None:
    params = ENCODER.model_copy(update={"encoder": ENCODER.encoder.model_copy(
        update={"epochs": 6, "learning_rate": 1e-3, "early_stopping": EarlyStoppingParams(validation_fraction=0.25, patience=1)})})
    info = train_classifier("encoder", TEXTS, LABELS, LABEL_NAMES, params, 0, tmp_path / "m")
    losses = info["validation_losses"]
    assert info["validation_size"] == 10 and 1 <= len(losses) <= 6
    assert info["best_epoch"] == 1 + losses.index(min(losses))
    if len(losses) < 6:  # it stopped early: the epoch after the best did not improve on it
        assert losses[info["best_epoch"]] >= min(losses)
    assert load_classifier(tmp_path / "m").predict([t for t, _ in HELD_OUT]) == [label for _, label in HELD_OUT]
