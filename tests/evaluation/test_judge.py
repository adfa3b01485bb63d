"""The judge client against a local chat-completions server: good answers, malformed JSON,
missing fields, labels outside the rubric, 429 with Retry-After, 5xx, timeouts; what every
verdict records; shuffled label order; the key never in an error."""

from __future__ import annotations

import time

import pytest

from evaluation.judge import JudgeClient, JudgeError, Rubric
from sigwatch.settings import Secret
from tests.evaluation.chat_server import KEY, ChatServer

RUBRIC = Rubric(
    signal="content_type",
    labels={
        "review": "the author's experience with a product",
        "question": "asks something that is not a recommendation or comparison",
        "other": "anything else",
    },
    examples=(("Loved my new kettle, boils fast.", "review"),),
)


@pytest.fixture
def server():
    s = ChatServer(lambda post: "question" if post.endswith("?") else "review")
    yield s
    s.stop()


def client(server, **kw) -> JudgeClient:
    args = {
        "api_key": Secret(KEY),
        "timeout": 1,
        "retries": 2,
        "price_in_per_1k": 0.001,
        "price_out_per_1k": 0.002,
        **kw,
    }
    return JudgeClient(server.url, "qwen2.5-1.5b-instruct", **args)


def test_a_good_answer_is_a_verdict_with_everything_recorded(server):
    verdict = client(server).judge("Is the Pixel 9 waterproof?", RUBRIC)
    assert (verdict.label, verdict.confidence, verdict.attempts) == ("question", 0.9, 1)
    assert verdict.model == "qwen2.5-1.5b-instruct"
    assert verdict.prompt_version == RUBRIC.version and verdict.prompt_version.startswith("v1-")
    assert (verdict.tokens_in, verdict.tokens_out) == (300, 20)
    assert verdict.cost_usd == pytest.approx(300 / 1000 * 0.001 + 20 / 1000 * 0.002)
    [body] = server.requests
    assert body["temperature"] == 0
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["label"]["enum"] == ["other", "question", "review"]
    assert server.headers[0]["Authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("bad", ["malformed", "missing", "wrong_label", "429", "500"])
def test_one_bad_answer_is_retried(server, bad):
    server.plan.append(bad)
    verdict = client(server).judge("Great blender.", RUBRIC)
    assert verdict.label == "review" and verdict.attempts == 2


@pytest.mark.parametrize(
    ("bad", "kind"),
    [
        ("malformed", "malformed"),
        ("missing", "malformed"),
        ("wrong_label", "wrong_label"),
        ("500", "http"),
        ("hang", "timeout"),
    ],
)
def test_bad_answers_past_the_retries_are_a_judge_error_never_a_label(server, bad, kind):
    server.plan.extend([bad] * 3)
    with pytest.raises(JudgeError) as caught:
        client(server).judge("Great blender.", RUBRIC)
    assert caught.value.kind == kind and caught.value.attempts == 3
    assert KEY not in str(caught.value)


def test_429_waits_for_retry_after(server):
    server.plan.append("429")
    started = time.monotonic()
    client(server).judge("Great blender.", RUBRIC)
    assert time.monotonic() - started >= 1.0


def test_unreachable_server_is_a_judge_error(server):
    url = server.url
    server.stop()
    with pytest.raises(JudgeError, match="unreachable"):
        JudgeClient(url, "m", retries=0, timeout=1).judge("x", RUBRIC)


def test_label_order_is_shuffled_per_post_and_stable_for_the_same_post():
    def order(post):
        system = RUBRIC.messages(post)[0]["content"]
        return [line.split(":")[0][2:] for line in system.splitlines() if line.startswith("- ")]

    orders = {tuple(order(f"post number {k}")) for k in range(30)}
    assert len(orders) > 1
    assert order("same post") == order("same post")
    assert sorted(order("any")) == sorted(RUBRIC.labels)


def test_the_prompt_version_changes_with_the_rubric():
    changed = Rubric(RUBRIC.signal, {**RUBRIC.labels, "other": "something else"}, RUBRIC.examples)
    assert changed.version != RUBRIC.version
