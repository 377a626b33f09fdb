"""Latency of the HTTP service, and what concurrent callers get, on a real `bentoml serve`.

    python benchmarks/service_latency.py [--rounds 20]

Serves `troop-stance:latest` (or TROOP_STANCE_MODEL) on a free loopback port and measures:
the seed articles one after another; one-pair and 64-pair /classify calls one after
another; 16 concurrent one-pair /classify calls, twice, each time followed by one-pair
calls one after another; and one-pair calls while an article call runs. Run by hand (not
in the test suite); the README records it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import time
from pathlib import Path

import httpx
from machine import describe

from service.demo import running_service

REPO = Path(__file__).resolve().parents[1]
PAIR = {"text": "The UK has ruled out sending troops but will keep supplying air defence.", "country": "UK"}


def timed(call) -> float:
    started = time.perf_counter()
    response = call()
    response.raise_for_status()
    return time.perf_counter() - started


def summary(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms ({len(ordered)} calls)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20, help="calls per sequential measurement")
    args = parser.parse_args()
    seeds = [path.read_text(encoding="utf-8") for path in sorted((REPO / "seeds").glob("*.txt"))]
    print(describe())
    with running_service() as url, httpx.Client(base_url=url, timeout=120) as client:
        article = lambda text: client.post("/score_article", json={"text": text})  # noqa: E731
        classify = lambda n: client.post("/classify", json={"pairs": [PAIR] * n})  # noqa: E731
        for text in seeds:  # warm every path once
            article(text)
        rounds = max(1, args.rounds // len(seeds))
        print("seed article, sequential:", summary([timed(lambda t=t: article(t)) for t in seeds * rounds]))
        print("/classify 1 pair, sequential:", summary([timed(lambda: classify(1)) for _ in range(args.rounds)]))
        print("/classify 64 pairs, sequential:", summary([timed(lambda: classify(64)) for _ in range(args.rounds)]))
        for burst in (1, 2):  # a batcher that learns from load can keep lone calls waiting after it
            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                started = time.perf_counter()
                each = list(pool.map(lambda _: timed(lambda: classify(1)), range(16 * args.rounds)))
                wall = time.perf_counter() - started
            print(f"/classify 1 pair, 16 callers at once ({burst}): {len(each) / wall:.0f} calls/s; {summary(each)}")
            after = [timed(lambda: classify(1)) for _ in range(3 * args.rounds)]
            print(f"/classify 1 pair, sequential, right after them ({burst}):", summary(after))
        long_text = "\n".join(seeds * 8)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            busy = pool.submit(timed, lambda: article(long_text))
            time.sleep(0.2)
            beside = []
            while not busy.done():
                beside.append(timed(lambda: classify(1)))
            print(
                f"/classify 1 pair while a {len(long_text):,}-character article call runs "
                f"({busy.result():.1f} s): {summary(beside)}"
            )


if __name__ == "__main__":
    main()
