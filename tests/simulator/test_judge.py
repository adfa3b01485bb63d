"""The demo's simulated LLM judge (``simulator.judge``): a chat-completions server that reads a
post as the simulator means it, right on 85% of posts; the content store it reads from holds
only the posts whose meaning the simulator knows, with a concept shift's new words on the posts
it re-means; and the daily judge run replayed over the history stamps each day's labels at the
02:00 run that would have made them."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from evaluation.daily import MONITORING
from evaluation.jobs import JOB_TIME, backfill
from evaluation.judge import JudgeClient, Rubric
from sigwatch.clock import FixedClock
from sigwatch.store import Store
from simulator.judge import MODEL, SimulatedJudge, idiom
from tests.sql import query

CLASSES = ["review", "recommendation_request", "comparison", "question", "other"]


def _corpus(n: int = 2000) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "text": [f"post number {k}" for k in range(n)] + ["a tweet nobody labelled"],
            "truth_content_type": [CLASSES[k % 5] for k in range(n)] + [None],
            "truth_sentiment": [None] * (n + 1),
        }
    )


@pytest.fixture
def judge(registry):
    server = SimulatedJudge(registry, _corpus())
    yield server
    server.stop()


def test_the_judge_reads_the_meaning_on_85_percent_of_posts_stably(judge):
    truth = dict(
        _corpus().drop_nulls("truth_content_type").select("text", "truth_content_type").iter_rows()
    )
    answers = {post: judge.read("content_type", post) for post in truth}
    right = sum(answers[p] == truth[p] for p in truth) / len(truth)
    assert 0.82 <= right <= 0.88, right
    assert all(a in CLASSES for a in answers.values())
    assert {p: judge.read("content_type", p) for p in truth} == answers  # the same every time
    # its mistakes are spread over the other classes, not one
    wrong = [answers[p] for p in truth if answers[p] != truth[p] and truth[p] == "review"]
    assert len(set(wrong)) == 4, wrong


def test_a_concept_shifts_new_words_carry_the_new_meaning(judge):
    post = "post number 0"  # a review
    assert judge.meaning("content_type", post) == "review"
    assert judge.meaning("content_type", post + idiom("content_type", "other")) == "other"
    assert judge.meaning("content_type", "a tweet nobody labelled") is None
    assert judge.read("content_type", "a tweet nobody labelled") in CLASSES  # a guess
    with pytest.raises(ValueError, match="no simulated meanings for signal 'cost'"):
        judge.read("cost", post)


def test_the_judge_speaks_chat_completions_to_the_products_client(judge, registry):
    rubric = Rubric.of(registry.get("content_type"))
    client = JudgeClient(judge.url, MODEL, timeout=5, retries=0)
    try:
        verdicts = [client.judge(f"post number {k}", rubric) for k in range(40)]
    finally:
        client.close()
    assert [v.label for v in verdicts] == [
        judge.read("content_type", f"post number {k}") for k in range(40)
    ]
    assert judge.calls == 40


def test_the_content_store_holds_the_posts_the_simulator_knows(default_scenario):
    result, _ = default_scenario
    shift = next(i for i in result.incidents if i["kind"] == "concept_shift")
    day = datetime.fromisoformat(shift["start"]).date()
    dated = f"signal={shift['signal']}/date={day}"
    logs = pl.read_parquet(result.data_dir / "predictions" / dated)
    content = pl.read_parquet(result.data_dir / "content" / dated)
    assert 0.3 < len(content) / len(logs) < 0.9  # the tweets (no content type) are left out
    assert content["item_id"].is_in(logs["item_id"].implode()).all()
    tag = idiom(shift["signal"], shift["miss"])
    tagged = content.filter(pl.col("text").str.ends_with(tag))
    assert len(tagged) > 100  # the re-meant posts carry the new words ...
    read = logs.filter(pl.col("item_id").is_in(tagged["item_id"].implode()))["label"]
    assert read.unique().to_list() == ["review"]  # ... and were read as the class after `miss`


def test_the_history_is_judged_as_the_daily_run_would_have(
    registry, default_scenario, corpus_cache, tmp_path
):
    import shutil

    from simulator.corpus import load_corpus

    result, path = default_scenario
    shutil.copy(path, tmp_path / "s.db")
    server = SimulatedJudge(registry, load_corpus(registry, corpus_cache))
    start, end = result.end - timedelta(days=3), result.end
    clock = FixedClock(start)
    client = JudgeClient(server.url, MODEL, timeout=5, retries=1)
    try:
        with Store.open(tmp_path / "s.db", clock=clock) as store:
            runs = backfill(
                registry, result.data_dir, store, clock, client, start, end, calls=40, dollars=1.0
            )
            calls = server.calls
            again = backfill(
                registry, result.data_dir, store, clock, client, start, end, calls=40, dollars=1.0
            )
            stamps = query(
                store,
                "SELECT signal, purpose, MIN(event_time), MAX(event_time), MIN(labeled_at),"
                " MAX(labeled_at), COUNT(*) FROM judge_labels GROUP BY signal, purpose,"
                " labeled_at ORDER BY signal, labeled_at",
            )
    finally:
        client.close()
        server.stop()
    judged = [s.name for s in registry if s.judge is not None]
    # the last day ends at `end` (00:00), so its 02:00 run has not happened: two days judged
    days = [start + timedelta(days=k) for k in range(2)]
    assert [(r.signal, r.day) for r in runs] == [(name, day) for name in judged for day in days]
    assert all(r.judged > 0 and r.errors == 0 and r.no_text < r.sampled for r in runs), runs
    assert server.calls == calls and all(r.judged == 0 for r in again)  # resumed, no new calls
    runs_at = {(day + timedelta(days=1) + JOB_TIME).timestamp() for day in days}
    for signal, purpose, first, last, at, _, n in stamps:
        if purpose == "calibration":
            assert at == start.timestamp(), signal  # before the first day is judged
        elif purpose == MONITORING:  # one day's predictions, labelled at that day's run
            day = datetime.fromtimestamp(first, start.tzinfo).replace(hour=0, minute=0, second=0)
            assert last < (day + timedelta(days=1)).timestamp(), (signal, n)
            assert at == (day + timedelta(days=1) + JOB_TIME).timestamp(), (signal, n)
        else:
            assert at in runs_at, (signal, purpose)
