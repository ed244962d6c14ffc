"""Does near-duplicate removal scale linearly? Times the filter stage's MinHash signatures and LSH pass
on 10k and 100k made-up texts and prints both times and their ratio (linear would be 10x).

The texts look like LLM output at scale: 8-40 words drawn from a Zipf-shaped vocabulary, and a share
of them copies of an earlier text with a few words replaced, inserted or deleted, as a model that
repeats itself writes.

    python benchmarks/near_duplicates.py --sizes 10000 100000 --near-share 0.2
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from synthclf.filters import near_duplicates, signatures
from synthclf.params import FilterParams, load_section

# The filter settings of the project's params.yaml, as the filter stage uses them.
PARAMS_FILE = Path(__file__).resolve().parents[1] / "params.yaml"

SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "to", "vel", "an", "dor", "is", "pu", "que", "ta", "ber", "on", "el"]


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """``size`` made-up words in a random order, which is also their Zipf frequency rank."""
    words = sorted({"".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))) for _ in range(size * 3)})
    rng.shuffle(words)
    return words[:size]


def _edited(text: str, rng: random.Random, words: list[str], weights: list[float]) -> str:
    tokens = text.split()
    for _ in range(rng.randint(1, 3)):
        position = rng.randrange(len(tokens))
        edit = rng.choice(("replace", "insert", "delete"))
        if edit == "delete" and len(tokens) > 8:
            del tokens[position]
        elif edit == "insert":
            tokens.insert(position, rng.choices(words, weights)[0])
        else:
            tokens[position] = rng.choices(words, weights)[0]
    return " ".join(tokens)


def make_texts(n: int, near_share: float, seed: int = 0) -> list[str]:
    """``n`` texts, about ``near_share`` of them light edits of an earlier one; the same on every run."""
    rng = random.Random(seed)
    words = vocabulary(5000, rng)
    weights = [1 / rank for rank in range(1, len(words) + 1)]
    texts: list[str] = []
    for _ in range(n):
        if texts and rng.random() < near_share:
            texts.append(_edited(rng.choice(texts), rng, words, weights))
        else:
            texts.append(" ".join(rng.choices(words, weights, k=rng.randint(8, 40))))
    return texts


def time_filter(texts: list[str], params: FilterParams) -> tuple[float, float, float, int]:
    """Wall seconds for the signatures and for the LSH pass, CPU seconds for both, and how many
    texts it dropped. CPU time is the figure to compare on a machine other work shares."""
    start, cpu_start = time.perf_counter(), time.process_time()
    sigs = signatures(texts, params.minhash)
    hashed = time.perf_counter()
    dropped = near_duplicates(dict(enumerate(sigs)), params)
    return hashed - start, time.perf_counter() - hashed, time.process_time() - cpu_start, len(dropped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--near-share", type=float, default=0.2)
    args = parser.parse_args()
    params = load_section(FilterParams, "filter", PARAMS_FILE)
    print(f"num_perm {params.minhash.num_perm}, ngram {params.minhash.ngram}, threshold {params.near_duplicates.threshold}")
    walls, cpus = [], []
    for n in args.sizes:
        hashing, lsh, cpu, dropped = time_filter(make_texts(n, args.near_share), params)
        walls.append(hashing + lsh)
        cpus.append(cpu)
        print(
            f"{n:>7} texts: {hashing + lsh:7.2f} s wall (signatures {hashing:.2f} s, LSH {lsh:.2f} s), "
            f"{cpu:.2f} s CPU, {dropped} near-duplicates dropped"
        )
    for i in range(1, len(args.sizes)):
        print(
            f"{args.sizes[i] / args.sizes[i - 1]:.0f}x the texts took {walls[i] / walls[i - 1]:.1f}x the wall time, "
            f"{cpus[i] / cpus[i - 1]:.1f}x the CPU time"
        )


if __name__ == "__main__":
    main()
