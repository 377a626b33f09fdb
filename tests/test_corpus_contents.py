"""The committed corpus keeps the size, balance and variety the default model needs."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

import pytest

from model.labels import LABELS, NONE
from model.pairs import article_pairs
from tests.conftest import REPO, SEEDS
from training.corpus import read_pairs, read_splits, split_pairs

CORPUS = REPO / "training" / "data" / "corpus"


@pytest.fixture(scope="module")
def corpus():
    pairs, problems = read_pairs([CORPUS])
    raw = [
        json.loads(line)
        for path in sorted(CORPUS.glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    return pairs, problems, raw


def test_corpus_validates_cleanly(corpus):
    pairs, problems, raw = corpus
    assert problems == []
    assert len(pairs) == len(raw)


def test_size_and_label_balance(corpus):
    pairs, _, _ = corpus
    # Just under the committed corpus (10,115 pairs, 5,166 sentences), so dropping data is
    # a deliberate change to this test, not a side effect; the labeled-corpus issue's own
    # minimum was 3,000 pairs.
    assert len(pairs) >= 10_000
    assert len({p.text for p in pairs}) >= 5_000
    shares = Counter(p.label for p in pairs)
    for label in LABELS:
        assert shares[label] / len(pairs) >= 0.15, label


def test_actors_topics_and_hard_cases(corpus):
    pairs, _, raw = corpus
    actors = {p.country.iso3 for p in pairs if p.label != NONE}
    assert len(actors) >= 60
    ukraine = sum(r["topic"] == "ukraine" for r in raw) / len(raw)
    assert 0.6 <= ukraine <= 0.8
    # Hard cases by a deliberate tag; the automatic multi_label tag does not count.
    hard = sum(bool(set(r["case"]) - {"multi_label"}) for r in raw) / len(raw)
    assert hard >= 0.20


def test_sentences_are_as_long_as_real_news(corpus):
    pairs, _, _ = corpus
    words = [len(text.split()) for text in {p.text for p in pairs}]
    assert statistics.median(words) >= 20
    assert sum(w > 39 for w in words) / len(words) >= 0.10


def test_splits_are_whole_groups_and_the_test_split_is_substantial(corpus):
    pairs, _, _ = corpus
    splits = read_splits()
    groups = {p.group for p in pairs}
    assert splits["test"] <= groups
    assert splits["dev"] <= groups
    assert not splits["test"] & splits["dev"]
    parts = split_pairs(pairs, splits)
    assert len(parts["test"]) >= 0.1 * len(pairs)
    assert {p.text for p in parts["test"]}.isdisjoint({p.text for p in parts["train"]})


def test_seed_labels_cover_every_country_the_resolver_finds():
    labels, problems = read_pairs([SEEDS / "labels.jsonl"])
    assert problems == []
    labeled = {(p.text, p.country.iso3) for p in labels}
    for path in sorted(Path(SEEDS).glob("*.txt")):
        for pair in article_pairs(path.read_text()).pairs:
            if pair.spans:  # named; a pair meant through context is a candidate the model may read as none
                assert (pair.text, pair.country.iso3) in labeled, (path.name, pair.text[:60])


def test_extra_batches_validate_and_stay_out_of_the_corpus_and_its_splits(corpus):
    """training/data/extra is opt-in training data (README): clean, and disjoint from the corpus."""
    pairs, _, _ = corpus
    extra, problems = read_pairs([REPO / "training" / "data" / "extra"])
    assert problems == []
    assert extra
    assert {p.text for p in extra}.isdisjoint({p.text for p in pairs})
    assert {p.group for p in extra}.isdisjoint({p.group for p in pairs})


def test_the_off_topic_check_is_none_throughout_and_shares_no_sentence_with_the_corpus(corpus):
    pairs, _, _ = corpus
    check, problems = read_pairs([REPO / "training" / "data" / "checks" / "off_topic.jsonl"])
    assert problems == []
    assert len(check) >= 200
    assert {p.label for p in check} == {NONE}
    assert not {p.text for p in check} & {p.text for p in pairs}  # never trained on
