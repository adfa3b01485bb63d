"""``sigwatch judge calibrate`` against a local chat-completions server that plays a judge
which is right except on known posts: kappa and per-class rates equal scikit-learn's on the
same pairs, judge errors are counted and never scored, re-runs reuse stored labels."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sklearn.metrics import cohen_kappa_score, confusion_matrix
from typer.testing import CliRunner

from inference.datasets import gold
from sigwatch.cli import app
from sigwatch.clock import FixedClock
from sigwatch.store import Store
from tests.evaluation.chat_server import KEY, ChatServer
from tests.sql import query

LIMIT = 60
T0 = datetime(2026, 11, 26, tzinfo=UTC)  # the time the calibration is stamped with


@pytest.fixture
def judge():
    posts = {p.text: p.content_type for p in gold()}
    flips = {text for k, text in enumerate(sorted(posts)) if k % 7 == 0}  # wrong on ~1 in 7

    def answer(post: str) -> str:
        truth = posts[post]
        return ("other" if truth != "other" else "question") if post in flips else truth

    server = ChatServer(answer)
    yield server, posts, flips
    server.stop()


def test_calibrate_reports_kappa_and_rates_as_scikit_learn_does(judge, tmp_path, store_url):
    server, _, flips = judge
    server.plan.extend(["malformed"] * 3)  # the first gold post: retried, then a judge_error
    env = {
        "SIGWATCH_JUDGE_URL": server.url,
        "SIGWATCH_JUDGE_MODEL": "fake-judge",
        "SIGWATCH_JUDGE_KEY": KEY,
        "SIGWATCH_STORE_URL": store_url,
    }
    args = ["judge", "calibrate", "-s", "content_type", "--at", T0.isoformat()]
    args += ["--limit", str(LIMIT), "--json", "--data", str(tmp_path)]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    items = gold()[:LIMIT]
    scored = items[1:]  # the first one became a judge_error
    truth = [p.content_type for p in scored]
    judged = [
        ("other" if p.content_type != "other" else "question")
        if p.text in flips
        else p.content_type
        for p in scored
    ]
    assert report["n"] == LIMIT and report["judge_errors"] == 1
    assert report["kappa"] == pytest.approx(cohen_kappa_score(truth, judged))
    classes = ["review", "recommendation_request", "comparison", "question", "other"]
    matrix = confusion_matrix(truth, judged, labels=classes)
    for k, cls in enumerate(classes):
        tp = matrix[k, k]
        fn = matrix[k].sum() - tp
        fp = matrix[:, k].sum() - tp
        row = report["per_class"][cls]
        assert (row["tp"], row["fn"], row["fp"]) == (tp, fn, fp)
        assert row["tpr"] == pytest.approx(tp / (tp + fn)) if tp + fn else row["tpr"] is None
    assert KEY not in result.output
    calls = len(server.requests)
    again = CliRunner().invoke(app, args, env=env)  # stored labels are reused
    assert again.exit_code == 0 and len(server.requests) == calls
    with Store.open(store_url, clock=FixedClock(T0)) as store:
        [(errors,)] = query(
            store, "SELECT COUNT(*) FROM judge_labels WHERE error LIKE 'judge_error: malformed'"
        )
        [(labels,)] = query(store, "SELECT COUNT(*) FROM judge_labels WHERE label IS NOT NULL")
        assert errors == 1 and labels == LIMIT - 1


def test_calibrate_without_a_judge_says_what_to_set(tmp_path, monkeypatch):
    from evaluation import local

    monkeypatch.setattr(local, "available", lambda: False)  # no URL and no judge extra
    result = CliRunner().invoke(
        app,
        ["judge", "calibrate", "-s", "content_type", "--data", str(tmp_path)],
        env={"SIGWATCH_JUDGE_URL": ""},
    )
    assert result.exit_code == 2
    assert "SIGWATCH_JUDGE_URL" in result.output and "pip install -e '.[judge]'" in result.output
    half = CliRunner().invoke(
        app,
        ["judge", "run", "--data", str(tmp_path)],
        env={"SIGWATCH_JUDGE_URL": "http://127.0.0.1:9/v1"},
    )
    assert half.exit_code == 2 and "SIGWATCH_JUDGE_MODEL is not" in half.output


def test_missing_or_unknown_judge_weights_are_named(tmp_path):
    from evaluation.local import WEIGHTS, LocalJudgeError, Weights, weights

    with pytest.raises(
        LocalJudgeError, match=r"allowed: qwen2\.5-coder-0\.5b, qwen2\.5-coder-1\.5b"
    ):
        weights(tmp_path, "llama-70b")
    WEIGHTS["test-missing"] = Weights("m", "sigwatch_no_such_part", 2, "no-such-part")
    try:
        with pytest.raises(LocalJudgeError, match=r"no-such-part1 is not installed.*\[judge\]"):
            weights(tmp_path, "test-missing")
    finally:
        del WEIGHTS["test-missing"]
    assert not (tmp_path / "models").exists()  # nothing half-written


def test_calibrate_names_signals_without_a_gold_set(judge, tmp_path):
    server, _, _ = judge
    env = {"SIGWATCH_JUDGE_URL": server.url, "SIGWATCH_JUDGE_MODEL": "m"}
    result = CliRunner().invoke(
        app, ["judge", "calibrate", "-s", "product_category", "--data", str(tmp_path)], env=env
    )
    assert result.exit_code == 2
    assert "no judge rubric" in result.output or "no human gold set" in result.output
