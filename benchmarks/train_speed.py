"""How fast does the encoder classifier fine-tune and predict here?

Runs the project's own path (``train_classifier`` with the Trainer, then ``load_classifier`` and
``predict_proba``) on N made-up sentences that look like LLM-written training data, and prints
examples per second for both. Device-agnostic: it uses a GPU when torch sees one and says which.

    python benchmarks/train_speed.py --n 512 --max-length 64 --batch-size 32
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from synthclf.classifiers import PACKAGED_MODEL_NAMES, load_classifier, train_classifier
from synthclf.params import TrainParams, load_section

# Every setting the command line does not change comes from the project's params.yaml.
PARAMS_FILE = Path(__file__).resolve().parents[1] / "params.yaml"

# Four topics, each with its own words, combined into sentences of 25-45 words so that a max_length of
# 64 tokens is mostly used, as with the paragraph-long texts an LLM writes when asked for examples.
TOPICS = {
    "business": ["market", "shares", "investors", "profit", "quarterly earnings", "the central bank"],
    "sports": ["the striker", "the final", "the coach", "the league title", "the crowd", "a late goal"],
    "science": ["researchers", "the telescope", "a new vaccine", "the experiment", "climate data", "the lab"],
    "world": ["the minister", "the election", "peace talks", "the border", "protesters", "the summit"],
}
OPENERS = ["In a surprising turn,", "According to reports,", "Earlier this week,", "Observers said", "Today"]
VERBS = ["announced", "criticised", "welcomed", "surprised", "changed", "discussed", "questioned", "boosted"]
FILLER = [
    "after months of speculation",
    "despite strong opposition",
    "for the first time in years",
    "as expected by most analysts",
    "which drew attention across the country",
    "amid growing concern",
]


def make_sentences(n: int, seed: int) -> tuple[list[str], list[str]]:
    """``n`` labelled sentences, classes in turn so every class is equally represented."""
    rng = random.Random(seed)
    names = sorted(TOPICS)
    texts, labels = [], []
    for i in range(n):
        label = names[i % len(names)]
        words = TOPICS[label]
        parts = [rng.choice(OPENERS)]
        target_words = rng.randint(25, 45)
        while len(" ".join(parts).split()) < target_words:
            parts += [rng.choice(words), rng.choice(VERBS), rng.choice(words), rng.choice(FILLER) + ","]
        texts.append(" ".join(parts).rstrip(",") + ".")
        labels.append(label)
    return texts, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="number of sentences (default 512)")
    parser.add_argument("--max-length", type=int, default=64, help="tokens per text (default 64)")
    parser.add_argument("--batch-size", type=int, default=32, help="train and predict batch (default 32)")
    parser.add_argument("--epochs", type=float, default=1, help="fine-tuning epochs (default 1)")
    parser.add_argument("--model", default=PACKAGED_MODEL_NAMES[0], help="hub id or local path")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    texts, labels = make_sentences(args.n, args.seed)
    params = load_section(
        TrainParams, "train", PARAMS_FILE,
        classifiers=["encoder"],
        encoder={"model": args.model, "epochs": args.epochs, "batch_size": args.batch_size, "max_length": args.max_length},
    )
    with tempfile.TemporaryDirectory(prefix="synthclf-bench-") as tmp:
        out = Path(tmp) / "model"
        start = time.perf_counter()
        info = train_classifier("encoder", texts, labels, sorted(TOPICS), params, args.seed, out)
        train_seconds = time.perf_counter() - start
        clf = load_classifier(out)
        # One small batch first, so one-off start-up costs (kernels, allocator) stay out of the timing.
        clf.predict_proba(texts[: args.batch_size])
        start = time.perf_counter()
        predictions = clf.predict(texts)
        infer_seconds = time.perf_counter() - start

    encoded = clf.tokenizer(texts, truncation=True, max_length=args.max_length)
    tokens = [len(ids) for ids in encoded["input_ids"]]
    accuracy = sum(p == y for p, y in zip(predictions, labels)) / len(labels)
    device = str(clf.device)
    if device.startswith("cuda"):
        device += f" ({torch.cuda.get_device_name()})"
    else:
        device += f" ({torch.get_num_threads()} threads)"
    print(f"device            {device}")
    print(f"model             {args.model}")
    mean_tokens = sum(tokens) / len(tokens)
    print(f"examples          {args.n}, mean {mean_tokens:.1f} tokens (max_length {args.max_length})")
    print(f"batch size        {info['batch_size']}, epochs {args.epochs:g}")
    train_rate = args.n * args.epochs / train_seconds
    print(f"fine-tuning       {train_seconds:.1f} s, {train_rate:.1f} examples/s")
    print(f"inference         {infer_seconds:.2f} s, {args.n / infer_seconds:.1f} examples/s")
    print(f"training accuracy {accuracy:.3f} (a sanity check, not a score)")


if __name__ == "__main__":
    main()
