"""Production-like prediction logs for one signal over one span of time, vectorised.

Shapes: diurnal traffic (a sine over the UTC day), long-tailed latency (log-normal per model),
rare errors and timeouts, abstentions below the serving threshold, a small share of calls that
fall back to a paid external LLM API (slow and about 40x dearer), then whatever the incidents
active in the span change. Every random draw comes from a generator seeded by
(seed, signal, span start), so any span regenerates identically on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from sigwatch.model import Signal
from simulator.corpus import GOLD_COMMUNITIES
from simulator.judge import idiom
from simulator.scenario import BAD_VERSION, DRIFT_COMMUNITY, Incident

STEP = timedelta(minutes=5)
# The language column: assigned at these shares, independently of the (English) text.
LANGUAGES = np.array(["en", "de", "es", "fr"])
LANGUAGE_SHARES = np.array([0.82, 0.08, 0.06, 0.04])

# Baseline share of eligible items per community (health arrives only with a drift incident).
COMMUNITY_WEIGHTS = {
    "airlines": 0.14,
    "apple": 0.10,
    "cars": 0.05,
    "sports": 0.07,
    "music": 0.05,
    "chatter": 0.04,
    "movies": 0.17,
    **{c: 0.38 / len(GOLD_COMMUNITIES) for c in GOLD_COMMUNITIES},
}


@dataclass(frozen=True)
class Serving:
    """How a signal's model behaves in production when nothing is wrong."""

    median_ms: float
    sigma: float
    cost_per_call: float
    error_rate: float = 0.001
    timeout_rate: float = 0.0005
    external_share: float = 0.003
    external_median_ms: float = 450.0
    external_cost: float = 0.0015
    timeout_ms: float = 1000.0


SERVING = {
    "content-type": Serving(median_ms=35, sigma=0.45, cost_per_call=0.00004),
    "sentiment": Serving(median_ms=25, sigma=0.45, cost_per_call=0.00003),
    "product-entities": Serving(median_ms=18, sigma=0.5, cost_per_call=0.00002),
    "product-category": Serving(median_ms=30, sigma=0.45, cost_per_call=0.00003),
    "commercial-intent": Serving(median_ms=22, sigma=0.45, cost_per_call=0.00002),
}
DEFAULT_SERVING = Serving(median_ms=30, sigma=0.45, cost_per_call=0.00003)

LOG_SCHEMA = {
    "event_time": pl.Datetime("us", "UTC"),
    "item_id": pl.Utf8,
    "item_kind": pl.Utf8,
    "community": pl.Utf8,
    "language": pl.Utf8,
    "text_len": pl.Int32,
    "model_version": pl.Utf8,
    "status": pl.Utf8,
    "label": pl.Utf8,
    "labels": pl.List(pl.Utf8),
    "score": pl.Float32,
    "latency_ms": pl.Float32,
    "cost_usd": pl.Float64,
    "served_by": pl.Utf8,
    "scores": pl.List(pl.Float32),  # multiclass: every class's probability, as ``classes``
    "label_scores": pl.List(pl.Float32),  # entities: each of ``labels``' confidence
}
OPTIONAL_LOG_COLUMNS = ("scores", "label_scores")  # a log file without them is valid
# What a log file must hold: the schema without its optional columns (a team's older writer)
REQUIRED_LOG_SCHEMA = {c: t for c, t in LOG_SCHEMA.items() if c not in OPTIONAL_LOG_COLUMNS}
LABEL_SCHEMA = {
    "item_id": pl.Utf8,
    "label": pl.Utf8,
    "labels": pl.List(pl.Utf8),
    "source": pl.Utf8,
    "labeled_at": pl.Datetime("us", "UTC"),
    "rater_id": pl.Utf8,
}
CONTENT_SCHEMA = {"item_id": pl.Utf8, "text": pl.Utf8}
TRUTH_COLUMN = {
    "content_type": "truth_content_type",
    "sentiment": "truth_sentiment",
    "product_category": "truth_category",
    "commercial_intent": "truth_commercial",
    "product_entities": "truth_brands",
}


def _consistent(
    vectors: np.ndarray,
    label: np.ndarray,
    score: np.ndarray,
    classes: np.ndarray,
    even: np.ndarray | None = None,
) -> np.ndarray:
    """The class probability vectors as logged: the logged label's class holds the logged
    confidence (an incident may have changed either), the other classes share the rest in the
    proportions the model gave them — evenly on the rows ``even`` marks (an unsure model: no
    other class above the one it says). A healthy row keeps the model's vector as it was."""
    out = vectors.copy()
    if even is not None and even.any():
        vectors = vectors.copy()
        vectors[even] = 1.0
    index = {c: k for k, c in enumerate(classes)}
    column = np.array([index.get(c, -1) if c is not None else -1 for c in label])
    rows = np.flatnonzero(column >= 0)
    if not len(rows):
        return out
    others = vectors[rows].copy()
    others[np.arange(len(rows)), column[rows]] = 0.0
    mass = others.sum(axis=1, keepdims=True)
    uniform = np.full_like(others, 1 / max(1, len(classes) - 1))
    uniform[np.arange(len(rows)), column[rows]] = 0.0
    shares = np.divide(others, mass, out=uniform, where=mass > 0)
    rest = np.clip(1.0 - np.nan_to_num(score[rows].astype(np.float64)), 0.0, 1.0)
    out[rows] = shares * rest[:, None]
    out[rows, column[rows]] = 1.0 - rest
    return out


class Replay:
    """Samples a signal's traffic from the scored corpus."""

    def __init__(self, corpus: pl.DataFrame, signal: Signal, seed: int) -> None:
        self.signal, self.seed = signal, seed
        self.serving = SERVING.get(signal.model.id, DEFAULT_SERVING)
        self.signal_index = sum(signal.name.encode())  # stable, independent of registry order
        self.corpus = corpus
        communities = corpus["community"].to_numpy()
        self.rows_of = {c: np.flatnonzero(communities == c) for c in np.unique(communities)}
        weights = {c: w for c, w in COMMUNITY_WEIGHTS.items() if c in self.rows_of}
        total = sum(weights.values())
        self.base_names = list(weights)
        self.base_p = np.array([weights[c] / total for c in self.base_names])
        self.prefix = "".join(part[0] for part in signal.name.split("_"))
        self.truth = TRUTH_COLUMN.get(signal.name)
        self.scores = corpus[f"{signal.name}__score"].to_numpy().astype(np.float32)
        self.classes = np.array(signal.classes or ("",))
        vectors = corpus[f"{signal.name}__scores"]
        self.vectors = (
            np.array(vectors.to_list(), dtype=np.float64)
            if signal.task == "multiclass" and vectors.null_count() == 0
            else None
        )

    def rng(self, start: datetime, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.signal_index, int(start.timestamp()), salt])

    def span(
        self,
        start: datetime,
        end: datetime,
        rate_per_day: float,
        incidents: list[Incident],
    ) -> tuple[pl.DataFrame, np.ndarray]:
        """Log rows of ``[start, end)`` (sorted by time) and the corpus row of each."""
        rng = self.rng(start)
        times = _diurnal_times(rng, start, end, rate_per_day)
        n = len(times)
        mine = [
            i for i in incidents if i.signal == self.signal.name and i.start < end and i.end > start
        ]
        idx = self._sample_items(rng, n)
        for incident in mine:
            if incident.kind == "input_drift" and DRIFT_COMMUNITY in self.rows_of:
                hit = _active(times, incident) & (rng.random(n) < incident.param("share"))
                pool = self.rows_of[DRIFT_COMMUNITY]
                idx[hit] = pool[rng.integers(0, len(pool), int(hit.sum()))]
        s = self.serving
        score = self.scores[idx].copy()
        u = rng.random(n)
        status = np.full(n, "ok", dtype=object)
        status[u < s.error_rate + s.timeout_rate] = "timeout"
        status[u < s.error_rate] = "error"
        status[(status == "ok") & (score < self.signal.serving_threshold)] = "abstain"
        external = (rng.random(n) < s.external_share) & (status != "error")
        latency = rng.lognormal(np.log(s.median_ms), s.sigma, n)
        latency[external] = rng.lognormal(np.log(s.external_median_ms), 0.35, int(external.sum()))
        version = np.full(n, self.signal.model.version, dtype=object)
        label_col = self.corpus[f"{self.signal.name}__label"].to_numpy()[idx].astype(object)
        unsure = np.zeros(n, dtype=bool)  # rows whose other classes share the rest evenly
        labels_idx = idx.copy()  # rows of the corpus whose `labels` a row carries
        # Languages are assigned here, not detected: the corpus is English (see the README).
        slice_rng = self.rng(start, salt=2)  # its own stream: other draws stay as they were
        language = slice_rng.choice(LANGUAGES, size=n, p=LANGUAGE_SHARES)
        for incident in mine:
            hit = _active(times, incident)
            if incident.where:  # a slice incident: confined to the rows of its slice
                hit &= self._in_slice(incident, idx, language, version, hit, slice_rng)
            if incident.kind == "slice_coverage_drop":
                drop = hit & (status == "ok") & (rng.random(n) < incident.param("abstain_share"))
                status[drop] = "abstain"
                score[drop] = rng.uniform(0, self.signal.serving_threshold, int(drop.sum()))
            elif incident.kind == "canary_latency":
                latency[hit & ~external] *= incident.param("factor")
            elif incident.kind == "slice_quality_regression":
                bad = hit & (rng.random(n) < incident.param("corrupt_share"))
                if incident.miss:  # the model misses one class: it says the next one instead
                    missed = bad & (label_col == incident.miss)
                    k = list(self.classes).index(incident.miss)
                    label_col[missed] = self.classes[(k + 1) % len(self.classes)]
                else:
                    self._corrupt(rng, bad, label_col, score, labels_idx)
            elif incident.kind == "coverage_drop":
                version[hit] = BAD_VERSION["coverage_drop"]
                drop = hit & (status == "ok") & (rng.random(n) < incident.param("abstain_share"))
                status[drop] = "abstain"
                score[drop] = rng.uniform(0, self.signal.serving_threshold, int(drop.sum()))
            elif incident.kind == "latency_regression":
                latency[hit] *= incident.param("factor")
            elif incident.kind == "cost_spike":
                fallback = (
                    hit & (status != "error") & (rng.random(n) < incident.param("external_share"))
                )
                external |= fallback
                latency[fallback] = rng.lognormal(
                    np.log(s.external_median_ms), 0.35, int(fallback.sum())
                )
            elif incident.kind == "quality_regression":
                version[hit] = BAD_VERSION["quality_regression"]
                bad = hit & (rng.random(n) < incident.param("corrupt_share"))
                self._corrupt(rng, bad, label_col, score, labels_idx)
                if self.signal.task == "multiclass":  # its confidence collapsed: all of it
                    unsure_rows = hit & (status == "ok")
                    low = self.signal.serving_threshold
                    score[unsure_rows] = rng.uniform(
                        low, low + 0.05 * (1 - low), int(unsure_rows.sum())
                    )
                    unsure |= unsure_rows
            elif incident.kind == "outage":
                status[hit] = "error"
                external[hit] = False
        failed = (status == "error") | (status == "timeout")
        latency[status == "timeout"] = s.timeout_ms
        latency[status == "error"] = rng.lognormal(np.log(5.0), 0.3, int((status == "error").sum()))
        cost = np.where(external, s.external_cost, s.cost_per_call)
        cost[status == "error"] = 0.0
        label_col[failed] = None
        frame = self._frame(
            start,
            times,
            idx,
            labels_idx,
            version,
            status,
            label_col,
            score,
            latency,
            cost,
            external,
            failed,
            language,
            unsure,
        )
        return frame, idx

    def _in_slice(self, incident, idx, language, version, active, rng) -> np.ndarray:
        """The rows of an incident's slice. A canary is a new model version serving
        ``canary_share`` of the traffic while it is active: those rows are given its version."""
        [(column, value)] = incident.where.items()
        if column == "model_version":
            canary = active & (rng.random(len(idx)) < incident.param("canary_share"))
            version[canary] = value
            return canary
        if column == "language":
            return language == value
        return self.corpus[column].to_numpy()[idx] == value

    def _sample_items(self, rng: np.random.Generator, n: int) -> np.ndarray:
        which = rng.choice(len(self.base_names), size=n, p=self.base_p)
        idx = np.empty(n, dtype=np.int64)
        for k, name in enumerate(self.base_names):
            sel = which == k
            pool = self.rows_of[name]
            idx[sel] = pool[rng.integers(0, len(pool), int(sel.sum()))]
        return idx

    def _corrupt(self, rng, bad, label_col, score, labels_idx) -> None:
        """A degraded model: wrong classes, inverted scores, entities of other posts."""
        count = int(bad.sum())
        if self.signal.task == "multiclass":
            # Always another class than the healthy model's (a shift by 1..K-1 places).
            lookup = {c: k for k, c in enumerate(self.classes)}
            current = np.array([lookup.get(c, 0) for c in label_col[bad]], dtype=np.int64)
            shift = rng.integers(1, len(self.classes), count)
            label_col[bad] = self.classes[(current + shift) % len(self.classes)]
        elif self.signal.task == "score":
            score[bad] = 1.0 - score[bad]
        else:
            labels_idx[bad] = rng.integers(0, len(self.corpus), count)

    def _frame(
        self,
        start,
        times,
        idx,
        labels_idx,
        version,
        status,
        label_col,
        score,
        latency,
        cost,
        external,
        failed,
        language,
        unsure,
    ) -> pl.DataFrame:
        n = len(times)
        corpus = self.corpus
        labels = corpus[f"{self.signal.name}__labels"].gather(labels_idx)
        label_scores = corpus[f"{self.signal.name}__label_scores"].gather(labels_idx)
        vectors = (
            pl.Series(
                _consistent(self.vectors[idx], label_col, score, self.classes, unsure).tolist()
            )
            if self.vectors is not None
            else pl.Series([None] * n, dtype=pl.List(pl.Float64))
        )
        frame = pl.DataFrame(
            {
                "event_time": times,
                "seq": np.arange(n, dtype=np.int64),
                "item_kind": corpus["item_kind"].gather(idx),
                "community": corpus["community"].gather(idx),
                "language": pl.Series(language.astype(str), dtype=pl.Utf8),
                "text_len": corpus["text_len"].gather(idx),
                "model_version": pl.Series(version.astype(str), dtype=pl.Utf8),
                "status": pl.Series(status.astype(str), dtype=pl.Utf8),
                "label": pl.Series(label_col.tolist(), dtype=pl.Utf8),
                "labels": labels,
                "score": pl.Series(np.where(failed, np.nan, score), dtype=pl.Float32),
                "latency_ms": pl.Series(latency, dtype=pl.Float32),
                "cost_usd": pl.Series(cost, dtype=pl.Float64),
                "served_by": pl.Series(
                    np.where(external, "external_api", "in_house"), dtype=pl.Utf8
                ),
                "scores": vectors,
                "label_scores": label_scores,
            }
        )
        stamp = start.strftime("%Y%m%d%H%M")
        return (
            frame.with_columns(
                pl.format("{}-{}-{}", pl.lit(self.prefix), pl.lit(stamp), pl.col("seq")).alias(
                    "item_id"
                ),
                *(
                    pl.when(pl.col("status").is_in(["error", "timeout"]))
                    .then(None)
                    .otherwise(pl.col(column))
                    .alias(column)
                    for column in ("labels", "scores", "label_scores")
                ),
                pl.col("score").fill_nan(None),
                pl.col("event_time").dt.replace_time_zone("UTC").dt.cast_time_unit("us"),
            )
            .select(list(LOG_SCHEMA))
            .cast(LOG_SCHEMA)
        )

    def shifted_truth(
        self, frame: pl.DataFrame, truth: pl.Series, incidents: tuple | list
    ) -> pl.Series:
        """The truth of ``frame``'s items: the corpus's, except inside a concept shift, where
        ``share`` of the posts the model reads as the class after ``miss`` mean ``miss`` (a new
        idiom): the model reads them as before, as surely as before, and is wrong."""
        shifts = [
            i for i in incidents if i.signal == self.signal.name and i.kind == "concept_shift"
        ]
        if not shifts or self.signal.task != "multiclass" or frame.is_empty():
            return truth
        values = truth.cast(pl.Utf8).to_numpy().astype(object)
        for incident in shifts:
            values[_shift_rows(self, frame, incident)] = incident.miss
        return pl.Series(values.tolist(), dtype=pl.Utf8)

    def content(
        self, frame: pl.DataFrame, idx: np.ndarray, incidents: tuple | list = ()
    ) -> pl.DataFrame:
        """The posts' text by item id, as the platform's content store would give it to the
        LLM judge (``<data>/content/``); written only for signals with a judge rubric.

        Only the posts whose meaning the simulator knows (those with a truth) are in it, so its
        judge (``simulator.judge``) is never asked what nobody knows; the judge counts the
        others as "no text". A post a concept shift re-means carries the shift's new words
        (``simulator.judge.idiom``), which the served model's scores were computed without."""
        if self.truth is None:
            return pl.DataFrame(schema=CONTENT_SCHEMA)
        text = self.corpus["text"].gather(idx)
        truth = self.shifted_truth(frame, self.corpus[self.truth].gather(idx), incidents)
        for incident in incidents:
            if incident.signal != self.signal.name or incident.kind != "concept_shift":
                continue
            moved = pl.Series(_shift_rows(self, frame, incident))
            text = pl.select(
                pl.when(moved).then(text + idiom(self.signal.name, incident.miss)).otherwise(text)
            ).to_series()
        known = truth.is_not_null()
        return pl.DataFrame(
            {"item_id": frame["item_id"].filter(known), "text": text.filter(known)},
            schema=CONTENT_SCHEMA,
        )

    def labels(
        self,
        frame: pl.DataFrame,
        idx: np.ndarray,
        until: datetime,
        label_rate: float,
        rater_noise: float = 0.04,
        incidents: tuple[Incident, ...] | list[Incident] = (),
    ) -> pl.DataFrame:
        """Human labels for a sample of ``frame``'s items whose text has ground truth.

        Labels arrive 1 h to a few days after the event (log-normal, median ~20 h); those that
        would arrive after ``until`` are not written. Raters disagree with the truth at
        ``rater_noise``. Inside a ``concept_shift`` of ``incidents`` the truth itself moves
        (``shifted_truth``).
        """
        if self.truth is None or frame.is_empty():
            return pl.DataFrame(schema=LABEL_SCHEMA)
        rng = self.rng(frame["event_time"][0], salt=1)
        n = len(frame)
        truth = self.shifted_truth(frame, self.corpus[self.truth].gather(idx), incidents)
        picked = (~truth.is_null().to_numpy()) & (rng.random(n) < label_rate)
        delay_h = np.maximum(1.0, rng.lognormal(np.log(20.0), 0.8, n))
        labeled_at = frame["event_time"].to_numpy() + (delay_h * 3.6e9).astype("timedelta64[us]")
        picked &= labeled_at < np.datetime64(until.replace(tzinfo=None), "us")
        noisy = rng.random(n) < rater_noise
        sel = np.flatnonzero(picked)
        if self.signal.task == "entities":
            values = truth.to_list()
            label_lists = []
            for i in sel:
                brands = [f"brand:{b}" for b in values[i]]
                if noisy[i] and brands:
                    brands = brands[:-1]  # a rater misses one
                label_lists.append(brands)
            label, labels = [None] * len(sel), label_lists
        else:
            values = truth.cast(pl.Utf8).to_numpy()[sel].astype(object)
            if self.signal.task == "multiclass":
                flip = noisy[sel]
                values[flip] = self.classes[rng.integers(0, len(self.classes), int(flip.sum()))]
            else:
                flip = noisy[sel]
                values[flip] = np.where(values[flip] == "1", "0", "1")
            label, labels = list(values), [None] * len(sel)
        return pl.DataFrame(
            {
                "item_id": frame["item_id"].gather(sel),
                "label": pl.Series(label, dtype=pl.Utf8),
                "labels": pl.Series(labels, dtype=pl.List(pl.Utf8)),
                "source": "human",
                "labeled_at": pl.Series(labeled_at[sel]).dt.replace_time_zone("UTC"),
                "rater_id": pl.Series(
                    [f"r{k:02d}" for k in rng.integers(1, 21, len(sel))], dtype=pl.Utf8
                ),
            }
        ).cast(LABEL_SCHEMA)


def _shift_rows(replay: Replay, frame: pl.DataFrame, incident: Incident) -> np.ndarray:
    """The rows of ``frame`` whose truth a concept shift moves: ``share`` of those (inside
    its window) the model reads as the class after ``miss``, drawn from a stream of their own."""
    k = list(replay.classes).index(incident.miss)
    after = replay.classes[(k + 1) % len(replay.classes)]
    times = frame["event_time"].to_numpy()
    rng = replay.rng(frame["event_time"][0], salt=3)
    drawn = rng.random(len(frame)) < incident.param("share")
    read_as = (frame["label"] == after).fill_null(False).to_numpy()
    return _active(times, incident) & read_as & drawn


def _active(times: np.ndarray, incident: Incident) -> np.ndarray:
    start = np.datetime64(incident.start.replace(tzinfo=None), "us")
    end = np.datetime64(incident.end.replace(tzinfo=None), "us")
    return (times >= start) & (times < end)


def _diurnal_times(
    rng: np.random.Generator, start: datetime, end: datetime, rate_per_day: float
) -> np.ndarray:
    """Event times in ``[start, end)``: Poisson counts per 5 minutes (or the part of 5 minutes a
    short span covers) under a diurnal rate."""
    total = (end - start).total_seconds()
    step = STEP.total_seconds()
    offsets = np.arange(0.0, total, step)
    widths = np.minimum(step, total - offsets)
    seconds_of_day = (start.hour * 3600 + start.minute * 60 + start.second + offsets) % 86400
    # Quiet around 04:00 UTC, busiest around 16:00 UTC: 0.4x to 1.6x the mean rate.
    shape = 1.0 + 0.6 * np.sin(2 * np.pi * (seconds_of_day / 3600 - 10) / 24)
    counts = rng.poisson(rate_per_day * widths / 86400 * shape)
    jitter = rng.random(int(counts.sum())) * np.repeat(widths, counts)
    micros = ((np.repeat(offsets, counts) + jitter) * 1e6).astype(np.int64)
    micros.sort()
    base = np.datetime64(start.replace(tzinfo=None), "us")
    return base + micros.astype("timedelta64[us]")
