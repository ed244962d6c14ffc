"""vader_ratings: Hutto & Gilbert (ICWSM 2014) sentences, each rated -4..+4 by about 20 people, from the
``vadersentiment`` sdist."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synthclf.corpora.archives import decode, lines, tar_member, tar_members
from synthclf.corpora.options import with_defaults
from synthclf.errors import SynthclfError
from synthclf.raw_data import RawData, Row

VADER_BUNDLE = "additional_resources/hutto_ICWSM_2014.tar.gz"
VADER_DIR = "hutto_ICWSM_2014/"


def read_vader_ratings(archive: Path, options: dict[str, Any]) -> RawData:
    """Positive/negative by the mean rating; items with |mean| < neutral_band are not clearly either
    and are dropped. Every rater's own label goes to ``annotations``; ``agreement`` is the share of
    raters whose label is the item's."""
    opts = with_defaults(options, {"file": "movieReviewSnippets", "neutral_band": 0.5}, f"{archive.name} options")
    band = opts["neutral_band"]
    if not isinstance(band, (int, float)) or isinstance(band, bool) or band < 0:
        raise SynthclfError(f"{archive.name} options: neutral_band must be a number >= 0, got {band!r}")
    (truth_where, truth), (ratings_where, ratings_file) = _bundle_files(archive, opts["file"])
    texts = _texts(truth, truth_where)
    rows = []
    for item_id, ratings in _ratings(ratings_file, ratings_where):
        # The mean of the raw ratings, not the file's column: for some tweets GroundTruth's mean differs.
        mean = sum(ratings) / len(ratings)
        if abs(mean) < band:
            continue
        if item_id not in texts:
            raise SynthclfError(f"{ratings_where}: id {item_id} has no text in {truth_where}")
        rows.append(_rated_row(texts[item_id], "positive" if mean > 0 else "negative", ratings))
    return RawData(where=f"{archive.name}!{opts['file']}", train=rows)


def _bundle_files(archive: Path, name: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """``(location, content)`` of the GroundTruth and the ratings file of one data set in the bundle."""
    where = f"{archive.name}!{VADER_BUNDLE}"
    bundle = tar_member(archive, archive.name, VADER_BUNDLE)
    files = dict(tar_members(bundle, where, lambda member: member.startswith(VADER_DIR) and member.endswith(".txt")))
    wanted = [f"{VADER_DIR}{name}_{kind}.txt" for kind in ("GroundTruth", "anonDataRatings")]
    if not all(member in files for member in wanted):
        choices = sorted({m[len(VADER_DIR) :].split("_")[0] for m in files if m.endswith("_GroundTruth.txt")})
        raise SynthclfError(f"{archive.name} options: file '{name}' not in the bundle (choose: {', '.join(choices)})")
    truth, ratings = ((f"{where}!{member}", decode(files[member], "cp1252")) for member in wanted)
    return truth, ratings


def _rated_row(text: str, label: str, ratings: list[int]) -> Row:
    votes = ["positive" if r > 0 else "negative" if r < 0 else "neutral" for r in ratings]
    return {"text": text, "label": label, "agreement": votes.count(label) / len(votes), "annotations": votes}


def _texts(content: str, where: str) -> dict[str, str]:
    """id -> text from a GroundTruth file: ``id <TAB> mean <TAB> text``."""
    texts = {}
    for number, line in enumerate(lines(content), 1):
        if line.strip():
            fields = line.split("\t", 2)
            if len(fields) != 3:
                raise SynthclfError(f"{where}:{number}: expected id, mean and text separated by tabs")
            texts[fields[0].strip()] = fields[2]
    return texts


def _ratings(content: str, where: str) -> Iterator[tuple[str, list[int]]]:
    """``(id, raw ratings)`` from a ratings file: ``id <TAB> mean <TAB> sd <TAB> [r1, r2, ...]``."""
    for number, line in enumerate(lines(content), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            ratings = json.loads(fields[3])
        except (IndexError, json.JSONDecodeError):
            ratings = None
        if not isinstance(ratings, list) or not ratings or not all(isinstance(r, int) for r in ratings):
            raise SynthclfError(f"{where}:{number}: expected id, mean, sd and a [list] of integer ratings")
        yield fields[0].strip(), ratings
