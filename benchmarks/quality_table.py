"""Print the README's quality table: the registered model and both baselines on the
committed test split, the seed articles, the real-news development set and the off-topic
check (ordinary news, every pair `none`: accuracy is the share read as `none`); with
``--per-label``, the model card's table of per-label precision, recall and F1 instead;
with ``--articles``, the model's metrics per (article, country) under the article rule.

    python benchmarks/quality_table.py [--model troop-stance:latest] [--per-label | --articles]
        [--real-news ../shared/dev/real_news_dev.jsonl]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model.labels import CONFLICTING, LABELS
from model.store import DEFAULT_TAG, HEADLINE_METRICS, load_registered, registered
from training.corpus import load_pairs
from training.evaluate import evaluate, select_split, split_groups

REPO = Path(__file__).resolve().parents[1]
REAL_NEWS = REPO.parent / "shared" / "dev" / "real_news_dev.jsonl"  # the project's shared folder, not the repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_TAG)
    tables = parser.add_mutually_exclusive_group()
    tables.add_argument("--per-label", action="store_true", help="per-label precision, recall and F1")
    tables.add_argument("--articles", action="store_true", help="per (article, country), under the article rule")
    parser.add_argument(
        "--real-news", type=Path, default=REAL_NEWS, help="the real-news dev set (default: %(default)s)"
    )
    args = parser.parse_args()
    if not args.real_news.is_file():
        parser.error(f"--real-news {args.real_news}: no such file (the project's shared folder is beside the checkout)")
    sets = {
        "committed test split": ([REPO / "training/data/corpus"], "test"),
        "seed articles": ([REPO / "seeds/labels.jsonl"], ""),
        "real-news dev": ([args.real_news], ""),
        "off-topic check": ([REPO / "training/data/checks/off_topic.jsonl"], ""),
    }
    predictor = load_registered(args.model)
    folder = Path(registered(predictor.tag).path)  # the version just loaded, even if `latest` moves
    print(f"model {predictor.tag}\n")
    head, table = (
        (PER_LABEL_HEAD, _per_label_rows)
        if args.per_label
        else (ARTICLES_HEAD, _article_rows)
        if args.articles
        else (SYSTEMS_HEAD, _system_rows)
    )
    print(head)
    for title, (paths, split) in sets.items():
        rows = load_pairs(paths)
        if split:  # the groups this model held out, as `stance evaluate --split` picks them
            rows = select_split(rows, split, *split_groups(folder, None))
        result = evaluate(predictor, rows, folder)
        rows = table(result.metrics)
        for row in rows:
            print(f"| {title} | " + " | ".join(row) + " |")


SYSTEMS_HEAD = (
    "| data | pairs | system | accuracy | macro-F1 | F_avg | ECE | macro-F1, 95% interval |\n"
    "|---|---|---|---|---|---|---|---|"
)
PER_LABEL_HEAD = "| data | label | gold pairs | precision | recall | F1 |\n|---|---|---|---|---|---|"
ARTICLES_HEAD = (
    "| data | (article, country) | accuracy | macro-F1 | F_avg | gold `conflicting` | predicted `conflicting` |\n"
    "|---|---|---|---|---|---|---|"
)


def _system_rows(metrics: dict) -> list[list[str]]:
    systems = {"fine-tuned": metrics, **metrics["baselines"]}
    shown = [key for key in HEADLINE_METRICS if key in ("accuracy", "ece") or not _one_label(metrics)]
    return [
        [
            str(m["n"]),
            name,
            *(f"{m[key]:.3f}" if key in shown else "-" for key in HEADLINE_METRICS),
            _interval(m, shown),
        ]
        for name, m in systems.items()
    ]


def _interval(metrics: dict, shown: list[str]) -> str:
    """The model's macro-F1 interval over resampled sentences (``stance evaluate`` prints it)."""
    interval = metrics.get("macro_f1_interval")
    return f"{interval['low']:.3f} to {interval['high']:.3f}" if interval and "macro_f1" in shown else "-"


def _one_label(metrics: dict) -> bool:
    """Whether the gold labels are all one (the off-topic check): F1 over four labels says nothing there."""
    return sum(m["support"] > 0 for m in metrics["per_label"].values()) == 1


def _article_rows(metrics: dict) -> list[list[str]]:
    m = metrics["articles"]
    conflicting = m["per_label"].get(CONFLICTING)
    index = list(m["per_label"]).index(CONFLICTING) if conflicting else None
    predicted = sum(row[index] for row in m["confusion"]) if conflicting else 0
    keys = ("accuracy",) if _one_label(metrics) else ("accuracy", "macro_f1", "f_avg")
    scores = [
        "-" if key not in keys or m[key] is None else f"{m[key]:.3f}" for key in ("accuracy", "macro_f1", "f_avg")
    ]
    return [[str(m["n"]), *scores, str(conflicting["support"] if conflicting else 0), str(predicted)]]


def _per_label_rows(metrics: dict) -> list[list[str]]:
    if _one_label(metrics):
        return []
    return [
        [label, str(m["support"]), *(f"{m[key]:.3f}" for key in ("precision", "recall", "f1"))]
        for label, m in ((label, metrics["per_label"][label]) for label in LABELS)
    ]


if __name__ == "__main__":
    main()
