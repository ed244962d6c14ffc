"""diversity: how varied the real and the synthetic training texts of one task are, and how close the
synthetic ones come to the real ones -> metrics/diversity/<task>.json
(Remote-Clique, Chamfer distance, similarity to real data, distinct-1/2 per source)"""

from pathlib import Path

from synthclf.cli import run_stage
from synthclf.diversity import Embedder, describe_sources
from synthclf.io import read_jsonl, write_json
from synthclf.params import load_params


def _texts(path: Path) -> list[str]:
    return [r["text"] for r in read_jsonl(path)]


def main(args):
    params = load_params()
    settings = params.diversity
    real = _texts(Path("data/real") / args.task / "train.jsonl")
    synthetic = {m: _texts(Path("data/filtered") / args.task / f"{m}.jsonl") for m in params.methods}
    figures = describe_sources(
        real, synthetic, Embedder(settings.model), settings.top_k, settings.max_texts, params.seed
    )
    print(f"{args.task}: " + ", ".join(f"{source} {f['n']} texts" for source, f in figures.items()) + " measured")
    write_json(Path("metrics/diversity") / f"{args.task}.json", figures)


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"))
