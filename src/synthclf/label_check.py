"""Does each synthetic text express the label it was asked for? Two independent checks: a
confident-learning pass (cleanlab) over cross-validated probabilities of a classifier on sentence
embeddings, and an LLM-as-judge pass through the same LLM client. Their agreement is reported,
because each has blind spots: cleanlab trusts the majority of the set, the judge trusts the LLM."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from synthclf.generation import ChatModel, request_seed
from synthclf.llm import BadResponse, as_is
from synthclf.params import LabelCheckParams
from synthclf.tasks import Task

Embed = Callable[[Sequence[str]], np.ndarray]
JUDGE_PROMPT = (
    "Which of these labels fits the text best?\n{options}\n\nText: \"{text}\"\n\n"
    "Answer with the label name only."
)
MAX_FOLDS = 5


def cleanlab_flags(embeddings: np.ndarray, labels: Sequence[str], label_names: Sequence[str], seed: int) -> list[bool] | None:
    """True for each text whose given label cleanlab finds likely wrong; None when some label has
    fewer than two examples (no cross-validation possible)."""
    # Imported here: cleanlab and scikit-learn take seconds to load, and the check is off by default.
    from cleanlab.filter import find_label_issues
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y = np.array([label_names.index(label) for label in labels])
    counts = np.bincount(y, minlength=len(label_names))
    present = counts[counts > 0]
    if len(present) < 2 or present.min() < 2:
        return None
    folds = StratifiedKFold(n_splits=int(min(MAX_FOLDS, present.min())), shuffle=True, random_state=seed)
    probs = cross_val_predict(LogisticRegression(max_iter=1000), embeddings, y, cv=folds, method="predict_proba")
    # cross_val_predict orders columns by the classes present; cleanlab wants one per label id.
    full = np.zeros((len(y), len(label_names)))
    full[:, np.flatnonzero(counts)] = probs
    return [bool(flag) for flag in find_label_issues(labels=y, pred_probs=full)]


def parse_judgement(answer: str, label_names: Sequence[str]) -> str:
    """The label the judge named first; BadResponse if it named none."""
    text = answer.lower()
    found = [(m.start(), name) for name in label_names if (m := re.search(rf"\b{re.escape(name.lower())}\b", text))]
    if not found:
        raise BadResponse("the answer names no label")
    return min(found)[1]


def judge_labels(task: Task, texts: Sequence[str], llm: ChatModel, seed: int) -> list[str | None]:
    """The label the LLM reads in each text (None where it gave no usable answer)."""
    names = list(task.labels)
    options = "\n".join(f"- {name}: {description}" for name, description in task.labels.items())

    def parse(content: str) -> str:
        return parse_judgement(content, names)

    async def run() -> list[str | None]:
        return await asyncio.gather(
            *(
                llm.complete(
                    [{"role": "system", "content": task.prompts.context},
                     {"role": "user", "content": JUDGE_PROMPT.format(options=options, text=text)}],
                    seed=request_seed(seed, i), index=i, parse=parse, cut=as_is,
                )
                for i, text in enumerate(texts)
            )
        )

    return asyncio.run(run())


def agreement(cleanlab: Sequence[bool], judge: Sequence[bool]) -> dict[str, Any]:
    """How often the two checks flag the same texts: raw agreement and Cohen's kappa."""
    from sklearn.metrics import cohen_kappa_score

    a, b = np.array(cleanlab), np.array(judge)
    kappa = cohen_kappa_score(a, b) if len(set(a) | set(b)) > 1 else None
    return {
        "flagged_by_both": int((a & b).sum()),
        "only_cleanlab": int((a & ~b).sum()),
        "only_llm_judge": int((~a & b).sum()),
        "agreement": float((a == b).mean()) if len(a) else None,
        "cohen_kappa": None if kappa is None or np.isnan(kappa) else float(kappa),
    }


def check_labels(
    records: Sequence[dict[str, Any]],
    task: Task,
    params: LabelCheckParams,
    seed: int,
    embed: Embed | None = None,
    judge: Callable[[Sequence[str]], list[str | None]] | None = None,
) -> tuple[list[bool], dict[str, Any]]:
    """Run the enabled checks on ``records``; return which to drop (per ``params.drop``) and a report."""
    texts = [r["text"] for r in records]
    labels = [r["label"] for r in records]
    flags: dict[str, list[bool]] = {}
    report: dict[str, Any] = {}
    if params.cleanlab:
        assert embed is not None, "the cleanlab check needs an embedder"
        found = cleanlab_flags(embed(texts), labels, list(task.labels), seed) if records else None
        report["cleanlab_flagged"] = sum(found) if found is not None else None
        if found is not None:
            flags["cleanlab"] = found
    if params.llm_judge:
        assert judge is not None, "the LLM-judge check needs an LLM"
        judged = judge(texts)
        flags["llm_judge"] = [j is not None and j != label for j, label in zip(judged, labels)]
        report["llm_judge_flagged"] = sum(flags["llm_judge"])
        report["llm_judge_unanswered"] = judged.count(None)
    if "cleanlab" in flags and "llm_judge" in flags:
        report["agreement"] = agreement(flags["cleanlab"], flags["llm_judge"])
    none = [False] * len(records)
    by = {name: flags.get(name, none) for name in ("cleanlab", "llm_judge")}
    drop = {
        "none": none,
        "cleanlab": by["cleanlab"],
        "llm_judge": by["llm_judge"],
        "either": [a or b for a, b in zip(by["cleanlab"], by["llm_judge"])],
        "both": [a and b for a, b in zip(by["cleanlab"], by["llm_judge"])],
    }[params.drop]
    return drop, report
