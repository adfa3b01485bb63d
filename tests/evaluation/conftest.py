"""One day of the default scenario for the judge's tests, and a local chat-completions server
whose judge has opinions of its own."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timedelta

import polars as pl
import pytest

from sigwatch.store import to_epoch
from sigwatch.store.judge import CalibrationRow
from tests.conftest import SCENARIO_END
from tests.evaluation.chat_server import ChatServer

END = datetime.fromisoformat(SCENARIO_END)
DAY = END - timedelta(days=1)
CLASSES = ["review", "recommendation_request", "comparison", "question", "other"]


def hashed(post: str) -> str:
    """A judge with opinions: a stable class per post, 70% of posts 'review'."""
    k = int(hashlib.sha256(post.encode()).hexdigest(), 16) % 10
    return "review" if k < 7 else CLASSES[1 + k % 4]


@pytest.fixture
def day_data(default_scenario, tmp_path):
    """One day of content_type's predictions and post texts, copied into a fresh data folder:
    the predictions of the posts whose text the content store holds (the simulator's holds only
    the posts it knows the meaning of), so every sampled post can be judged."""
    result, _ = default_scenario
    dated = f"signal=content_type/date={DAY:%Y-%m-%d}"
    shutil.copytree(result.data_dir / "content" / dated, tmp_path / "content" / dated)
    texts = pl.read_parquet(tmp_path / "content" / dated)["item_id"]
    (tmp_path / "predictions" / dated).mkdir(parents=True)
    pl.read_parquet(result.data_dir / "predictions" / dated).filter(
        pl.col("item_id").is_in(texts.implode())
    ).write_parquet(tmp_path / "predictions" / dated / "part-0.parquet")
    return tmp_path


@pytest.fixture
def server():
    s = ChatServer(hashed)
    yield s
    s.stop()


def calibrate(store, signal: str, model: str, at: datetime, rates: dict) -> None:
    """A calibration of the judge ``model`` (the prompt version its stored labels carry) as of
    ``at``, with one class's confusion counts ``rates`` (``cls``, ``tp``, ``fn``, ``tn``,
    ``fp``)."""
    from tests.sql import query

    [(version,)] = query(store, "SELECT DISTINCT prompt_version FROM judge_labels")
    per_class = json.dumps({rates["cls"]: rates})
    row = CalibrationRow(signal, model, version, to_epoch(at), 300, 0, 0.7, per_class, 0.0)
    store.judge.put_calibration(row)
