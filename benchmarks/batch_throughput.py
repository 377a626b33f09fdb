"""Throughput of `stance score` against a plain Hugging Face pipeline, same model, same pairs.

    python benchmarks/batch_throughput.py [--model troop-stance:latest] [--sentences 2000]

The corpus is fixed: the committed corpus's distinct sentences, sorted, cut into
articles of eight. Run by hand (not in the test suite); the README records its output.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from machine import describe
from transformers import pipeline

from model.batch import ScoreSettings, score_corpus
from model.inputs import prepare
from model.pairs import article_pairs
from model.predictor import cpu_threads
from model.store import DEFAULT_TAG, load_registered
from training.corpus import load_pairs

REPO = Path(__file__).resolve().parents[1]


def synthetic_articles(sentences: int) -> list[str]:
    texts = sorted({row.text for row in load_pairs([REPO / "training" / "data" / "corpus"])})
    texts = texts[:sentences]
    return [" ".join(texts[i : i + 8]) for i in range(0, len(texts), 8)]


def score_command(predictor, articles: list[str]) -> tuple[float, list[dict]]:
    """Pairs per second of the batch command's code path, and its output rows."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "corpus.jsonl"
        source.write_text("".join(json.dumps({"text": t}) + "\n" for t in articles))
        started = time.perf_counter()
        report = score_corpus(
            predictor, [str(source)], Path(folder) / "out.jsonl", Path(folder) / "sum.jsonl", ScoreSettings()
        )
        seconds = time.perf_counter() - started
        rows = [json.loads(line) for line in (Path(folder) / "out.jsonl").read_text().splitlines()]
    return report.pairs / seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_TAG)
    parser.add_argument("--sentences", type=int, default=2200, help="distinct corpus sentences to use")
    args = parser.parse_args()
    torch.set_num_threads(cpu_threads())
    predictor = load_registered(args.model, device="cpu")
    articles = synthetic_articles(args.sentences)
    pairs = [p for text in articles for p in article_pairs(text).pairs]
    print(
        f"machine: {describe()}; {len(articles)} articles, "
        f"{sum(len(article_pairs(t).sentences) for t in articles)} sentences, {len(pairs)} pairs"
    )

    ours, rows = score_command(predictor, articles)
    print(f"stance score (end to end, files in and out; precision auto = {predictor.dtype}): {ours:.1f} pairs/s")
    exact, exact_rows = score_command(load_registered(args.model, device="cpu", precision="fp32"), articles)
    print(f"stance score --precision fp32: {exact:.1f} pairs/s")

    rendered = prepare(pairs, predictor.tokenizer, predictor.fmt)
    classify = pipeline("text-classification", model=predictor.classifier, tokenizer=predictor.tokenizer, device=-1)
    started = time.perf_counter()
    outputs = classify([{"text": r.first, "text_pair": r.second} for r in rendered])
    hf_seconds = time.perf_counter() - started
    hf = len(pairs) / hf_seconds
    print(f"transformers pipeline (default settings): {hf:.1f} pairs/s")
    for name, rate, scored in (("auto", ours, rows), ("fp32", exact, exact_rows)):
        same = sum(r["label"] == o["label"] for r, o in zip(scored, outputs, strict=True)) / len(scored)
        print(f"{name}: speed-up {rate / hf:.2f}x; identical labels on {same:.1%} of {len(scored)} pairs")


if __name__ == "__main__":
    main()
