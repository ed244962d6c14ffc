"""Atomic writes: readers see the old file or the new one, never half of one, and outputs are
readable by others like any file the user writes."""

import os
import stat

import pytest

from synthclf.io import atomic_write, read_json, write_json


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.json"
    write_json(path, {"version": 1})
    with pytest.raises(RuntimeError):
        with atomic_write(path) as fh:
            fh.write('{"version": 2, "trunc')
            raise RuntimeError("interrupted")
    assert read_json(path) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_outputs_get_the_usual_permissions_not_the_temporary_files_private_ones(tmp_path):
    path = tmp_path / "out.json"
    write_json(path, {"a": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
