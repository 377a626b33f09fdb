"""Every country the resolver finds in each seed sentence, against a checked expectation.

``seeds/mentions.jsonl`` was reviewed sentence by sentence against the articles; a
change to splitting or resolving that moves any of it fails here.
"""

from __future__ import annotations

import json

from model.pairs import article_pairs
from tests.conftest import SEEDS


def test_seed_sentences_and_countries_match_the_checked_expectation(seed_articles):
    expected: dict[str, list[dict]] = {}
    for line in (SEEDS / "mentions.jsonl").read_text().splitlines():
        row = json.loads(line)
        expected.setdefault(row["article"], []).append(row)
    assert sorted(expected) == sorted(seed_articles)
    for name, article in seed_articles.items():
        built = article_pairs(article)
        found: dict[int, list[str]] = {}
        for pair in built.pairs:
            if pair.spans:  # what the resolver finds; pairs meant through context are test_pairs.py's
                found.setdefault(pair.sentence.index, []).append(pair.country.name)
        actual = [(s.text, found.get(s.index, [])) for s in built.sentences]
        assert actual == [(row["text"], row["countries"]) for row in expected[name]], name
