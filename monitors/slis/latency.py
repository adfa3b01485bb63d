"""latency: good = answered within ``threshold_ms`` (at or under it, like a Prometheus ``le``
bucket, so logs and Prometheus agree)."""


def good_total(sli, signal, payload: dict) -> tuple[float, float]:
    return payload.get("latency_le", {}).get(f"{sli.threshold_ms:g}", 0), payload.get("total", 0)
