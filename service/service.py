"""The BentoML service: HTTP in, the shared predictor in model/, HTTP out. No logic here.

    bentoml serve service.service:TroopStance --port 3000

The model is ``troop-stance:latest`` unless ``TROOP_STANCE_MODEL`` names another tag.
"""

from __future__ import annotations

import os

import bentoml
import torch
from pydantic import Field

from model.countries import resolve_country
from model.pairs import pair_for
from model.predictor import StancePredictor, cpu_threads
from model.store import DEFAULT_TAG
from service.schemas import (
    EXAMPLE_ARTICLE,
    MAX_ARTICLE_CHARS,
    MAX_ARTICLES,
    MAX_PAIRS_PER_REQUEST,
    ArticleRequest,
    ArticleResponse,
    PairRequest,
    PairStance,
    checked,
)

WORKERS = int(os.environ.get("TROOP_STANCE_WORKERS", "1"))
PRECISION = os.environ.get("TROOP_STANCE_PRECISION", "auto")  # as `stance score --precision`

predictions_by_label = bentoml.metrics.Counter(
    name="troop_stance_predictions",
    documentation="Pairs classified, by predicted label",
    labelnames=["label"],
)


@bentoml.service(
    workers=WORKERS,
    traffic={"timeout": 120, "max_concurrency": 64},
    resources={"cpu": str(cpu_threads())},
)
class TroopStance:
    """Stance of every country a news sentence names on deploying its own troops."""

    # A class attribute, so `bentoml build` packs the model into the Bento.
    model = bentoml.models.BentoModel(os.environ.get("TROOP_STANCE_MODEL", DEFAULT_TAG))

    def __init__(self) -> None:
        self.ready = False
        # BentoML does not split cores between workers for torch: do it here.
        torch.set_num_threads(max(1, cpu_threads() // WORKERS))
        self.predictor = StancePredictor.load(self.model.path, precision=PRECISION)
        self.tag = str(self.model.tag)
        self.predictor.score_article("Poland will not send troops to Ukraine.")  # warm-up
        self.ready = True

    def __is_ready__(self) -> bool:
        return self.ready

    def _count(self, labels: list[str]) -> None:
        for label in labels:
            predictions_by_label.labels(label=label).inc()

    @bentoml.api
    def score_article(
        self,
        text: str = Field(max_length=MAX_ARTICLE_CHARS, description="the article text", examples=[EXAMPLE_ARTICLE]),
        countries: list[str] | None = Field(
            default=None, description="only these countries (names, aliases or ISO codes)", examples=[["Poland", "UK"]]
        ),
    ) -> ArticleResponse:
        """Sentences with offsets, each country's stance per sentence and for the article."""
        article = checked(ArticleRequest, text=text, countries=countries)
        return self._score(article)

    def _score(self, article: ArticleRequest) -> ArticleResponse:
        result = self.predictor.score_article(article.text, article.country_filter())
        self._count([s.label for s in result.stances])
        return ArticleResponse.build(result, self.tag, article.id)

    @bentoml.api
    def score_articles(
        self, articles: list[ArticleRequest] = Field(min_length=1, max_length=MAX_ARTICLES)
    ) -> list[ArticleResponse]:
        """Several articles in one call, scored in one pass; ids are echoed back."""
        return [self._score(article) for article in articles]

    @bentoml.api(batchable=True, max_batch_size=MAX_PAIRS_PER_REQUEST, max_latency_ms=10_000)
    def classify(self, pairs: list[PairRequest] = Field(max_length=MAX_PAIRS_PER_REQUEST)) -> list[PairStance]:
        """Labels and probabilities for (sentence, country) pairs, in input order.

        One request carries at most MAX_PAIRS_PER_REQUEST pairs; the predictor splits
        whatever batch BentoML forms into model batches of its own size.
        """
        built = [pair_for(p.text, resolve_country(p.country), p.context) for p in pairs]
        predictions = self.predictor.predict_pairs(built)
        self._count([p.label for p in predictions])
        return [PairStance.build(b.country, p) for b, p in zip(built, predictions, strict=True)]
