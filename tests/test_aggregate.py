"""The per-country article rule, including conflicting evidence."""

from __future__ import annotations

import pytest

from model.aggregate import SentenceStance, aggregate_article
from model.labels import LABELS


def _stance(index: int, iso3: str, label: str, p: float = 0.8) -> SentenceStance:
    rest = (1 - p) / 3
    probabilities = {name: (p if name == label else rest) for name in LABELS}
    return SentenceStance(
        index,
        index * 10,
        index * 10 + 9,
        f"sentence {index}",
        iso3,
        iso3.title(),
        label,
        probabilities,
    )


def _one(stances):
    (result,) = aggregate_article(stances)
    return result


def test_none_sentences_do_not_vote():
    result = _one([_stance(0, "POL", "none"), _stance(1, "POL", "wont_send", 0.9), _stance(2, "POL", "none")])
    assert result.label == "wont_send"
    assert result.counts == {"will_send": 0, "wont_send": 1, "logistics_only": 0, "none": 2}
    assert [e.sentence_index for e in result.evidence] == [1]
    assert result.confidence == pytest.approx(0.9)


def test_refusal_plus_support_role_is_logistics_only():
    result = _one([_stance(0, "POL", "wont_send"), _stance(3, "POL", "logistics_only", 0.7), _stance(5, "POL", "none")])
    assert result.label == "logistics_only"
    assert [(e.sentence_index, e.label) for e in result.evidence] == [(0, "wont_send"), (3, "logistics_only")]
    assert result.confidence == pytest.approx(0.7)  # the support role's own probability


def test_will_send_against_wont_send_is_conflicting_with_both_sides():
    result = _one(
        [
            _stance(2, "USA", "wont_send", 0.6),
            _stance(0, "USA", "will_send", 0.9),
            _stance(1, "USA", "logistics_only"),
        ]
    )
    assert result.label == "conflicting"
    assert [(e.sentence_index, e.label) for e in result.evidence] == [
        (0, "will_send"),
        (2, "wont_send"),
    ]
    assert result.confidence == pytest.approx(0.75)


def test_only_none_gives_none_with_all_sentences_as_evidence():
    result = _one([_stance(0, "UKR", "none", 0.9), _stance(4, "UKR", "none", 0.7)])
    assert result.label == "none"
    assert len(result.evidence) == 2
    assert result.confidence == pytest.approx(0.8)


def test_will_send_with_logistics_is_will_send():
    assert _one([_stance(0, "GBR", "logistics_only"), _stance(1, "GBR", "will_send")]).label == ("will_send")


def test_countries_come_out_in_order_of_first_mention():
    stances = [
        _stance(3, "FRA", "will_send"),
        _stance(1, "POL", "wont_send"),
        _stance(2, "FRA", "none"),
    ]
    assert [c.iso3 for c in aggregate_article(stances)] == ["POL", "FRA"]
    assert aggregate_article([]) == []
