"""End to end: `dvc repro` of the tiny profile in a fresh git + DVC repository, against the real
embedded llama.cpp server; a second `dvc repro` that has nothing to do; and a teammate's clone that
gets everything from a DVC remote (a local directory, and a real SFTP server over `ssh://`) and asks
the LLM nothing."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from dvc.repo import Repo as DvcRepo
from repo_helpers import ROOT, commit_all, init_repo, run, tool_env
from sftp_server import SFTPServer, generate_key_pair

from synthclf.distributions import cache_root

PROJECT_FILES = ["dvc.yaml", ".gitignore", "stages", "src", "tasks", "prompts"]


def private_cache(tmp_path_factory) -> Path:
    """A synthclf cache with an empty LLM request cache (this test must really talk to the embedded
    server) that shares the user's pinned downloads (the GGUF, the corpora)."""
    downloads = cache_root() / "distributions"
    downloads.mkdir(parents=True, exist_ok=True)
    cache = tmp_path_factory.mktemp("synthclf-cache")
    (cache / "distributions").symlink_to(downloads)
    return cache


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("pipeline")
    for name in PROJECT_FILES:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, repo / name)
    params = yaml.safe_load((ROOT / "profiles" / "tiny.yaml").read_text())
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # The cache is chosen by environment, not params, so that a clone can use another one with the
    # very same params.yaml.
    env = tool_env(SYNTHCLF_CACHE_DIR=str(private_cache(tmp_path_factory)))
    init_repo(repo, env)
    first = run(["dvc", "repro"], repo, env)
    return repo, env, params, first


@pytest.mark.slow
def test_repro_produces_every_task_and_source(tiny_repo):
    repo, _, params, _ = tiny_repo
    summary = json.loads((repo / "metrics" / "summary.json").read_text())
    assert set(summary["tasks"]) == set(params["tasks"])
    for task in params["tasks"]:
        scores = summary["tasks"][task]["scores"]
        assert set(scores) == {"real", *params["methods"]}
        for source in scores.values():
            for clf in params["train"]["classifiers"]:
                s = source[clf]
                assert 0.0 <= s["macro_f1_low"] <= s["macro_f1"] <= s["macro_f1_high"] <= 1.0
                assert 0.0 <= s["accuracy_low"] <= s["accuracy"] <= s["accuracy_high"] <= 1.0
        assert set(summary["tasks"][task]["best_method"].values()) <= set(params["methods"])
    replicates = params["generate"]["replicates"]
    for task in params["tasks"]:
        real = {split: (repo / "data" / "real" / task / f"{split}.jsonl").read_text().splitlines()
                for split in ("train", "validation", "test")}
        assert all(real.values()) and not set(real["validation"]) & (set(real["train"]) | set(real["test"]))
        for method in params["methods"]:
            records = [json.loads(line) for line in (repo / "data" / "synthetic" / task / f"{method}.jsonl").open()]
            assert records and all(r["method"] == method and r["text"] for r in records)
            assert {r["replicate"] for r in records} == set(range(replicates))
            # One model per replicate (TF-IDF has no seed), each labelling validation and test.
            rows = [json.loads(line) for line in (repo / "predictions" / task / f"{method}.jsonl").open()]
            assert sorted((r["replicate"], r["split"]) for r in rows) == sorted(
                (k, split) for k in range(replicates) for split in ("validation", "test"))
            gen = json.loads((repo / "metrics" / "generate" / f"{task}-{method}.json").read_text())
            assert gen["tokens_out"] > 0 and gen["cost_usd"] == 0.0
            # What this run did depends on the cache and the clock: it is logged, never tracked.
            assert not {"requests", "cache_hits", "retries", "wall_s"} & set(gen)
            assert run_log(repo, "generate", f"{task}-{method}")["requests"] > 0
            # The tiny profile runs both label checks, the judge through the real embedded server.
            checked = json.loads((repo / "metrics" / "filter" / f"{task}-{method}.json").read_text())["label_check"]
            assert isinstance(checked["llm_judge_flagged"], int) and "cleanlab_flagged" in checked
    for task in params["tasks"]:
        diversity = json.loads((repo / "metrics" / "diversity" / f"{task}.json").read_text())
        assert set(diversity) == {"real", *params["methods"]}
        assert summary["tasks"][task]["diversity"] == diversity
        real = diversity["real"]
        assert real["n"] > 1 and 0 < real["remote_clique"] < 2 and 0 < real["chamfer"] <= real["remote_clique"]
        # Cosine similarities, up to rounding.
        assert 0 < real["similarity_to_real"] <= 1 + 1e-9 and 0 < real["distinct_2"] <= 1
        for method in params["methods"]:
            assert diversity[method]["n"] == 0 or abs(diversity[method]["similarity_to_real"]) <= 1 + 1e-9
    # movie_snippets gets the LLM-label proxy, checked against VADER's raters; seinfeld_humor does not.
    proxy = json.loads((repo / "metrics" / "agreement_proxy" / "movie_snippets.json").read_text())
    wanted = params["agreement_proxy"]
    assert proxy["items"] == wanted["max_items"] and proxy["samples"] == wanted["samples"]
    assert proxy["vs_annotators"]["n"] <= proxy["items_with_proxy"] <= proxy["items"]
    rows = [json.loads(line) for line in (repo / "data" / "agreement_proxy" / "movie_snippets.jsonl").open()]
    assert len(rows) == wanted["max_items"] and all(len(r["labels"]) == wanted["samples"] for r in rows)
    assert json.loads((repo / "metrics" / "agreement_proxy" / "seinfeld_humor.json").read_text()) == {"enabled": False}
    evaluated = json.loads((repo / "metrics" / "eval" / "movie_snippets.json").read_text())["test"]["scores"]["real"]["tfidf_lr"]
    if proxy["items_with_proxy"]:
        assert sum(p["n"] for p in evaluated["accuracy_by_proxy_agreement"].values()) > 0
    assert set(summary["agreement_proxy"]) == {"movie_snippets"}
    report = (repo / "reports" / "report.md").read_text()
    assert "## Instance level without annotators" in report
    assert re.search(r"^\| Task +\| Subjectivity +\|", report, re.MULTILINE)
    assert "Texts per sample" in report and "## Verdict per task" in report
    # Models are kept only when asked for: evaluation reads predictions.
    assert not (repo / "models").exists()
    assert (repo / "reports" / "figures" / "gap_vs_subjectivity.png").stat().st_size > 1000
    assert (repo / "dvc.lock").is_file()


@pytest.mark.slow
def test_second_repro_has_nothing_to_do(tiny_repo):
    repo, env, _, _ = tiny_repo
    out = run(["dvc", "repro"], repo, env)
    assert "Running stage" not in out
    assert "up to date" in out
    assert "changed" not in run(["dvc", "status"], repo, env)


def run_log(repo: Path, stage: str, name: str) -> dict:
    return json.loads((repo / "logs" / stage / f"{name}.json").read_text())


def tracked_outputs(repo: Path, *folders: str) -> dict[str, bytes]:
    """The bytes of every output git or DVC tracks (all of them, or those under ``folders``)."""
    roots = folders or ("dvc.lock", "data", "predictions", "metrics", "reports")
    files = [f for root in roots for f in sorted([repo / root] if (repo / root).is_file() else (repo / root).rglob("*"))]
    return {str(f.relative_to(repo)): f.read_bytes() for f in files if f.is_file()}


@pytest.mark.slow
def test_cold_generation_gives_the_same_bytes(tiny_repo, tmp_path_factory):
    """The same params, seed and GGUF from an empty LLM cache: byte-identical synthetic data."""
    repo, env, params, _ = tiny_repo
    first = tracked_outputs(repo, "data/synthetic", "metrics/generate")
    cold_env = {**env, "SYNTHCLF_CACHE_DIR": str(private_cache(tmp_path_factory))}
    run(["dvc", "repro", "--force", "--single-item", "generate"], repo, cold_env)
    for task in params["tasks"]:
        for method in params["methods"]:
            log = run_log(repo, "generate", f"{task}-{method}")
            assert log["requests"] > 0 and log["cache_hits"] == 0, "the second generation was not cold"
    assert tracked_outputs(repo, "data/synthetic", "metrics/generate") == first


@pytest.mark.slow
def test_warm_rerun_writes_the_same_tracked_outputs(tiny_repo):
    """Every stage again with every answer from the cache: the same dvc.lock, data, predictions, metrics
    and report as the cold run, byte for byte."""
    repo, env, params, _ = tiny_repo
    cold = tracked_outputs(repo)
    run(["dvc", "repro", "--force"], repo, env)
    assert run_log(repo, "generate", f"{params['tasks'][0]}-{params['methods'][0]}")["requests"] == 0
    warm = tracked_outputs(repo)
    assert sorted(warm) == sorted(cold)
    assert [name for name in cold if warm[name] != cold[name]] == []


@pytest.fixture(scope="module")
def teammate_clone(tiny_repo, tmp_path_factory):
    """The run committed and pushed (run cache included) to a local-directory remote, then cloned and
    pulled with an empty synthclf cache: no LLM answers, no model, no corpora."""
    repo, env, _, _ = tiny_repo
    storage = tmp_path_factory.mktemp("dvc-storage")
    run(["dvc", "remote", "add", "-d", "storage", str(storage)], repo, env)
    commit_all(repo, env, "tiny run")
    run(["dvc", "push", "--run-cache"], repo, env)

    clone = tmp_path_factory.mktemp("clone") / "project"
    run(["git", "clone", "-q", str(repo), str(clone)], clone.parent, env)
    empty_cache = tmp_path_factory.mktemp("teammate-cache")
    clone_env = {**env, "SYNTHCLF_CACHE_DIR": str(empty_cache)}
    run(["dvc", "pull"], clone, clone_env)
    return repo, clone, clone_env, empty_cache


@pytest.mark.slow
def test_clone_pulls_everything_and_runs_nothing(teammate_clone, tiny_repo):
    repo, clone, env, empty_cache = teammate_clone
    _, _, params, _ = tiny_repo
    for task in params["tasks"]:
        for method in params["methods"]:
            path = Path("data") / "synthetic" / task / f"{method}.jsonl"
            assert (clone / path).read_bytes() == (repo / path).read_bytes()
        assert (clone / "predictions" / task / "real.jsonl").read_bytes() == (repo / "predictions" / task / "real.jsonl").read_bytes()

    out = run(["dvc", "repro"], clone, env)
    assert "Running stage" not in out and "Data and pipelines are up to date." in out
    assert not any(empty_cache.iterdir()), "the clone opened an LLM cache or downloaded a model"
    assert run(["git", "status", "--porcelain"], clone, env) == ""


@pytest.mark.slow
def test_pulled_run_cache_restores_stages_without_running_them(teammate_clone, tiny_repo):
    _, clone, env, empty_cache = teammate_clone
    _, _, params, _ = tiny_repo
    run(["dvc", "pull", "--run-cache"], clone, env)
    # Without dvc.lock (as when a teammate ran the stages but never committed the lock) DVC looks each
    # stage up by command, dependencies and params in the pulled run cache instead of running it.
    locked = yaml.safe_load((clone / "dvc.lock").read_text())["stages"]
    (clone / "dvc.lock").unlink()
    out = run(["dvc", "repro", "train_real"], clone, env)
    assert "Running stage" not in out
    assert out.count("is cached - skipping run") == 2 * len(params["tasks"])  # prepare and train_real
    relocked = yaml.safe_load((clone / "dvc.lock").read_text())["stages"]
    assert len(relocked) == 2 * len(params["tasks"])
    assert relocked == {name: locked[name] for name in relocked}
    assert not any(empty_cache.iterdir())


# The same team workflow over a real SSH remote: dvc-ssh (the `dvc[ssh]` extra) against an SFTP server
# on 127.0.0.1 with key authentication (tests/sftp_server.py). It lives in this module to reuse the
# tiny run above instead of paying for another.

def ssh_client_env(env: dict[str, str], home: Path) -> dict[str, str]:
    """For DVC commands that talk to the SSH remote: a HOME of their own and no ssh-agent, so that only
    the configured key is offered, never the user's ~/.ssh keys, config or agent."""
    return {**{k: v for k, v in env.items() if k != "SSH_AUTH_SOCK"}, "HOME": str(home)}


@pytest.fixture(scope="module")
def sftp_remote(tiny_repo, tmp_path_factory):
    _, env, _, _ = tiny_repo
    keys = tmp_path_factory.mktemp("ssh-keys")
    host_key = generate_key_pair(keys, "host")
    client_key = generate_key_pair(keys, "teammate")
    authorized = keys / "authorized_keys"
    authorized.write_bytes(client_key.public.read_bytes())
    with SFTPServer(tmp_path_factory.mktemp("sftp-root"), host_key.private, authorized) as server:
        yield server, keys, client_key, ssh_client_env(env, tmp_path_factory.mktemp("ssh-home"))


@pytest.fixture(scope="module")
def ssh_teammate_clone(tiny_repo, sftp_remote, tmp_path_factory):
    """The run committed with an `ssh://` remote in .dvc/config and the key only in the git-ignored
    .dvc/config.local, pushed, then cloned and pulled over SSH with an empty synthclf cache."""
    repo, env, _, _ = tiny_repo
    server, _, client_key, ssh_env = sftp_remote
    url = f"ssh://synthclf@127.0.0.1:{server.port}/dvc-storage"
    run(["dvc", "remote", "add", "-d", "sftp", url], repo, env)
    run(["dvc", "remote", "modify", "--local", "sftp", "keyfile", str(client_key.private)], repo, env)
    commit_all(repo, env, "SSH remote")
    run(["dvc", "push", "-r", "sftp"], repo, ssh_env)

    clone = tmp_path_factory.mktemp("ssh-clone") / "project"
    run(["git", "clone", "-q", str(repo), str(clone)], clone.parent, env)
    empty_cache = tmp_path_factory.mktemp("ssh-teammate-cache")
    clone_env = {**env, "SYNTHCLF_CACHE_DIR": str(empty_cache)}
    run(["dvc", "remote", "modify", "--local", "sftp", "keyfile", str(client_key.private)], clone, clone_env)
    run(["dvc", "pull"], clone, {**ssh_env, "SYNTHCLF_CACHE_DIR": str(empty_cache)})
    return repo, clone, clone_env, empty_cache


def locked_objects(repo: Path) -> set[str]:
    """The cache objects (``xx/yyyy``, ``xx/yyyy.dir``) of the outputs in dvc.lock that DVC pushes (not
    the ``cache: false`` ones, which git keeps), directory listings expanded."""
    with DvcRepo(str(repo)) as dvc_repo:
        pushed = {str(out.def_path) for out in dvc_repo.index.outs if out.use_cache}
    cache = repo / ".dvc" / "cache" / "files" / "md5"
    objects = set()
    for stage in yaml.safe_load((repo / "dvc.lock").read_text())["stages"].values():
        for out in stage.get("outs", []):
            if out["path"] not in pushed:
                continue
            name = f"{out['md5'][:2]}/{out['md5'][2:]}"
            objects.add(name)
            if name.endswith(".dir"):
                objects |= {f"{e['md5'][:2]}/{e['md5'][2:]}" for e in json.loads((cache / name).read_text())}
    return objects


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def committed_text(repo: Path, env: dict[str, str]) -> str:
    """Everything ever committed in ``repo``, as patches."""
    return run(["git", "log", "--all", "-p", "--format=%H %s"], repo, env)


@pytest.mark.slow
def test_push_over_ssh_puts_every_output_on_the_server(ssh_teammate_clone, sftp_remote):
    repo, _, env, _ = ssh_teammate_clone
    server, keys, client_key, _ = sftp_remote
    stored = files_under(server.root / "dvc-storage" / "files" / "md5")
    assert not [name for name in stored if name.endswith(".tmp")], "a partial upload was left behind"
    wanted = locked_objects(repo)
    assert wanted and set(stored) == wanted, f"not pushed: {sorted(wanted - set(stored))[:5]}"
    cache = repo / ".dvc" / "cache" / "files" / "md5"
    assert all(stored[name] == (cache / name).read_bytes() for name in stored)
    assert "synthclf" in server.events.logins

    # The key is configured only in the git-ignored .dvc/config.local: nothing committed names it.
    assert str(client_key.private) in (repo / ".dvc" / "config.local").read_text()
    run(["git", "check-ignore", "-q", ".dvc/config.local"], repo, env)
    assert run(["git", "status", "--porcelain"], repo, env) == ""
    committed = committed_text(repo, env)
    assert "ssh://synthclf@127.0.0.1:" in run(["git", "show", "HEAD:.dvc/config"], repo, env)
    assert str(keys) not in committed and "keyfile" not in committed
    material = [line for line in client_key.private.read_text().splitlines() if not line.startswith("-----")]
    material.append(client_key.public.read_text().split()[1])
    assert material and not [line for line in material if line in committed]


@pytest.mark.slow
def test_ssh_clone_pulls_everything_and_runs_nothing(ssh_teammate_clone):
    repo, clone, env, empty_cache = ssh_teammate_clone
    assert tracked_outputs(clone) == tracked_outputs(repo)
    assert not any(empty_cache.iterdir())
    out = run(["dvc", "repro"], clone, env)
    assert "Running stage" not in out and "Data and pipelines are up to date." in out
    assert not any(empty_cache.iterdir()), "the clone opened an LLM cache or downloaded a model"
    assert run(["git", "status", "--porcelain"], clone, env) == ""
    assert "keyfile" not in committed_text(clone, env)


@pytest.mark.slow
def test_ssh_pull_with_an_unauthorized_key_fails_clearly_and_pulls_nothing(
        ssh_teammate_clone, sftp_remote, tmp_path_factory):
    repo, _, env, _ = ssh_teammate_clone
    server, keys, _, ssh_env = sftp_remote
    stranger = generate_key_pair(keys, "stranger")  # a valid key, but not in authorized_keys
    clone = tmp_path_factory.mktemp("ssh-stranger") / "project"
    run(["git", "clone", "-q", str(repo), str(clone)], clone.parent, env)
    run(["dvc", "remote", "modify", "--local", "sftp", "keyfile", str(stranger.private)], clone, env)
    connections, logins = server.events.connections, list(server.events.logins)

    proc = subprocess.run(["dvc", "pull"], cwd=clone, env=ssh_env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert re.search(r"permission denied|authenticat", out, re.IGNORECASE), out
    assert server.events.connections > connections, "the failure was not the server refusing the key"
    assert server.events.logins == logins

    # Nothing partial: no output in the workspace, no object in the cache; git sees only DVC's own files.
    assert not [p for p in (clone / ".dvc" / "cache").rglob("*") if p.is_file()]
    for stage in yaml.safe_load((clone / "dvc.lock").read_text())["stages"].values():
        for o in stage.get("outs", []):
            tracked = run(["git", "ls-files", o["path"]], clone, env).strip()
            assert tracked or not (clone / o["path"]).exists(), f"{o['path']} was partly pulled"
    status = run(["git", "status", "--porcelain", "--ignored"], clone, env).splitlines()
    assert [line for line in status if not line.startswith("!! .dvc/")] == []
