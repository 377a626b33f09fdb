"""The default model, built as the README builds it, meets its quality floors.

Slow: it fine-tunes the real encoder on the committed corpus (minutes on 2 CPU cores).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO
from tools.stance_commands import run_stance

pytestmark = pytest.mark.slow

# Floors the default model must keep; a corpus or code change that drops below fails here.
# Set a few points under the lowest of five seeds' builds (MODEL_CARD.md, sixth round), since the
# seeds' 14 stance pairs move macro-F1 by 0.03-0.05 each and other hardware rounds differently.
FLOORS = {"test": 0.83, "seeds": 0.70, "dev": 0.78}
BASELINE_MARGIN = 0.10  # over TF-IDF + logistic regression, in macro-F1

DATA = {
    "test": ["--data", "training/data/corpus", "--split", "test"],
    "seeds": ["--data", "seeds/labels.jsonl"],
    "dev": ["--data", "../shared/dev/real_news_dev.jsonl"],
}


# Ordinary news that names countries and says nothing of troops: the share of its pairs read
# as `none`. Builds with `b22` read 0.92 to 0.94 of them so (without it, 0.55 to 0.57).
OFF_TOPIC_FLOOR = 0.88


def test_default_model_reads_ordinary_news_as_no_stance(default_model_home):
    out = run_stance(["evaluate", "--data", "training/data/checks/off_topic.jsonl", "--json"], default_model_home)
    metrics = json.loads(out.strip().splitlines()[-1])
    print(f"off-topic check: {metrics['accuracy']:.3f} of {metrics['n']} pairs read as none")
    assert metrics["accuracy"] >= OFF_TOPIC_FLOOR
    assert metrics["ece"] <= 0.15


@pytest.mark.parametrize("name", ["test", "seeds", "dev"])
def test_default_model_quality(default_model_home, name):
    if not (REPO / DATA[name][1]).exists():
        pytest.skip(f"{DATA[name][1]} is not beside this checkout")
    out = run_stance(["evaluate", *DATA[name], "--baselines", "--json"], default_model_home)
    metrics = json.loads(out.strip().splitlines()[-1])
    print(f"{name}: macro-F1 {metrics['macro_f1']:.3f}, tfidf {metrics['baselines']['tfidf_lr']['macro_f1']:.3f}")
    assert metrics["macro_f1"] >= FLOORS[name]
    assert metrics["macro_f1"] >= metrics["baselines"]["tfidf_lr"]["macro_f1"] + BASELINE_MARGIN
    assert metrics["ece"] <= 0.15


def test_seed_articles_scored_through_the_http_api(default_model_home):
    """Per-country article stances from the real service against the seed labels.

    Gold article stances come from the gold sentence labels through the same rule
    (model/aggregate.py) that the service applies to its predictions.
    """
    from collections import Counter

    from model.aggregate import article_label
    from service.demo import running_service, score_files
    from tests.conftest import SEEDS
    from training.corpus import load_pairs

    gold_counts: dict[tuple[str, str], Counter] = {}
    gold_pairs = {}
    for row in load_pairs([SEEDS / "labels.jsonl"]):
        article = row.group.removeprefix("seed-")
        gold_counts.setdefault((article, row.country.iso3), Counter())[row.label] += 1
        gold_pairs[(row.text, row.country.iso3)] = row.label
    paths = sorted(SEEDS.glob("*.txt"))
    with running_service(home=default_model_home) as url:
        results = score_files(url, paths)
    agree = total = pair_hits = pair_total = 0
    for path, result in zip(paths, results, strict=True):
        text = path.read_text()
        for sentence in result["sentences"]:
            assert text[sentence["start"] : sentence["end"]] == sentence["text"]
            for pair in sentence["pairs"]:
                pair_total += 1
                # A pair meant through context that the labels lack is a country not meant: none.
                pair_hits += gold_pairs.get((sentence["text"], pair["iso3"]), "none") == pair["label"]
        for country in result["countries"]:
            total += 1
            agree += article_label(gold_counts.get((path.name[:3], country["iso3"]), Counter())) == country["label"]
    print(f"article stances {agree}/{total}, sentence pairs {pair_hits}/{pair_total}")
    assert agree / total >= 0.85
    assert pair_hits / pair_total >= 0.80
