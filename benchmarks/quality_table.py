"""Print the README's quality table: the registered model and both baselines on the
committed test split, the seed articles and the real-news development set.

    python benchmarks/quality_table.py [--model troop-stance:latest]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import bentoml

from model.store import DEFAULT_TAG, load_registered
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
    args = parser.parse_args()
    predictor = load_registered(args.model)
    folder = Path(bentoml.models.get(args.model).path)
    print(f"model {bentoml.models.get(args.model).tag}\n")
    print("| data | pairs | system | accuracy | macro-F1 | F_avg | ECE |")
    print("|---|---|---|---|---|---|---|")
    for title, (paths, split) in SETS.items():
        result = evaluate(predictor, load_labeled([str(REPO / p) for p in paths], split), folder)
        rows = {"fine-tuned": result.metrics, **result.metrics["baselines"]}
        for system, m in rows.items():
            print(
                f"| {title} | {m['n']} | {system} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | "
                f"{m['f_avg']:.3f} | {m['ece']:.3f} |"
            )


if __name__ == "__main__":
    main()
