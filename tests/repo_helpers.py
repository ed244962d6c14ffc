"""Real commands in temporary git + DVC repositories, with the code under test on the path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tool_env(**extra: str) -> dict[str, str]:
    """The environment for subprocesses: this interpreter's tools first, this checkout's ``src`` first,
    a git identity for commits, no hub, and no DVC usage reports."""
    python_path = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": python_path,
        "HF_HUB_OFFLINE": "1",
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "synthclf tests",
        "GIT_AUTHOR_EMAIL": "tests@synthclf.invalid",
        "GIT_COMMITTER_NAME": "synthclf tests",
        "GIT_COMMITTER_EMAIL": "tests@synthclf.invalid",
        **extra,
    }


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run ``cmd``, fail the test with its output if it fails, return stdout and stderr together."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def init_repo(path: Path, env: dict[str, str]) -> None:
    run(["git", "init", "-q"], path, env)
    run(["dvc", "init", "-q"], path, env)


def commit_all(path: Path, env: dict[str, str], message: str) -> None:
    run(["git", "add", "-A"], path, env)
    run(["git", "commit", "-q", "-m", message], path, env)


def synthclf(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """Run ``synthclf ARGS`` (this checkout's) in ``cwd`` without failing: the test checks the outcome."""
    return subprocess.run([sys.executable, "-m", "synthclf.commands", *args], cwd=cwd, env=tool_env(**env),
                          capture_output=True, text=True, check=False)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The error line of a failed command, after checking it failed as every synthclf command does."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr.strip()
