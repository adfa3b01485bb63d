"""latency: good = answered within ``threshold_ms`` (at or under it, like a Prometheus ``le``
bucket, so logs and Prometheus agree). When Prometheus is the source (``prom_total`` in the
partial), its counts are used; a bucket whose Prometheus read failed counts nothing, so the SLO
shows ``no_data`` rather than silently falling back."""


def good_total(sli, signal, payload: dict) -> tuple[float, float]:
    key = f"{sli.threshold_ms:g}"
    if "prom_error" in payload:
        return 0, 0
    if "prom_total" in payload:
        return payload.get("prom_le", {}).get(key, 0), payload["prom_total"]
    return payload.get("latency_le", {}).get(key, 0), payload.get("total", 0)
