"""``sigwatch distill content_type`` against a local chat-completions server playing the
teacher: the student learns only the teacher's labels, the card's macro-F1 figures equal
scikit-learn's on the held-out gold posts, a re-run resumes without new calls, the dollar
budget stops the teacher, and a signal switched to the distilled model serves it."""

from __future__ import annotations

import json
import shutil

import pytest
from sklearn.metrics import f1_score
from typer.testing import CliRunner

from inference import catalog, datasets
from inference.content_type import TEST_SHARE
from inference.content_type_distilled import load
from sigwatch.cli import app
from sigwatch.registry import load_registry
from tests.evaluation.chat_server import ChatServer

ITEMS = 120
CLASSES = ["review", "recommendation_request", "comparison", "question", "other"]


@pytest.fixture
def teacher():
    truth = {p.text: p.content_type for p in datasets.gold()}
    wrong = {t for k, t in enumerate(sorted(truth)) if k % 5 == 0}  # wrong on 1 in 5

    def answer(post: str) -> str:
        label = truth.get(post, "other")
        return CLASSES[(CLASSES.index(label) + 1) % 5] if post in wrong else label

    server = ChatServer(answer)
    yield server, answer
    server.stop()


def _env(server, **extra) -> dict:
    return {
        "SIGWATCH_JUDGE_URL": server.url,
        "SIGWATCH_JUDGE_MODEL": "fake-teacher",
        "SIGWATCH_JUDGE_PRICE_HOUR": "0.10",
        **extra,
    }


def test_distill_writes_a_card_with_teacher_and_student(teacher, tmp_path):
    server, answer = teacher
    args = ["distill", "content_type", "--items", str(ITEMS), "--data", str(tmp_path)]
    result = CliRunner().invoke(app, args, env=_env(server))
    assert result.exit_code == 0, result.output
    _, test = datasets.gold_split(TEST_SHARE)
    # the slice is ITEMS posts, the held-out posts are judged once more for the comparison
    assert len(server.requests) == ITEMS + len(test)
    train_texts = {p.text for p in datasets.gold_split(TEST_SHARE)[0]}
    asked = [r["messages"][-1]["content"] for r in server.requests[:ITEMS]]
    assert set(asked) <= train_texts and not set(asked) & {p.text for p in test}
    summary = json.loads((tmp_path / "models" / "content-type-distilled.json").read_text())
    truth = [p.content_type for p in test]
    teacher_pred = [answer(p.text) for p in test]
    student_pred = [p.label for p in load(tmp_path).predict([p.text for p in test])]
    for name, pred in (("teacher", teacher_pred), ("student", student_pred)):
        expected = f1_score(truth, pred, labels=CLASSES, average="macro", zero_division=0)
        got = summary[name]
        assert got["macro_f1"] == pytest.approx(expected)
        assert got["low"] <= got["macro_f1"] <= got["high"] and got["n"] == len(test)
    assert summary["taught"] == ITEMS
    for name in ("teacher", "student"):  # both priced by their latency at $0.10 an hour
        got = summary[name]
        assert got["cost_per_1k"] == pytest.approx(got["latency_ms"] / 3.6e6 * 0.10 * 1000)
        assert got["latency_ms"] > 0
    card = (tmp_path / "models" / "content-type-distilled.md").read_text()
    assert "| teacher (LLM judge) |" in card and "| student (distilled) |" in card
    assert f"{summary['student']['macro_f1']:.3f}" in card
    # a re-run resumes: the teacher's labels are stored, nothing is asked again
    calls = len(server.requests)
    again = CliRunner().invoke(app, args, env=_env(server))
    assert again.exit_code == 0, again.output
    assert len(server.requests) == calls and "(0 new calls" in again.output


def test_the_dollar_budget_stops_the_teacher(teacher, tmp_path):
    server, _ = teacher
    # 300 + 20 tokens a call at $1 per 1k each way: $0.32 a call, so $3 buys 9 calls
    env = _env(
        server,
        SIGWATCH_JUDGE_PRICE_IN="1",
        SIGWATCH_JUDGE_PRICE_OUT="1",
        SIGWATCH_JUDGE_PRICE_HOUR="0",
    )
    args = ["distill", "content_type", "--items", "50", "--dollars", "3", "--data", str(tmp_path)]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "dollar budget ($3.00) spent after 9 of 50" in result.output
    assert "student trained on 9 teacher labels" in result.output


def test_a_signal_switched_to_the_distilled_model_serves_it(teacher, tmp_path, monkeypatch):
    server, _ = teacher
    args = ["distill", "content_type", "--items", "60", "--data", str(tmp_path)]
    assert CliRunner().invoke(app, args, env=_env(server)).exit_code == 0
    definitions = tmp_path / "defs"
    shutil.copytree("slo_definitions", definitions)
    path = definitions / "content_type.yaml"
    path.write_text(
        path.read_text().replace(
            'model: {id: content-type, version: "2026.11"}',
            "model: {id: content-type-distilled, version: distilled-1}",
        )
    )
    check = CliRunner().invoke(app, ["validate", str(definitions)])
    assert check.exit_code == 0, check.output
    signal = load_registry(definitions).get("content_type")
    monkeypatch.setenv("SIGWATCH_DATA", str(tmp_path))
    catalog.load.cache_clear()
    try:
        (prediction,) = catalog.predict(signal, ["Sony XM5 or Bose QC Ultra for flights?"])
    finally:
        catalog.load.cache_clear()
    assert prediction.model_version == "distilled-1" and prediction.label in CLASSES
    empty = tmp_path / "empty"
    with pytest.raises(FileNotFoundError, match="sigwatch distill content_type"):
        load(empty)
