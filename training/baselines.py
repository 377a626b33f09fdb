"""Two floors the fine-tuned model must beat: the majority label, and TF-IDF + logistic
regression trained on the same split and the same rendered input."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import joblib
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from model.inputs import InputFormat, render
from model.pairs import Pair
from training.metrics import classification_metrics

FILE = "baselines.joblib"


def _texts(pairs: list[Pair], fmt: InputFormat) -> list[str]:
    rendered = [render(p, fmt) for p in pairs]
    return [f"{r.first} || {r.second}" for r in rendered]


@dataclass
class Baselines:
    majority: str
    prior: float
    tfidf: Pipeline
    fmt: InputFormat

    @classmethod
    def fit(cls, pairs: list[Pair], labels: list[str], fmt: InputFormat) -> Baselines:
        label, count = Counter(labels).most_common(1)[0]
        tfidf = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
            LogisticRegression(max_iter=2000, C=4.0),
        )
        tfidf.fit(_texts(pairs, fmt), labels)
        return cls(label, count / len(labels), tfidf, fmt)

    def evaluate(self, pairs: list[Pair], gold: list[str]) -> dict:
        """Metrics of both baselines on labeled pairs."""
        probabilities = self.tfidf.predict_proba(_texts(pairs, self.fmt))
        classes = list(self.tfidf.classes_)
        predicted = [classes[row.argmax()] for row in probabilities]
        return {
            "majority": classification_metrics(gold, [self.majority] * len(gold), [self.prior] * len(gold)),
            "tfidf_lr": classification_metrics(gold, predicted, probabilities.max(axis=1).tolist()),
        }

    def save(self, folder: Path) -> None:
        joblib.dump(self, folder / FILE)

    @staticmethod
    def load(folder: Path) -> Baselines | None:
        """The baselines saved with a model (None for a model saved without them);
        ValueError naming the file when it cannot be read (cut off by a kill during the
        copy into the store: the model's weights are checked on every load, this file
        only here)."""
        path = folder / FILE
        if not path.exists():
            return None
        try:
            return joblib.load(path)
        except Exception as error:  # a cut-off pickle fails in many ways: EOFError, UnpicklingError, ...
            why = f"{type(error).__name__}: {error}"
            raise ValueError(f"{path} cannot be read ({why}); evaluate without --baselines") from None
