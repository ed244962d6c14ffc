"""Params for tests: a section of the repo's params.yaml with the settings a test changes, so that no
second set of values lives in the tests (params.py has no defaults; params.yaml is their one home)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from synthclf.params import (
    AgreementProxyParams,
    AttributesParams,
    BatchParams,
    ContaminationCheck,
    DiversityParams,
    EarlyStoppingParams,
    EncoderParams,
    FilterParams,
    GenerateParams,
    IntervalParams,
    JudgeParams,
    LabelCheckParams,
    LearningCurveParams,
    LLMParams,
    LocalModel,
    MinHashParams,
    NearDuplicateCheck,
    Params,
    PrepareParams,
    Prices,
    Sampling,
    SubjectivityParams,
    TfidfParams,
    TrainParams,
    load_section,
)

ROOT = Path(__file__).resolve().parents[1]
PARAMS_FILE = ROOT / "params.yaml"
ModelT = TypeVar("ModelT", bound=BaseModel)

# Where in params.yaml each model's section lives.
WHERE: dict[type[BaseModel], str] = {
    Params: "",
    PrepareParams: "prepare",
    LLMParams: "llm",
    Prices: "llm.prices",
    BatchParams: "llm.batch",
    LocalModel: "llm.local",
    JudgeParams: "judge",
    GenerateParams: "generate",
    Sampling: "generate.sampling",
    AttributesParams: "attributes",
    FilterParams: "filter",
    MinHashParams: "filter.minhash",
    NearDuplicateCheck: "filter.near_duplicates",
    ContaminationCheck: "filter.contamination",
    LabelCheckParams: "filter.label_check",
    TrainParams: "train",
    LearningCurveParams: "train.learning_curve",
    TfidfParams: "train.tfidf_lr",
    EncoderParams: "train.encoder",
    EarlyStoppingParams: "train.encoder.early_stopping",
    DiversityParams: "diversity",
    IntervalParams: "intervals",
    SubjectivityParams: "subjectivity",
    AgreementProxyParams: "agreement_proxy",
}


def repo_params(model: type[ModelT], /, **changes: Any) -> ModelT:
    """``model``'s section of the repo's params.yaml with ``changes`` merged in: a mapping changes
    only the keys it names in a nested section; any other value replaces the setting whole."""
    return load_section(model, WHERE[model], PARAMS_FILE, **changes)


def repo_sampling(**changes: Any) -> Sampling:
    """generate.sampling with ``changes``, as the generate stage resolves it for bbc_news (a null
    max_tokens follows the task's word limit)."""
    from synthclf.generation import generation_sampling
    from synthclf.tasks import load_task

    generate = repo_params(GenerateParams, sampling=changes)
    return generation_sampling(load_task("bbc_news", ROOT / "tasks"), generate)
