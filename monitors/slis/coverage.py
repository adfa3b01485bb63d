"""coverage: good = served (status ``ok`` and score >= the serving threshold); all eligible
items count."""


def good_total(sli, signal, payload: dict) -> tuple[float, float]:
    return payload.get("served", 0), payload.get("total", 0)
