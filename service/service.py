"""The BentoML service: HTTP in, the shared predictor in model/, HTTP out. Beyond that it
only admits work: article calls take turns, and the text waiting for one is bounded.

    bentoml serve service.service:TroopStance --port 3000

The model is ``troop-stance:latest`` unless ``TROOP_STANCE_MODEL`` names another tag.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import bentoml
import torch
from starlette.responses import JSONResponse

from model.countries import resolve_country
from model.pairs import pair_for
from model.precision import check_precision
from model.predictor import StancePredictor, TooManyPairsError, cpu_threads
from model.store import DEFAULT_TAG, registered
from service.batching import GreedyBatcher
from service.http import (
    ArticleTurns,
    BodyLimit,
    CallLimit,
    IssuesInError,
    KnownPaths,
    ModelHeader,
    busy,
    quiet_client_errors,
    refused,
)
from service.openapi import OpenAPIErrors
from service.schemas import (
    BODY_TIMEOUT_S,
    MAX_ARTICLE_PAIRS,
    MAX_BODY_BYTES,
    MAX_CONCURRENT_CALLS,
    MAX_PAIRS_PER_REQUEST,
    MAX_QUEUED_CHARS,
    RETRY_AFTER_S,
    RETRY_BUSY_S,
    TIMEOUT_S,
    ArticleRequest,
    ArticleResponse,
    ArticlesRequest,
    ClassifyRequest,
    ModelInfo,
    NoInput,
    PairRequest,
    PairStance,
)


@dataclass(frozen=True)
class ServiceSettings:
    """What the environment may set. Checked when the module loads, so a bad value stops
    `bentoml serve` at once with its name, instead of failing in every worker it restarts."""

    model: str = DEFAULT_TAG  # TROOP_STANCE_MODEL, resolved to the version it names at start
    workers: int = 1  # TROOP_STANCE_WORKERS
    precision: str = "auto"  # TROOP_STANCE_PRECISION, as `stance score --precision`

    @classmethod
    def from_environment(cls) -> ServiceSettings:
        workers = os.environ.get("TROOP_STANCE_WORKERS", str(cls.workers))
        if not workers.isdigit() or int(workers) < 1:
            raise ValueError(f"TROOP_STANCE_WORKERS must be a whole number from 1, got {workers!r}")
        precision = os.environ.get("TROOP_STANCE_PRECISION", cls.precision)
        try:
            check_precision(precision)
        except ValueError as error:
            raise ValueError(f"TROOP_STANCE_PRECISION: {error}") from None
        model = os.environ.get("TROOP_STANCE_MODEL", cls.model)
        # LookupError naming the tag (and `make model` when there is none). The version
        # `latest` means now, so that a training run finishing meanwhile cannot give the
        # workers, the answers and the model header different versions.
        try:
            version = str(registered(model).tag)
        except LookupError as error:
            named = "TROOP_STANCE_MODEL" in os.environ
            raise LookupError(f"TROOP_STANCE_MODEL={model!r}: {error}" if named else str(error)) from None
        return cls(version, int(workers), precision)


try:
    SETTINGS = ServiceSettings.from_environment()
except (ValueError, LookupError) as error:
    # One line naming the variable, not the traceback of an import inside `bentoml serve`.
    raise SystemExit(f"troop-stance service: {error}") from None
quiet_client_errors()

predictions_by_label = bentoml.metrics.Counter(
    name="troop_stance_predictions",
    documentation="Pairs classified, by predicted label",
    labelnames=["label"],
)

pair_batch_calls = bentoml.metrics.Histogram(
    name="troop_stance_pair_batch_calls",
    documentation="/classify calls scored together in one batch",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)


@bentoml.service(
    workers=SETTINGS.workers,
    traffic={"timeout": TIMEOUT_S},  # the calls in at once are bounded by CallLimit, below
    resources={"cpu": str(cpu_threads())},
)
class TroopStance:
    """Stance of every country a news sentence names on deploying its own troops."""

    # A class attribute, so `bentoml build` packs the model into the Bento.
    model = bentoml.models.BentoModel(SETTINGS.model)

    def __init__(self) -> None:
        # BentoML does not split cores between workers for torch: do it here.
        torch.set_num_threads(max(1, cpu_threads() // SETTINGS.workers))
        self.predictor = StancePredictor.load(self.model.path, precision=SETTINGS.precision)
        self.tag = str(self.model.tag)
        self.info = ModelInfo.build(registered(self.tag))
        # Article calls take turns here, one at a time, while /classify batches run one
        # at a time in a thread of their own: a pair call never queues behind an article.
        self.turns = ArticleTurns(MAX_QUEUED_CHARS)
        self.pair_batches = GreedyBatcher(self._classify_batch, MAX_PAIRS_PER_REQUEST, pair_batch_calls.observe)
        self.predictor.score_article("Poland will not send troops to Ukraine.")  # warm-up

    @bentoml.api(input_spec=NoInput)
    async def model_info(self) -> ModelInfo:
        """The model version this service runs, its labels and held-out metrics."""
        return self.info  # async: answered at once, even while articles are being scored

    def _record_labels(self, labels: list[str]) -> None:
        for label in labels:
            predictions_by_label.labels(label=label).inc()

    # The request models check every field on arrival (BentoML answers 400 naming it).
    # A busy service answers a 503 response object, which BentoML sends as it is.
    # `ctx` (unannotated, so that BentoML passes its request context over HTTP and a
    # direct call may leave it out) tells whether the caller is still there.
    @bentoml.api(input_spec=ArticleRequest)
    async def score_article(
        self, text: str, countries: list[str] | None = None, id: str | None = None, html: bool = False, ctx=None
    ) -> ArticleResponse:
        """Sentences with offsets, each country's stance per sentence and for the article."""
        article = ArticleRequest.model_construct(text=text, countries=countries, id=id, html=html)
        scored = await self._score([article], ctx, field="text")
        return scored if isinstance(scored, JSONResponse) else scored[0]

    @bentoml.api(input_spec=ArticlesRequest)
    async def score_articles(self, articles: list[ArticleRequest], ctx=None) -> list[ArticleResponse]:
        """Several articles in one call, their pairs batched together; in order, ids echoed."""
        return await self._score(articles, ctx, field="articles")

    async def _score(
        self, articles: list[ArticleRequest], ctx: bentoml.Context | None, field: str
    ) -> list[ArticleResponse] | JSONResponse:
        size = sum(len(a.text) for a in articles)
        if self.turns.full_for(size):
            answer = busy(self.turns.queued_chars, RETRY_AFTER_S)
            if ctx is not None:  # BentoML gives an API with a context the context's status
                ctx.response.status_code = answer.status_code
            return answer
        texts, filters, html = (
            [a.text for a in articles],
            [a.country_filter() for a in articles],
            [a.html for a in articles],
        )
        try:
            results = await self.turns.run(
                size,
                ctx,
                lambda: self.predictor.score_articles(texts, filters, MAX_ARTICLE_PAIRS, html),
            )
        except TooManyPairsError as error:
            raise refused("ArticlesRequest" if field == "articles" else "ArticleRequest", field, str(error)) from None
        self._record_labels([s.label for result in results for s in result.stances])
        return [ArticleResponse.build(r, self.tag, a.id) for a, r in zip(articles, results, strict=True)]

    @bentoml.api(input_spec=ClassifyRequest)
    async def classify(self, pairs: list[PairRequest], ctx=None) -> list[PairStance]:
        """Labels and probabilities for (sentence, country) pairs, in input order; calls
        that arrive together are scored together."""
        # The docstring is the OpenAPI page's text; for readers of the code: the batches
        # are formed in service/batching.py, and the predictor splits them in its own sizes.
        gone = ctx.request.is_disconnected if ctx is not None else None
        return await self.pair_batches.submit(pairs, gone)

    def _classify_batch(self, pairs: list[PairRequest]) -> list[PairStance]:
        built = [pair_for(p.text, resolve_country(p.country), p.context) for p in pairs]
        predictions = self.predictor.predict_pairs(built)
        self._record_labels([p.label for p in predictions])
        return [PairStance.of_pair(b, p) for b, p in zip(built, predictions, strict=True)]


# BentoML's own pages and probes, beside the API's routes (all POST).
BENTOML_ROUTES = {p: frozenset({"GET", "HEAD"}) for p in ("/", "/docs.json", "/schema.json", "/metrics")}
BENTOML_ROUTES |= {p: frozenset({"GET", "HEAD"}) for p in ("/livez", "/healthz", "/readyz")}

TroopStance.add_asgi_middleware(ModelHeader, tag=SETTINGS.model)
# Added later, so inside: their 404s, 413s and 429s get the header.
TroopStance.add_asgi_middleware(
    KnownPaths,
    routes={**BENTOML_ROUTES, **{api.route: frozenset({"POST"}) for api in TroopStance.apis.values()}},
    prefixes=("/static_content/",),
)
# The body is read whole before a call counts against the limit, so clients trickling
# bodies in cannot hold every slot. Each worker takes its share of the limit.
TroopStance.add_asgi_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES, timeout_s=BODY_TIMEOUT_S)
TroopStance.add_asgi_middleware(
    CallLimit, max_calls=math.ceil(MAX_CONCURRENT_CALLS / SETTINGS.workers), retry_after_s=RETRY_BUSY_S
)
TroopStance.add_asgi_middleware(IssuesInError)
TroopStance.add_asgi_middleware(OpenAPIErrors)
