"""Sentence-level stances to one stance per country for a whole article.

The rule, in one place:
1. Sentences predicted ``none`` do not vote.
2. No votes: the country is ``none``.
3. ``will_send`` and ``wont_send`` both present: ``conflicting``, with both sides as
   evidence (never settled by a vote).
4. Otherwise ``will_send`` if any sentence says so (a country sending troops may also
   run logistics); else ``logistics_only`` if any sentence says so (a refusal of troops
   plus a support role is logistics_only, as in the labeling guide's rule 3); else
   ``wont_send``.
Confidence is the mean probability of the article label over the sentences behind it
(for ``conflicting``: of each sentence's own label; for ``none``: of ``none`` over all
sentences naming the country). Evidence is those sentences, in article order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from statistics import fmean

from model.labels import CONFLICTING, LABELS, LOGISTICS_ONLY, NONE, WILL_SEND, WONT_SEND


@dataclass(frozen=True)
class SentenceStance:
    """One classified pair, located in its article."""

    sentence_index: int
    start: int
    end: int
    text: str
    iso3: str
    country: str
    label: str
    probabilities: dict[str, float]
    truncated: bool = False  # the sentence was cut around the country to fit the model
    # Where the country was named, as article offsets, and the words ("Kremlin", "Polish"):
    # what a reader checks first.
    mentions: tuple[tuple[int, int], ...] = ()
    named_as: tuple[str, ...] = ()

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]


@dataclass(frozen=True)
class CountryStance:
    """A country's stance over a whole article, with the sentences behind it."""

    iso3: str
    country: str
    label: str
    confidence: float
    counts: dict[str, int]
    evidence: list[SentenceStance] = field(default_factory=list)


def aggregate_article(stances: list[SentenceStance]) -> list[CountryStance]:
    """Combine sentence stances into one :class:`CountryStance` per country.

    Countries come out in order of first mention.
    """
    by_country: dict[str, list[SentenceStance]] = {}
    for stance in sorted(stances, key=lambda s: s.sentence_index):
        by_country.setdefault(stance.iso3, []).append(stance)
    return [_country_stance(found) for found in by_country.values()]


def _country_stance(stances: list[SentenceStance]) -> CountryStance:
    counts = Counter(s.label for s in stances)
    label = article_label(counts)
    if label == NONE:
        evidence = stances
        confidence = fmean(s.probabilities[NONE] for s in stances)
    elif label == CONFLICTING:
        evidence = [s for s in stances if s.label in (WILL_SEND, WONT_SEND)]
        confidence = fmean(s.confidence for s in evidence)
    else:
        behind = [s for s in stances if s.label == label]
        confidence = fmean(s.confidence for s in behind)
        # A refusal that rule 4 folds into logistics_only is part of why: show it too.
        folded = (WONT_SEND,) if label == LOGISTICS_ONLY else ()
        evidence = [s for s in stances if s.label == label or s.label in folded]
    first = stances[0]
    return CountryStance(
        iso3=first.iso3,
        country=first.country,
        label=label,
        confidence=confidence,
        counts={name: counts.get(name, 0) for name in LABELS},
        evidence=evidence,
    )


def article_label(counts: Counter) -> str:
    """The article label for a country, from its sentence-label counts (rule above)."""
    if counts[WILL_SEND] and counts[WONT_SEND]:
        return CONFLICTING
    for label in (WILL_SEND, LOGISTICS_ONLY, WONT_SEND):
        if counts[label]:
            return label
    return NONE
