"""A planted API key goes to the server as the Authorization header and nowhere else."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from fake_openai_server import FakeOpenAIServer
from params_helpers import repo_params, repo_sampling

from synthclf.errors import SynthclfError
from synthclf.llm import open_llm
from synthclf.params import LLMParams

PLANTED = "sk-test-PLANTED-0123456789abcdefghijklmnopqrstuvwxyz"


def test_planted_key_leaks_nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
    caplog.set_level(logging.DEBUG)  # every logger, the openai and httpx ones included
    cache_dir = tmp_path / "cache"
    with FakeOpenAIServer() as server:
        params = repo_params(LLMParams, backend="openai", model="gpt-3.5-turbo", base_url=server.base_url,
                             api_key_env="OPENAI_API_KEY", cache_dir=str(cache_dir), timeout_s=1.0, max_retries=2)
        # Faults on the way exercise the retry and warning paths, which format error messages.
        server.fail("500", match="q1")
        server.fail("drop", match="q2")
        server.fail("400", match="q3")
        with open_llm(params, repo_sampling()) as llm:
            async def main() -> list[str | None]:
                return await asyncio.gather(*(llm.complete([{"role": "user", "content": f"q{i}"}], seed=0, index=i)
                                              for i in range(4)))
            answers = asyncio.run(main())
        assert answers[0] and answers[1] and answers[2] and answers[3] is None
        usage = llm.usage.as_dict()

        # A server that echoes the key back in its error message, as OpenAI's does for a wrong key.
        server.fail("401")
        with pytest.raises(SynthclfError) as raised:
            with open_llm(params, repo_sampling()) as llm:
                asyncio.run(llm.complete([{"role": "user", "content": "again"}], seed=0, index=0))
        requests = server.requests

    for request in requests:
        assert request.headers["authorization"] == f"Bearer {PLANTED}"
        others = {name: value for name, value in request.headers.items() if name != "authorization"}
        assert PLANTED not in repr(others)
        assert PLANTED not in repr(request.body)

    assert "401" in str(raised.value)
    assert PLANTED not in str(raised.value)
    assert "PLANTED" not in repr(raised.value.args)
    assert PLANTED not in repr(usage)
    assert "PLANTED" not in caplog.text
    captured = capsys.readouterr()
    assert "PLANTED" not in captured.out + captured.err
    for path in cache_dir.iterdir():  # the database and its WAL and shared-memory files
        assert b"PLANTED" not in path.read_bytes(), path.name
