"""Print the README's quality table: the registered model and both baselines on the
committed test split, the seed articles and the real-news development set; with
``--per-label``, the model card's table of per-label precision, recall and F1 instead.

    python benchmarks/quality_table.py [--model troop-stance:latest] [--per-label]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model.labels import LABELS
from model.store import DEFAULT_TAG, load_registered, registered
from training.evaluate import evaluate, load_labeled

REPO = Path(__file__).resolve().parents[1]
SETS = {
    "committed test split": (["training/data/corpus"], "test"),
    "seed articles": (["seeds/labels.jsonl"], ""),
    "real-news dev": (["../shared/dev/real_news_dev.jsonl"], ""),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_TAG)
    parser.add_argument("--per-label", action="store_true", help="per-label precision, recall and F1")
    args = parser.parse_args()
    predictor = load_registered(args.model)
    folder = Path(registered(predictor.tag).path)  # the version just loaded, though `latest` move
    print(f"model {predictor.tag}\n")
    print(PER_LABEL_HEAD if args.per_label else SYSTEMS_HEAD)
    for title, (paths, split) in SETS.items():
        result = evaluate(predictor, load_labeled([str(REPO / p) for p in paths], split), folder)
        rows = _per_label_rows(result.metrics) if args.per_label else _system_rows(result.metrics)
        for row in rows:
            print(f"| {title} | " + " | ".join(row) + " |")


SYSTEMS_HEAD = "| data | pairs | system | accuracy | macro-F1 | F_avg | ECE |\n|---|---|---|---|---|---|---|"
PER_LABEL_HEAD = "| data | label | gold pairs | precision | recall | F1 |\n|---|---|---|---|---|---|"


def _system_rows(metrics: dict) -> list[list[str]]:
    systems = {"fine-tuned": metrics, **metrics["baselines"]}
    return [
        [str(m["n"]), name, *(f"{m[key]:.3f}" for key in ("accuracy", "macro_f1", "f_avg", "ece"))]
        for name, m in systems.items()
    ]


def _per_label_rows(metrics: dict) -> list[list[str]]:
    return [
        [label, str(m["support"]), *(f"{m[key]:.3f}" for key in ("precision", "recall", "f1"))]
        for label, m in ((label, metrics["per_label"][label]) for label in LABELS)
    ]


if __name__ == "__main__":
    main()
