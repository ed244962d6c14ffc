"""Kept runs, in a real git + DVC repository whose one stage writes a report, a figure and metrics."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from repo_helpers import commit_all, init_repo, run, tool_env

from synthclf.errors import SynthclfError
from synthclf.runs import keep_run

WRITE_RESULTS = (
    "import pathlib, yaml; n = yaml.safe_load(open('params.yaml'))['per_label']; "
    "p = pathlib.Path('reports/figures'); p.mkdir(parents=True, exist_ok=True); "
    "(p / 'scores.png').write_bytes(b'png'); "
    "pathlib.Path('reports/report.md').write_text(f'# Report\\n\\n![scores](figures/scores.png) {n}\\n'); "
    "pathlib.Path('metrics').mkdir(exist_ok=True); pathlib.Path('metrics/summary.json').write_text(str(n))"
)
DVC_YAML = {
    "stages": {
        "analyze": {
            "cmd": f'{sys.executable} -c "{WRITE_RESULTS}"',
            "params": ["per_label"],
            "metrics": [{"metrics/summary.json": {"cache": False}}],
            "outs": [{"reports/report.md": {"cache": False}}, {"reports/figures": {"cache": False}}],
        }
    }
}


@pytest.fixture
def finished_run(tmp_path, monkeypatch) -> Path:
    env = tool_env()
    for key in ("PATH", "PYTHONPATH", "DVC_NO_ANALYTICS"):
        monkeypatch.setenv(key, env[key])
    init_repo(tmp_path, env)
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(DVC_YAML))
    (tmp_path / "params.yaml").write_text("per_label: 12\n")
    run(["dvc", "repro", "-q"], tmp_path, env)
    commit_all(tmp_path, env, "a run")
    return tmp_path


def test_keeps_report_figures_metrics_params_and_lock(finished_run):
    kept = keep_run("twelve", finished_run)
    assert kept == finished_run / "reports" / "runs" / "twelve"
    report = (kept / "report.md").read_text()
    assert report.startswith("> Kept run `twelve`") and "![scores](figures/scores.png) 12" in report
    assert (kept / "figures" / "scores.png").read_bytes() == b"png"
    assert (kept / "metrics" / "summary.json").read_text() == "12"
    assert yaml.safe_load((kept / "params.yaml").read_text()) == {"per_label": 12}
    assert "analyze" in (kept / "dvc.lock").read_text()
    assert sorted(p.name for p in kept.parent.iterdir()) == ["twelve"]  # no staging folder left


def test_keeps_the_per_task_metrics_of_the_run_s_tasks_only(finished_run):
    # Files of another run's tasks that git keeps in the workspace (the default run's, say).
    (finished_run / "params.yaml").write_text("per_label: 12\ntasks: [imdb]\n")
    for name in ("eval/imdb.json", "eval/bbc_news.json", "filter/imdb-few_shot.json", "filter/bbc_news-few_shot.json"):
        (finished_run / "metrics" / name).parent.mkdir(parents=True, exist_ok=True)
        (finished_run / "metrics" / name).write_text("{}")
    kept = keep_run("imdb_only", finished_run)
    assert sorted(str(p.relative_to(kept / "metrics")) for p in (kept / "metrics").rglob("*.json")) == [
        "eval/imdb.json", "filter/imdb-few_shot.json", "summary.json"]


def test_refuses_results_that_do_not_match_the_params(finished_run):
    (finished_run / "params.yaml").write_text("per_label: 20\n")
    with pytest.raises(SynthclfError, match=r"out of date for 1 stage\(s\), e.g. analyze"):
        keep_run("twenty", finished_run)
    assert not (finished_run / "reports" / "runs").exists()


def test_refuses_a_bad_name_or_an_existing_run_unless_forced(finished_run):
    with pytest.raises(SynthclfError, match="run name '../x'"):
        keep_run("../x", finished_run)
    keep_run("twelve", finished_run)
    with pytest.raises(SynthclfError, match="exists: choose another name or pass --force"):
        keep_run("twelve", finished_run)
    (finished_run / "reports" / "runs" / "twelve" / "stray.txt").write_text("old")
    kept = keep_run("twelve", finished_run, force=True)
    assert not (kept / "stray.txt").exists() and (kept / "report.md").exists()


def test_command_line_reports_a_missing_run_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "synthclf.commands", "keep-run", "first"], cwd=tmp_path, env=tool_env(),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr == "error: no finished run to keep in .: reports/report.md is missing (run dvc repro first)\n"
