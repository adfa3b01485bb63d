"""Run every benchmark: ``python -m bench [inference|replay|monitor|console|store|spark ...]``
(``estimates``: only the monitor measurements the quality estimates change)."""

from __future__ import annotations

import sys

from bench import (
    console_bench,
    inference_bench,
    monitor_bench,
    replay_bench,
    spark_bench,
    store_bench,
)

BENCHES = {
    "inference": inference_bench.main,
    "replay": replay_bench.main,
    "monitor": monitor_bench.main,
    "estimates": monitor_bench.estimates_main,
    "console": console_bench.main,
    "store": store_bench.main,
    "spark": spark_bench.main,
}


def main(argv: list[str]) -> int:
    chosen = argv or [name for name in BENCHES if name != "estimates"]  # monitor holds it
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHES)}")
        return 2
    for name in chosen:
        print(f"\n== {name} ==")
        BENCHES[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
