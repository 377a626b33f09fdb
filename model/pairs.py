"""Sentences and country mentions to (sentence, country) pairs, the classifier's unit."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from model.countries import Country, CountryResolver, default_resolver
from model.markup import PlainText, html_text
from model.sentences import Sentence, after_last_line_end, is_bullet, split_sentences


@dataclass(frozen=True)
class Pair:
    """One question for the classifier: the stance of ``country`` in ``text``.

    ``spans`` are the country's mentions in ``text`` (empty when the country is meant
    but not named, e.g. "we" in a quote); ``sentence`` locates ``text`` in its article.
    """

    text: str
    country: Country
    context: str = ""
    spans: tuple[tuple[int, int], ...] = ()
    sentence: Sentence | None = None


@dataclass(frozen=True)
class ArticlePairs:
    """An article's sentences and the pairs built from them, in sentence order; offsets
    index the text read, which ``source`` maps back to the HTML it was read from."""

    sentences: list[Sentence]
    pairs: list[Pair]
    source: PlainText | None = None

    def in_source(self, start: int, end: int) -> tuple[int, int]:
        """A stretch of the text read, as offsets into the article as given."""
        return (self.source.start_of(start), self.source.end_of(end)) if self.source else (start, end)

    def source_sentences(self) -> list[Sentence]:
        """The sentences with offsets into the article as given; their text as read."""
        if self.source is None:
            return self.sentences
        return [replace(s, start=self.source.start_of(s.start), end=self.source.end_of(s.end)) for s in self.sentences]


def sentence_pairs(sentence: Sentence, context: str = "", resolver: CountryResolver | None = None) -> list[Pair]:
    """One pair per distinct country named in ``sentence``, in order of first mention."""
    resolver = resolver or default_resolver()
    spans: dict[Country, list[tuple[int, int]]] = {}
    for mention in resolver.find_mentions(sentence.text):
        spans.setdefault(mention.country, []).append((mention.start, mention.end))
    return [Pair(sentence.text, country, context, tuple(found), sentence) for country, found in spans.items()]


# A sentence means countries its context names (the labeling guide's rules 6 and 7) when
# a speaker's "we"/"our" stands inside quotation marks, or it opens with "They", "Those",
# "These", "Both"... Chosen on the real-news dev set (article stances right 0.828 against
# 0.813 without such pairs) and an analyst's eight articles, where a publisher's "Sign up
# for our newsletter" took the stance before it when "our" needed no quote, and "they"
# anywhere added pairs on ordinary news. Case-sensitive: "US" is a country, "us" is not.
_FIRST_PERSON = re.compile(r"\b(?:we|our|ours|us|We|Our|Ours)\b")
_OPENS_BACK = re.compile(r"^\W*(?:They|Those|These|Both|Such (?:countries|states|nations))\b")
# Opening mark -> its closing marks. Single quotes open only where a word starts, and ’ or '
# closes only where no letter follows, so "Britain’s" and "we're" stay apostrophes.
_CLOSERS = {"\u201c": "\u201d", "\u201e": "\u201c\u201d", "\u00ab": "\u00bb", "\u2018": "\u2019", '"': '"', "'": "'"}
_APOSTROPHE_LIKE = "\u2019'"
_ELISION = re.compile(r"(?:n|em|til|cause|tis|twas)\b")  # 'em, 'til: apostrophes that open no quote
_DECADE = re.compile(r"\d\ds?(?![\d,.])")  # the '90s, the class of '24


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """The stretches of ``text`` inside quotation marks (double, single, guillemets). A
    quote left open runs to the end; a closing mark with no opening one (the quote began
    in an earlier sentence) closes a quote that runs from the start."""
    spans: list[tuple[int, int]] = []
    start, closers = None, ""
    for i, ch in enumerate(text):
        before, after = text[i - 1 : i], text[i + 1 : i + 2]
        if start is not None:
            if ch in closers and not (ch in _APOSTROPHE_LIKE and after.isalpha()):
                spans.append((start, i + 1))
                start = None
        elif ch in _CLOSERS and _opens(ch, before, text[i + 1 : i + 7]):
            start, closers = i, _CLOSERS[ch]
        elif not spans and ch in '\u201d\u00bb"' and (not after or not after.isalnum()) and before[-1:] in ",.!?":
            spans.append((0, i + 1))  # the end of a quote begun in an earlier sentence
    if start is not None:
        spans.append((start, len(text)))
    return spans


def _opens(mark: str, before: str, after: str) -> bool:
    if mark in "\u201c\u201e\u00ab":
        return True
    # A straight or single mark opens a quote only at a word's start: "said 'we…'", not
    # "troops' pay"; a single one not before a digit ("the '90s") or an elision ("'em").
    at_start = not before or before.isspace() or before in "([{-–—:"
    if mark == '"':
        return at_start and bool(after) and not after[0].isspace()
    if after[:1].isdigit():  # "'20,000 of our troops…'" opens a quote; "the '90s" does not
        return at_start and _DECADE.match(after) is None
    return at_start and after[:1].isalpha() and _ELISION.match(after) is None


def refers_back(text: str) -> bool:
    """Whether a sentence means countries named before it: a speaker's "we" or "our"
    (inside quotation marks), or an opening "They", "Those", "These", "Both"."""
    return bool(_OPENS_BACK.search(text)) or _quoted_first_person(text)


def _quoted_first_person(text: str, spans: list[tuple[int, int]] | None = None) -> bool:
    spans = quoted_spans(text) if spans is None else spans
    return any(start <= m.start() < end for m in _FIRST_PERSON.finditer(text) for start, end in spans)


def article_pairs(
    text: str,
    resolver: CountryResolver | None = None,
    only: Iterable[Country] | None = None,
) -> ArticlePairs:
    """Split an article and build every pair, each with the previous sentence as context;
    an item of a list takes the sentence that introduced the list ("Those willing to send
    troops include:"), since the item before it says nothing of what the list is. A
    sentence that names no country but refers back (:func:`refers_back`) gets a pair,
    without mentions, for each country its context names."""
    resolver = resolver or default_resolver()
    sentences = split_sentences(text)
    wanted = set(only) if only is not None else None
    pairs: list[Pair] = []
    lead, line_start, searched = "", 0, 0
    for sentence in sentences:
        # Where this sentence's line starts; each stretch of text is searched once.
        line_start = max(line_start, after_last_line_end(text, searched, sentence.start))
        searched = sentence.start
        in_item = is_bullet(text[line_start : min(sentence.end, line_start + 40)])  # an item, or its later sentence
        if in_item and lead and is_bullet(sentence.text):
            context = lead
        else:
            context = sentences[sentence.index - 1].text if sentence.index else ""
        if not in_item:
            lead = sentence.text
        found = sentence_pairs(sentence, context, resolver)
        found += _meant_pairs(sentence, context, resolver, named=found)
        pairs.extend(p for p in found if wanted is None or p.country in wanted)
    return ArticlePairs(sentences, pairs)


def _meant_pairs(sentence: Sentence, context: str, resolver: CountryResolver, named: list[Pair]) -> list[Pair]:
    """Pairs for the countries ``context`` names that ``sentence`` means without naming.

    A sentence naming none means them when it refers back (:func:`refers_back`); a list's
    lead ("These countries said no:") refers forward. A sentence naming countries means
    them only through a speaker's quoted "we", and only when it names every country inside
    the quote ("'Our soldiers will not go to Ukraine,' he said"): a country named outside
    it ("Warsaw was clear: 'We will not…'") is the speaker's own."""
    text = sentence.text
    if not context or text.rstrip().endswith(":"):
        return []
    if named:
        spans = quoted_spans(text)
        inside = all(any(a <= s and e <= b for a, b in spans) for p in named for s, e in p.spans)
        if not (inside and _quoted_first_person(text, spans)) or _speaker_named(text, spans, named):
            return []
    elif not refers_back(text):
        return []
    taken = {p.country for p in named}
    meant = dict.fromkeys(m.country for m in resolver.find_mentions(context) if m.country not in taken)
    return [Pair(text, country, context, (), sentence) for country in meant]


# Inside a quote, what stands right before a country that is the speaker's own: "We
# Poles…", "our Polish soldiers". A quote opening with a country says nothing of the
# speaker: "'Russia must leave Ukraine, and we will send troops,' he said."
_SPEAKERS_OWN = re.compile(r"\b(?:we|We|us|our|Our)\s+$")


def _speaker_named(text: str, spans: list[tuple[int, int]], named: list[Pair]) -> bool:
    """Whether a quote names its speaker's country: then its "we" is that one's."""
    for pair in named:
        for start, _ in pair.spans:
            quote = next((a for a, b in spans if a <= start < b), None)
            if quote is not None and _SPEAKERS_OWN.search(text[quote:start]):
                return True
    return False


def read_article(
    text: str, html: bool = False, resolver: CountryResolver | None = None, only: Iterable[Country] | None = None
) -> ArticlePairs:
    """An article's pairs as a reader sees it: given as HTML, its text as a browser shows
    it (model/markup.py), with ``source`` to place what is found back in the HTML."""
    if not html:
        return article_pairs(text, resolver, only)
    read = html_text(text)
    return replace(article_pairs(read.text, resolver, only), source=read)


def pair_for(text: str, country: str | Country, context: str = "", resolver: CountryResolver | None = None) -> Pair:
    """The pair for a given country and text (labeled rows, API requests).

    The country is normalized through the resolver (an unknown name raises
    :class:`~model.countries.UnknownCountryError`); it need not be named in ``text``.
    """
    resolver = resolver or default_resolver()
    target = country if isinstance(country, Country) else resolver.resolve(country)
    spans = tuple((m.start, m.end) for m in resolver.find_mentions(text) if m.country == target)
    return Pair(text, target, context, spans)
