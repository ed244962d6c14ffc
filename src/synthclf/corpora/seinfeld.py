"""seinfeld: subtitles of 96 episodes merged with the laugh track's timestamps (``seinfeld-laugh-corpus``)."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from synthclf.corpora.archives import decode, lines, tar_members
from synthclf.corpora.options import with_defaults
from synthclf.errors import SynthclfError
from synthclf.raw_data import RawData

SEINFELD_DIR = "/the_corpus/"
_TIME = re.compile(r"\d+(\.\d+)?")
_LAUGH = "**LOL**"
_HEBREW = re.compile("[\u0590-\u05ff]")


def read_seinfeld(archive: Path, options: dict[str, Any]) -> RawData:
    """One row per subtitle: ``funny`` when the laugh track answers it, grouped by episode so that a
    split never puts lines of one episode on both sides; subtitles under ``min_words`` are dropped."""
    opts = with_defaults(options, {"min_words": 4}, f"{archive.name} options")
    min_words = opts["min_words"]
    if not isinstance(min_words, int) or isinstance(min_words, bool) or min_words < 1:
        raise SynthclfError(f"{archive.name} options: min_words must be a whole number >= 1, got {min_words!r}")
    rows = []
    episodes = tar_members(archive, archive.name, lambda name: SEINFELD_DIR in name and name.endswith(".merged"))
    for name, content in sorted(episodes):
        episode = PurePosixPath(name).name.removesuffix(".merged")
        text = "\n".join(_undo_hebrew_mojibake(line) for line in lines(decode(content, "cp1252")))
        for line, funny in parse_merged_episode(text, f"{archive.name}!{name}"):
            if len(line.split()) >= min_words:
                rows.append({"text": line, "label": "funny" if funny else "not_funny", "group": episode})
    if not rows:
        raise SynthclfError(f"{archive.name}: no episodes (*.merged) under {SEINFELD_DIR}")
    return RawData(where=archive.name, train=rows, group_key="group")


def parse_merged_episode(content: str, where: str) -> list[tuple[str, bool]]:
    """``(subtitle text, funny)`` pairs of one ``.merged`` episode file.

    The file is a sequence of events. ``# NAME`` switches the speaker. A subtitle is a start time,
    one to a few text lines and an end time; a laugh is a time followed by ``**LOL**``. A subtitle
    is funny when the next event is a laugh (speaker switches in between do not count as events).
    """
    stripped = [line.strip() for line in lines(content)]
    subtitles: list[list[Any]] = []
    last_was_subtitle = False
    index = 0
    while index < len(stripped):
        line = stripped[index]
        if not line or line.startswith("# "):
            index += 1
        elif not _TIME.fullmatch(line):
            raise SynthclfError(f"{where}:{index + 1}: expected a time, a speaker (# NAME) or a laugh, got {line!r}")
        elif index + 1 < len(stripped) and stripped[index + 1] == _LAUGH:
            if last_was_subtitle:
                subtitles[-1][1] = True
            last_was_subtitle = False
            index += 2
        else:
            end = index + 1
            while end < len(stripped) and not _TIME.fullmatch(stripped[end]):
                end += 1
            if end == len(stripped) or end == index + 1:
                raise SynthclfError(f"{where}:{index + 1}: subtitle without text or without an end time")
            subtitles.append([" ".join(stripped[index + 1 : end]), False])
            last_was_subtitle = True
            index = end + 1
    return [(text, funny) for text, funny in subtitles]


def _undo_hebrew_mojibake(line: str) -> str:
    """Some subtitle files went through a Hebrew code page (cp1255): 'fiancיe' was 'fiancée',
    'maסana' was 'mañana'. Re-encoding gives the original bytes back (UTF-8 or Windows-1252)."""
    if not _HEBREW.search(line):
        return line
    try:
        original = line.encode("cp1255")
    except UnicodeEncodeError:
        return line
    try:
        return original.decode("utf-8")
    except UnicodeDecodeError:
        return original.decode("cp1252", errors="replace")
