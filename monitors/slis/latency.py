"""latency: good = answered within ``threshold_ms`` (at or under it, like a Prometheus ``le``
bucket, so logs and Prometheus agree). When Prometheus is the source (``prom_total`` in the
partial), its counts are used; a bucket whose Prometheus read failed counts nothing, so the SLO
shows ``no_data`` rather than silently falling back. Beside the SLO it shows p50/p95/p99 over the
last hour (``display``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitors.partials import latency_quantile, merge
from monitors.windows import label

QUANTILES_OVER = timedelta(hours=1)


def good_total(sli, signal, payload: dict) -> tuple[float, float]:
    key = f"{sli.threshold_ms:g}"
    if "prom_error" in payload:
        return 0, 0
    if "prom_total" in payload:
        return payload.get("prom_le", {}).get(key, 0), payload["prom_total"]
    return payload.get("latency_le", {}).get(key, 0), payload.get("total", 0)


def display(ctx, at: datetime) -> dict:
    """p50/p95/p99 latency (ms) over the hour before ``at``, from the logs' histogram."""
    parts = ctx.serving(at - QUANTILES_OVER, at)
    hist = merge(p.payload.get("latency_hist", {}) for p in parts)
    return {f"p{q}_ms": latency_quantile(hist, q / 100) for q in (50, 95, 99)} | {
        "quantiles_over": label(QUANTILES_OVER)
    }
