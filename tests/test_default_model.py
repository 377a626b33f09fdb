"""The default model, built as the README builds it, meets its quality floors.

Slow: it fine-tunes the real encoder on the committed corpus (minutes on 2 CPU cores).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO, run_stance

pytestmark = pytest.mark.slow

# Floors the default model must keep; a corpus or code change that drops below fails here.
FLOORS = {"test": 0.76, "seeds": 0.78, "dev": 0.70}
BASELINE_MARGIN = 0.10  # over TF-IDF + logistic regression, in macro-F1

DATA = {
    "test": ["--data", "training/data/corpus", "--split", "test"],
    "seeds": ["--data", "seeds/labels.jsonl"],
    "dev": ["--data", "../shared/dev/real_news_dev.jsonl"],
}


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
