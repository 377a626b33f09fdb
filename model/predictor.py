"""The predictor: pairs in, calibrated label probabilities out; articles in, stances out.

A saved model is a folder: the Hugging Face classifier and tokenizer (``config.json``
holds ``id2label``), plus ``stance.json`` (labels, input format, temperature, and the
training run's settings, metrics and held-out groups). Loading
checks the labels against the schema, so a model never answers in the wrong order.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from model.aggregate import CountryStance, SentenceStance, aggregate_article
from model.countries import Country, CountryResolver, default_resolver
from model.inputs import InputFormat, encode_rendered, prepare, token_lengths
from model.labels import ID2LABEL, LABEL2ID, LABELS
from model.pairs import ArticlePairs, Pair, read_article
from model.precision import BATCH_SIZE, PRECISIONS, check_device, check_precision
from model.sentences import Sentence
from model.store import STANCE_FILE, weights_digest

log = logging.getLogger(__name__)

# Pairs whose two best logits are closer than this are scored again in float32. bfloat16
# moved no logit by more than 0.20 on 10,110 corpus, seed and dev pairs (benchmarks/precision.py).
RECHECK_MARGIN = 0.5


@dataclass(frozen=True)
class PairPrediction:
    """The classifier's answer for one pair."""

    label: str
    probabilities: dict[str, float]
    truncated: bool

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]


@dataclass(frozen=True)
class ArticleResult:
    """An article's sentences, each pair's stance, and each country's article stance."""

    sentences: list[Sentence]
    stances: list[SentenceStance]
    countries: list[CountryStance]


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` is CUDA when present, else CPU."""
    if check_device(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but torch sees no CUDA device here (use auto or cpu)")
    return torch.device(device)


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """The dtype the matrix work runs in (``auto``, ``fp32``, ``bf16`` or ``fp16``).

    ``auto`` is half precision on CUDA (bfloat16 where supported), bfloat16 on CPUs with
    native bfloat16 instructions (AVX512-BF16 or AMX, about 2x float32 there), else float32.
    """
    if check_precision(precision) != "auto":
        if precision == "fp16" and device.type == "cpu":
            log.warning("fp16 on a CPU runs without float16 kernels, several times slower than fp32; use auto")
        return getattr(torch, PRECISIONS[precision])
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    # torch exposes these checks only privately; a torch without them gets float32.
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    native = any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return torch.bfloat16 if native else torch.float32


def cpu_threads() -> int:
    """Cores this process may use: its affinity mask, capped by a cgroup CPU quota
    (``docker --cpus=2``), which the mask does not show."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(cores, math.ceil(quota))) if quota else cores


def _cgroup_cpu_quota(path: Path = Path("/sys/fs/cgroup/cpu.max")) -> float | None:
    """CPUs allowed by cgroup v2's ``cpu.max`` ("200000 100000" is 2), or None for no limit."""
    try:
        limit, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if limit == "max" else int(limit) / int(period)


class StancePredictor:
    """Scores pairs and articles with one fine-tuned sequence-pair classifier."""

    def __init__(
        self,
        classifier,
        tokenizer,
        fmt: InputFormat,
        temperature: float = 1.0,
        device: str = "auto",
        batch_size: int = BATCH_SIZE,
        resolver: CountryResolver | None = None,
        precision: str = "auto",
        recheck_margin: float = RECHECK_MARGIN,
        tag: str = "",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {batch_size}")
        self.device = resolve_device(device)
        self.dtype = resolve_precision(precision, self.device)
        self.recheck_margin = recheck_margin
        self.classifier = classifier.to(self.device, dtype=torch.float32).eval()
        self.tokenizer = tokenizer
        # A fast tokenizer keeps its truncation and padding settings as state, so two
        # threads using it at once (the service's article and pair calls) corrupt each
        # other's batches; tokenizing is a small share of the time, so it takes turns.
        self._tokenizing = threading.Lock()
        self.fmt = fmt
        self.temperature = temperature
        self.batch_size = batch_size
        self.resolver = resolver or default_resolver()
        self.tag = tag  # the model store's name:version, when loaded from the store

    @classmethod
    def load(cls, folder: str | Path, **kwargs) -> StancePredictor:
        """Load a saved model folder; refuse one whose labels differ from the schema."""
        folder = Path(folder)
        meta = json.loads((folder / STANCE_FILE).read_text())
        classifier = AutoModelForSequenceClassification.from_pretrained(folder)
        labels = [classifier.config.id2label[i] for i in range(classifier.config.num_labels)]
        if labels != list(LABELS) or meta.get("labels") != list(LABELS):
            raise ValueError(f"{folder}: model labels {labels} are not {list(LABELS)}")
        tokenizer = AutoTokenizer.from_pretrained(folder)
        fmt = InputFormat.from_dict(meta["input_format"])
        return cls(classifier, tokenizer, fmt, meta.get("temperature", 1.0), **kwargs)

    @torch.inference_mode()
    def predict_pairs(self, pairs: Sequence[Pair]) -> list[PairPrediction]:
        """Predict every pair, in batches of similar token length so little compute goes
        to padding; results come back in input order."""
        with self._tokenizing:
            rendered = prepare(list(pairs), self.tokenizer, self.fmt)
            lengths = token_lengths(rendered, self.tokenizer)
        order = sorted(range(len(pairs)), key=lengths.__getitem__)
        results: list[PairPrediction | None] = [None] * len(pairs)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            with self._tokenizing:
                batch = encode_rendered([rendered[i] for i in chunk], self.tokenizer, self.fmt)
            logits = self._logits({k: v.to(self.device) for k, v in batch.encoding.items()})
            probs = torch.softmax(logits / self.temperature, dim=-1).cpu().tolist()
            for i, row, cut in zip(chunk, probs, batch.truncated, strict=True):
                best = max(range(len(row)), key=row.__getitem__)
                results[i] = PairPrediction(ID2LABEL[best], {ID2LABEL[j]: p for j, p in enumerate(row)}, cut)
        return results  # type: ignore[return-value]

    def _logits(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits in the fast precision; near-ties are computed again in float32, so
        labels match a float32 run while most pairs cost half as much."""
        logits = self._forward(inputs, self.dtype)
        if self.dtype != torch.float32:
            top_two = logits.topk(2, dim=-1).values
            # Rows that are not finite too: float16 can overflow where float32 does not.
            redo = ((top_two[:, 0] - top_two[:, 1]) < self.recheck_margin) | ~logits.isfinite().all(dim=-1)
            if redo.any():
                logits[redo] = self._forward({k: v[redo] for k, v in inputs.items()}, torch.float32)
        if not logits.isfinite().all():
            raise DamagedModelError(
                f"the model {self.tag or '(unregistered)'} gave scores that are not numbers (NaN or infinite) in "
                "float32: its weights are damaged; train again, or restore the version from a backup"
            )
        return logits

    def _forward(self, inputs: dict[str, torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
        with torch.autocast(self.device.type, dtype=dtype, enabled=dtype != torch.float32):
            return self.classifier(**inputs).logits.float()

    def score_articles(
        self,
        texts: Sequence[str],
        countries: Sequence[Iterable[Country] | None] | None = None,
        max_pairs: int | None = None,
        html: Sequence[bool] | None = None,
    ) -> list[ArticleResult]:
        """Score many articles with one flat, length-sorted pass over all their pairs.

        ``countries`` gives each article the countries to score (``None``: all it
        names). ``html`` marks the articles given as HTML: they are read as their text
        (model/markup.py), and their offsets point into the HTML. Over ``max_pairs``
        pairs in all, :class:`TooManyPairsError` is raised before the model runs."""
        countries = [None] * len(texts) if countries is None else countries
        html = [False] * len(texts) if html is None else html
        if not len(countries) == len(html) == len(texts):
            raise ValueError(f"{len(countries)} country filters and {len(html)} HTML flags for {len(texts)} articles")
        built = [
            read_article(text, is_html, self.resolver, list(wanted) if wanted is not None else None)
            for text, is_html, wanted in zip(texts, html, countries, strict=True)
        ]
        flat = [pair for article in built for pair in article.pairs]
        if max_pairs is not None and len(flat) > max_pairs:
            given = "the text gives" if len(texts) == 1 else f"the {len(texts)} articles give"
            counts = [len(article.pairs) for article in built]
            most = counts.index(max(counts))
            which = f" (the most, {counts[most]}, from article {most})" if len(texts) > 1 else ""
            raise TooManyPairsError(
                f"{given} {len(flat)} (sentence, country) pairs{which}, over the limit of {max_pairs} "
                "for one call; send less text per call"
            )
        predictions = iter(self.predict_pairs(flat))
        results = []
        for article in built:
            # ``predictions`` runs on across articles: each takes as many as it has pairs
            stances = [_sentence_stance(pair, next(predictions), article) for pair in article.pairs]
            results.append(ArticleResult(article.source_sentences(), stances, aggregate_article(stances)))
        return results

    def score_article(self, text: str) -> ArticleResult:
        return self.score_articles([text])[0]


class DamagedModelError(ValueError):
    """The model's scores are not numbers: its weights are damaged. Never returned as NaN."""


class TooManyPairsError(ValueError):
    """More pairs than one call may score (a bound on its time)."""


def _sentence_stance(pair: Pair, prediction: PairPrediction, article: ArticlePairs) -> SentenceStance:
    """A pair's prediction, its offsets into the article as given (the HTML where it was)."""
    sentence = pair.sentence
    assert sentence is not None  # article pairs always carry their sentence
    start, end = article.in_source(sentence.start, sentence.end)
    return SentenceStance(
        sentence_index=sentence.index,
        start=start,
        end=end,
        text=sentence.text,
        iso3=pair.country.iso3,
        country=pair.country.name,
        label=prediction.label,
        probabilities=prediction.probabilities,
        truncated=prediction.truncated,
        mentions=tuple(article.in_source(sentence.start + a, sentence.start + b) for a, b in pair.spans),
        named_as=tuple(pair.text[a:b] for a, b in pair.spans),
    )


def save_model(folder: str | Path, classifier, tokenizer, fmt: InputFormat, temperature: float, info: dict) -> None:
    """Write a self-describing model folder that :meth:`StancePredictor.load` reads."""
    folder = Path(folder)
    classifier.config.id2label = dict(ID2LABEL)
    classifier.config.label2id = dict(LABEL2ID)
    classifier.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    meta = {"labels": list(LABELS), "input_format": fmt.to_dict(), "temperature": temperature}
    meta["weights_sha256"] = weights_digest(folder)
    (folder / STANCE_FILE).write_text(json.dumps({**meta, **info}, indent=2))
