"""Label consistency: cleanlab finds planted label errors, the LLM judge's answers are parsed
robustly, and the drop policy removes exactly what params say."""

import numpy as np
import pytest
from params_helpers import repo_params

from synthclf.filters import filter_synthetic
from synthclf.label_check import agreement, check_labels, cleanlab_flags, judge_labels, parse_judgement
from synthclf.llm import BadResponse
from synthclf.params import FilterParams, LabelCheckParams
from test_prompts_generation import TASK


def clusters(n_per_label: int, planted: list[int]) -> tuple[np.ndarray, list[str]]:
    """Two well separated clouds, positive then negative; the indices in ``planted`` carry the other label."""
    rng = np.random.default_rng(0)
    points = np.vstack([rng.normal(+3, 0.5, (n_per_label, 4)), rng.normal(-3, 0.5, (n_per_label, 4))])
    labels = ["positive"] * n_per_label + ["negative"] * n_per_label
    for i in planted:
        labels[i] = "negative" if labels[i] == "positive" else "positive"
    return points, labels


def test_cleanlab_finds_the_planted_label_errors():
    points, labels = clusters(20, planted=[3, 27])
    flags = cleanlab_flags(points, labels, list(TASK.labels), seed=0)
    assert [i for i, f in enumerate(flags) if f] == [3, 27]


def test_cleanlab_needs_two_examples_of_each_present_label():
    points, labels = clusters(3, planted=[])
    assert cleanlab_flags(points[:4], labels[:3] + ["negative"], list(TASK.labels), seed=0) is None


@pytest.mark.parametrize(
    ("answer", "label"),
    [("positive", "positive"), ("The label is: Negative.", "negative"), ("negative, not positive", "negative")],
)
def test_the_judge_answer_names_the_first_label(answer, label):
    assert parse_judgement(answer, list(TASK.labels)) == label


def test_an_answer_without_a_label_is_a_bad_response():
    with pytest.raises(BadResponse):
        parse_judgement("I cannot tell.", ["positive", "negative"])


class JudgeModel:
    """Reads 'pos' in a text as positive; says nothing useful about texts containing '??'."""

    model_id = "judge"

    async def complete(self, messages, *, seed, index, parse=None, cut=None):
        text = messages[-1]["content"].split("Text:")[1]
        if "??" in text:
            return None
        answer = "positive" if "pos" in text else "Label: negative"
        return parse(answer) if parse else answer


def test_judge_labels_asks_once_per_text():
    assert judge_labels(TASK, ["pos one", "neg two", "?? three"], JudgeModel(), seed=0) == ["positive", "negative", None]


def test_agreement_counts_and_kappa():
    report = agreement([True, True, False, False], [True, False, False, False])
    assert report["flagged_by_both"] == 1 and report["only_cleanlab"] == 1 and report["only_llm_judge"] == 0
    assert report["agreement"] == 0.75
    assert report["cohen_kappa"] == pytest.approx(0.5)


@pytest.mark.parametrize(("drop", "dropped"), [("none", []), ("cleanlab", [3]), ("llm_judge", [3, 5]), ("both", [3]), ("either", [3, 5])])
def test_drop_policy(drop, dropped):
    points, labels = clusters(6, planted=[3])
    texts = [("pos" if i < 6 else "neg") + f" text {i}" for i in range(12)]
    texts[5] = "neg text, mislabelled"
    records = [{"text": t, "label": label} for t, label in zip(texts, labels)]
    by_text = dict(zip(texts, points))
    params = repo_params(LabelCheckParams, cleanlab=True, llm_judge=True, drop=drop)
    wrong, report = check_labels(records, TASK, params, seed=0, embed=lambda ts: np.array([by_text[t] for t in ts]),
                                 judge=lambda ts: judge_labels(TASK, ts, JudgeModel(), seed=0))
    assert [i for i, w in enumerate(wrong) if w] == dropped
    assert report["llm_judge_flagged"] == 2 and "agreement" in report


def test_filter_counts_label_issues_and_rebalances():
    records = [{"text": f"a long enough text number {i}", "label": "positive" if i % 2 else "negative"} for i in range(6)]
    kept, counts = filter_synthetic(records, repo_params(FilterParams), check_labels=lambda rs: ([r["label"] == "positive" for r in rs], {"x": 1}))
    assert counts["removed"]["label_issue"] == 3 and counts["kept"] == 3
    assert counts["kept_per_label"] == {"negative": 3, "positive": 0}
    assert counts["label_check"] == {"x": 1}


def test_dropping_by_a_switched_off_check_is_refused():
    with pytest.raises(ValueError, match="llm_judge"):
        LabelCheckParams(cleanlab=True, llm_judge=False, drop="either", max_tokens=48)
