"""The HTTP shapes of the API: requests checked on arrival, responses built from model/ results.

Limits are documented here and in the OpenAPI page: a request over them gets a 4xx.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator

from model.aggregate import CountryStance, SentenceStance
from model.countries import Country, resolve_country
from model.labels import LABELS
from model.pairs import Pair
from model.predictor import ArticleResult, PairPrediction
from model.sentences import has_letters_or_digits
from model.store import HEADLINE_METRICS

MAX_ARTICLE_CHARS = 100_000
MAX_ARTICLES = 32
MAX_BATCH_CHARS = 300_000  # all articles of one call: bounds one call's work, which nothing can stop once it runs
MAX_NAME_CHARS = 100
MAX_FILTER_COUNTRIES = 300
MAX_PAIR_CHARS = 5_000
MAX_PAIRS_PER_REQUEST = 256
# Pairs of one article call: about 20 s on 2 cores, far inside the 120 s timeout even on a
# busy machine; a news article gives tens to a few hundred.
MAX_ARTICLE_PAIRS = 5_000
# Article text waiting for its turn, all calls together: about 40 s of ordinary news on 2
# cores. A call past it gets a 503 at once, rather than a 504 after waiting 120 s.
MAX_QUEUED_CHARS = 600_000
RETRY_AFTER_S = 30
# A request body larger than any valid one, even with every character JSON-escaped: a
# character past the Basic Multilingual Plane is written as two \uXXXX escapes (12
# bytes), so /classify at its limits can take about 31 MB.
MAX_BODY_BYTES = 32 * 2**20
TIMEOUT_S = 120  # a call not answered by then gets BentoML's 504
MAX_CONCURRENT_CALLS = 64  # calls in at once (all workers), past which a call gets a 429
# The API's own version, on its OpenAPI page: the request and answer shapes, not the package's
# (a Bento does not install the package, so its version cannot be looked up there).
API_VERSION = "1.1"
RETRY_BUSY_S = 1  # Retry-After of that 429: calls end within a second or two
# A request body must arrive whole within this: a client that trickles one in (or stops
# halfway) holds a connection and memory, and is answered 408.
BODY_TIMEOUT_S = 30

EXAMPLE_ARTICLE = (
    "Poland has ruled out sending troops to Ukraine, saying logistics support via Poland is the "
    "backbone of operations. Only a handful of countries have expressed interest in sending "
    "troops. Those include Australia, Belgium and Canada."
)


def _non_blank(value: str) -> str:
    if not has_letters_or_digits(value):
        raise ValueError("must contain letters or digits (it is empty, or only spaces, marks or invisible characters)")
    return value


def _resolvable(name: str) -> str:
    """The name as given, once it resolves; the error names an unknown one."""
    resolve_country(name)
    return name


# Checked on arrival, kept as given: the service resolves it when it scores.
CountryName = Annotated[str, Field(max_length=MAX_NAME_CHARS), AfterValidator(_resolvable)]


class ArticleRequest(BaseModel):
    """One article to score."""

    model_config = ConfigDict(extra="forbid")  # a misspelt "countries" must not score every country

    text: str = Field(max_length=MAX_ARTICLE_CHARS, description="the article text", examples=[EXAMPLE_ARTICLE])
    countries: list[CountryName] | None = Field(
        default=None,
        min_length=1,  # an empty filter would silently score nothing
        max_length=MAX_FILTER_COUNTRIES,
        description="only these countries (any name, alias or ISO code); all when absent",
        examples=[["Poland", "UK"]],
    )
    id: str | None = Field(
        default=None, max_length=200, description="the caller's id, echoed back", examples=["article-1"]
    )
    html: StrictBool = Field(  # strict: "yes", "true" and 1 are refused, not read as true
        default=False,
        description="the text is HTML: read as a browser shows it (tags, scripts and menus left out, entities "
        "decoded, each block its own paragraph); sentence and mention texts are as read, offsets point into the HTML",
        examples=[False],
    )

    _text = field_validator("text")(_non_blank)

    def country_filter(self) -> list[Country] | None:
        return [resolve_country(n) for n in self.countries] if self.countries is not None else None


class ArticlesRequest(BaseModel):
    """Several articles in one call."""

    model_config = ConfigDict(extra="forbid")

    articles: list[ArticleRequest] = Field(
        min_length=1, max_length=MAX_ARTICLES, description="the articles, answered in this order"
    )

    @field_validator("articles")
    @classmethod
    def _total_size(cls, articles: list[ArticleRequest]) -> list[ArticleRequest]:
        total = sum(len(a.text) for a in articles)
        if total > MAX_BATCH_CHARS:
            raise ValueError(f"articles hold {total} characters in all, over {MAX_BATCH_CHARS}; send fewer per call")
        return articles

    @field_validator("articles")
    @classmethod
    def _unique_ids(cls, articles: list[ArticleRequest]) -> list[ArticleRequest]:
        # Results come back in order either way, but two articles under one id are a caller's
        # bug that joining results back by id would hide; batch scoring refuses them too.
        first: dict[str, int] = {}
        for index, article in enumerate(articles):
            if article.id is None:
                continue
            if article.id in first:
                raise ValueError(f"articles.{index}.id {article.id!r} repeats articles.{first[article.id]}.id")
            first[article.id] = index
        return articles


class PairRequest(BaseModel):
    """One (sentence, country) pair, for callers that split text themselves."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        max_length=MAX_PAIR_CHARS,
        description="the sentence",
        examples=["The US has ruled out boots on the ground but will share intelligence."],
    )
    country: CountryName = Field(description="country name, alias or ISO code", examples=["United States"])
    context: str = Field(default="", max_length=MAX_PAIR_CHARS, description="the previous sentence", examples=[""])

    _text = field_validator("text")(_non_blank)


class NoInput(BaseModel):
    """An endpoint that takes nothing refuses fields too, rather than seem to use them."""

    model_config = ConfigDict(extra="forbid")


class ClassifyRequest(BaseModel):
    """Pairs to classify; concurrent calls are batched together."""

    model_config = ConfigDict(extra="forbid")

    pairs: list[PairRequest] = Field(
        max_length=MAX_PAIRS_PER_REQUEST, description="(sentence, country) pairs, answered in this order"
    )


class MentionOut(BaseModel):
    """Words that named the country: ``text[start:end]`` (an HTML article's offsets point into
    the HTML, and ``text`` is the words as read)."""

    text: str = Field(description="the words as they stand in the text", examples=["Pentagon"])
    start: int = Field(description="offset of the first character", examples=[0])
    end: int = Field(description="offset after the last character", examples=[8])


class PairStance(BaseModel):
    """The stance of one country in one sentence."""

    country: str = Field(description="the country's canonical name", examples=["United States"])
    iso3: str = Field(description="its ISO 3166-1 alpha-3 code", examples=["USA"])
    label: str = Field(description=f"the stance: one of {', '.join(LABELS)}", examples=["logistics_only"])
    confidence: float = Field(description="calibrated probability of the label", examples=[0.91])
    probabilities: dict[str, float] = Field(
        description="all four labels' probabilities",
        examples=[{"will_send": 0.03, "wont_send": 0.04, "logistics_only": 0.91, "none": 0.02}],
    )
    truncated: bool = Field(description="the sentence was cut around the country to fit the model", examples=[False])
    mentions: list[MentionOut] = Field(
        description="the words that named the country: offsets into the article (/classify: into the pair's "
        'text); empty when the sentence means it without naming it ("we" in a quote, "They" after the '
        "sentence that names it) or, in /classify, does not name it",
        examples=[[{"text": "Pentagon", "start": 0, "end": 8}]],
    )

    @classmethod
    def build(
        cls, country: Country, prediction: PairPrediction | SentenceStance, mentions: list[MentionOut]
    ) -> PairStance:
        return cls(
            country=country.name,
            iso3=country.iso3,
            label=prediction.label,
            confidence=prediction.confidence,
            probabilities=prediction.probabilities,
            truncated=prediction.truncated,
            mentions=mentions,
        )

    @classmethod
    def in_article(cls, stance: SentenceStance) -> PairStance:
        words = stance.named_as
        found = [MentionOut(text=w, start=a, end=b) for w, (a, b) in zip(words, stance.mentions, strict=True)]
        return cls.build(Country(stance.iso3, stance.country), stance, found)

    @classmethod
    def of_pair(cls, pair: Pair, prediction: PairPrediction) -> PairStance:
        found = [MentionOut(text=pair.text[a:b], start=a, end=b) for a, b in pair.spans]
        return cls.build(pair.country, prediction, found)


class SentenceOut(BaseModel):
    """A sentence with its offsets (``text[start:end]``; an HTML article's point into the HTML,
    and ``text`` is the sentence as read) and its country pairs."""

    index: int = Field(description="position in the article, from 0", examples=[0])
    start: int = Field(description="offset of the first character", examples=[0])
    end: int = Field(description="offset after the last character", examples=[96])
    text: str = Field(
        description="the sentence, article[start:end]", examples=["Poland has ruled out sending troops to Ukraine."]
    )
    pairs: list[PairStance] = Field(description="one per country the sentence names")


class Evidence(BaseModel):
    sentence: int = Field(description="index of the sentence", examples=[0])
    start: int = Field(description="offset of the sentence's first character", examples=[0])
    end: int = Field(description="offset after its last character", examples=[96])
    text: str = Field(description="the sentence", examples=["Poland has ruled out sending troops."])
    label: str = Field(description="the sentence-level label", examples=["wont_send"])
    confidence: float = Field(description="its calibrated probability", examples=[0.88])

    @classmethod
    def build(cls, stance: SentenceStance) -> Evidence:
        return cls(
            sentence=stance.sentence_index,
            start=stance.start,
            end=stance.end,
            text=stance.text,
            label=stance.label,
            confidence=stance.confidence,
        )


class CountryOut(BaseModel):
    """A country's stance over the whole article (``conflicting``: will and won't both)."""

    country: str = Field(description="short English name", examples=["Poland"])
    iso3: str = Field(description="ISO 3166 alpha-3 code", examples=["POL"])
    label: str = Field(
        description="will_send, wont_send, logistics_only, none or conflicting", examples=["logistics_only"]
    )
    confidence: float = Field(description="mean probability of the label over its evidence", examples=[0.86])
    counts: dict[str, int] = Field(
        description="sentences per predicted label",
        examples=[{"will_send": 0, "wont_send": 2, "logistics_only": 1, "none": 3}],
    )
    evidence: list[Evidence] = Field(description="the sentences behind the label, in article order")

    @classmethod
    def build(cls, stance: CountryStance) -> CountryOut:
        return cls(
            country=stance.country,
            iso3=stance.iso3,
            label=stance.label,
            confidence=stance.confidence,
            counts=stance.counts,
            evidence=[Evidence.build(e) for e in stance.evidence],
        )


class ArticleResponse(BaseModel):
    id: str | None = Field(default=None, description="the request's id, if any", examples=["article-1"])
    model: str = Field(description="the model version that scored it", examples=["troop-stance:abc123"])
    sentences: list[SentenceOut] = Field(description="every sentence, with its pairs")
    countries: list[CountryOut] = Field(description="each country's stance over the article")

    @classmethod
    def build(cls, result: ArticleResult, model: str, article_id: str | None = None) -> ArticleResponse:
        pairs: dict[int, list[PairStance]] = {}
        for stance in result.stances:
            pairs.setdefault(stance.sentence_index, []).append(PairStance.in_article(stance))
        sentences = [
            SentenceOut(index=s.index, start=s.start, end=s.end, text=s.text, pairs=pairs.get(s.index, []))
            for s in result.sentences
        ]
        return cls(
            id=article_id, model=model, sentences=sentences, countries=[CountryOut.build(c) for c in result.countries]
        )


class ModelInfo(BaseModel):
    """What the service runs: enough for a client to log next to its results."""

    model: str = Field(description="the model version this service loaded", examples=["troop-stance:abc123"])
    created: str = Field(description="when that version was registered (UTC, ISO 8601)")
    labels: list[str] = Field(description="the labels it answers with", examples=[list(LABELS)])
    metrics: dict[str, float] = Field(
        description="its held-out metrics at training: accuracy, macro_f1, f_avg, ece",
        examples=[{"accuracy": 0.873, "macro_f1": 0.874, "f_avg": 0.878, "ece": 0.024}],
    )
    data_hash: str = Field(description="sha256 of the data it was trained on")
    data_size: int = Field(description="labeled pairs in its training data, held-out splits included")

    @classmethod
    def build(cls, stored) -> ModelInfo:
        """From a registered ``bentoml.Model`` (its metadata is what training stored)."""
        meta = stored.info.metadata
        return cls(
            model=str(stored.tag),
            created=stored.info.creation_time.isoformat(),
            labels=list(LABELS),
            metrics={key: float(meta[key]) for key in HEADLINE_METRICS if key in meta},
            data_hash=str(meta.get("data_hash", "")),
            data_size=int(meta.get("data_size", 0)),
        )
