"""Inference: all five signals on one short text (p50 after warm-up, target < 100 ms) and on
1,000 texts (target < 20 s), beside the bare MiniLM encoder on the same input."""

from __future__ import annotations

import statistics
import time

from inference import catalog, datasets
from inference.embeddings import encoder
from sigwatch.registry import load_registry
from sigwatch.settings import Settings

SHORT = "Sony WH-1000XM5 vs Bose QC Ultra for long flights? comfort matters most"


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    registry = load_registry(Settings.from_env().definitions_dir)
    signals = list(registry)
    for signal in signals:  # load and warm up every model
        catalog.predict(signal, ["warm up"])
    model = encoder()

    def all_signals(texts: list[str]) -> float:
        return _timed(lambda: [catalog.predict(s, texts) for s in signals])

    def bare(texts: list[str]) -> float:
        return _timed(lambda: model.encode(texts, batch_size=64))

    # A new text each time, so the in-process embedding memo cannot help.
    single = [all_signals([f"{SHORT} #{i}"]) for i in range(30)]
    single_bare = [bare([f"{SHORT} ({i})"]) for i in range(30)]
    p50, bare_p50 = statistics.median(single), statistics.median(single_bare)
    p95 = statistics.quantiles(single, n=20)[18]
    verdict = "ok" if p50 < 100 else "OVER TARGET"
    print(f"one short text, all {len(signals)} signals: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    print(f"  target p50 < 100 ms: {verdict}")
    print(f"  baseline, bare MiniLM encode of one text: p50 {bare_p50:.1f} ms")
    print(f"  ratio: all signals cost {p50 / bare_p50:.1f}x one encode")

    posts = [p.text for p in datasets.gold()]
    texts = [posts[i % len(posts)] + f" ({i})" for i in range(1000)]
    batch_s = all_signals(texts) / 1000
    bare_s = bare([t + "." for t in texts]) / 1000
    verdict = "ok" if batch_s < 20 else "OVER TARGET"
    print(f"1,000 texts, all {len(signals)} signals: {batch_s:.2f} s ({1000 / batch_s:.0f}/s)")
    print(f"  target < 20 s: {verdict}")
    print(f"  baseline, bare MiniLM encode of 1,000 texts: {bare_s:.2f} s")
    print(f"  ratio: {batch_s / bare_s:.1f}x")
