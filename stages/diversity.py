"""diversity: how varied the real and the synthetic training texts of one task are, and how close the
synthetic ones come to the real ones -> metrics/diversity/<task>.json
(Remote-Clique, Chamfer distance, similarity to real data, distinct-1/2 per source, each the mean over
`diversity.draws` size-matched samples with its low and high end: every source is sampled down to the
task's smallest synthetic replicate set, because these figures change with the size of a set)"""

from pathlib import Path

from synthclf.cli import run_stage
from synthclf.diversity import Embedder, describe_sources, replicate_sets
from synthclf.io import read_jsonl, write_json
from synthclf.params import load_params


def main(args):
    params = load_params()
    settings = params.diversity
    real = [r["text"] for r in read_jsonl(Path("data/real") / args.task / "train.jsonl")]
    # One list of texts per generation replicate (records without a `replicate` field: replicate 0).
    synthetic = {
        m: replicate_sets(read_jsonl(Path("data/filtered") / args.task / f"{m}.jsonl")) for m in params.methods
    }
    figures = describe_sources(real, synthetic, Embedder(settings.model), settings.top_k, settings.draws, params.seed)
    sizes = ", ".join(f"{m} {figures[m]['n_total']} in {figures[m]['replicates']} replicates" for m in synthetic)
    print(f"{args.task}: {settings.draws} samples of {figures['real']['n']} texts per source measured "
          f"(of real {len(real)}, {sizes})")
    write_json(Path("metrics/diversity") / f"{args.task}.json", figures)


if __name__ == "__main__":
    run_stage(__doc__, main, ("task", "task name"))
