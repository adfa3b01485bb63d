"""error_rate: good = neither ``error`` nor ``timeout``."""


def good_total(sli, signal, payload: dict) -> tuple[float, float]:
    total = payload.get("total", 0)
    return total - payload.get("error", 0) - payload.get("timeout", 0), total
