"""Reduced precision against float32 on the same model and pairs: speed, how far logits
move, and how many labels change with and without the float32 recheck of near-ties.

    python benchmarks/precision.py [--model troop-stance:latest] [--precision bf16]

Pairs: every distinct (sentence, country) of the committed corpus, the seeds and, when
present, the real-news dev set. Run by hand; the README records its output.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from machine import describe

from model.predictor import cpu_threads
from model.store import DEFAULT_TAG, load_registered
from training.corpus import load_pairs

REPO = Path(__file__).resolve().parents[1]
SOURCES = ["training/data/corpus", "seeds/labels.jsonl", "../shared/dev/real_news_dev.jsonl"]


def timed_logits(predictor, pairs, dtype, margin) -> tuple[list, list[torch.Tensor], float]:
    """Predictions and per-batch logits through the predictor's own batching, and pairs per second."""
    predictor.dtype, predictor.recheck_margin = dtype, margin
    seen = []
    forward = predictor._logits

    def keep(inputs):
        out = forward(inputs)
        seen.append(out.clone())
        return out

    predictor._logits = keep
    started = time.perf_counter()
    predictions = predictor.predict_pairs(pairs)
    seconds = time.perf_counter() - started
    del predictor._logits
    return predictions, seen, len(pairs) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_TAG)
    parser.add_argument("--precision", default="bf16", choices=["bf16", "fp16"])
    args = parser.parse_args()
    torch.set_num_threads(cpu_threads())
    predictor = load_registered(args.model, device="cpu")
    paths = [str(REPO / s) for s in SOURCES if (REPO / s).exists()]
    rows = {(r.text, r.country, r.context): r for r in load_pairs(paths)}
    pairs = [r.to_pair() for r in rows.values()]
    low = getattr(torch, {"bf16": "bfloat16", "fp16": "float16"}[args.precision])
    print(f"machine: {describe()}; {len(pairs)} pairs")

    exact, exact_logits, fp32_rate = timed_logits(predictor, pairs, torch.float32, 0.0)
    raw, raw_logits, raw_rate = timed_logits(predictor, pairs, low, float("-inf"))
    moved = max((a - b).abs().max().item() for a, b in zip(exact_logits, raw_logits, strict=True))
    gaps = torch.cat([row.topk(2, dim=-1).values.diff(dim=-1).abs().squeeze(-1) for row in exact_logits])
    print(f"float32: {fp32_rate:.1f} pairs/s")
    print(f"{args.precision}, no recheck: {raw_rate:.1f} pairs/s, largest logit change {moved:.3f}")
    print(f"  labels changed: {sum(a.label != b.label for a, b in zip(exact, raw, strict=True))}")
    for margin in (0.25, 0.5, 1.0):
        checked, _, rate = timed_logits(predictor, pairs, low, margin)
        changed = sum(a.label != b.label for a, b in zip(exact, checked, strict=True))
        share = (gaps < margin).float().mean().item()
        print(
            f"{args.precision}, recheck below {margin}: {rate:.1f} pairs/s ({rate / fp32_rate:.2f}x float32), "
            f"{share:.1%} rechecked, labels changed: {changed}"
        )


if __name__ == "__main__":
    main()
