"""Classification metrics over the four labels (and, one level up, over each article's
countries), and probability calibration."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import torch
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from model.aggregate import article_label
from model.labels import ARTICLE_LABELS, LABELS, WILL_SEND, WONT_SEND

STANCES = (WILL_SEND, WONT_SEND)  # F_avg's labels, as in SemEval stance tasks


def classification_metrics(
    gold: list[str], predicted: list[str], confidences: list[float] | None = None, labels: tuple[str, ...] = LABELS
) -> dict:
    """Accuracy, macro-F1, F_avg (mean F1 of will_send and wont_send; None if neither
    occurs), per-label P/R/F1 over ``labels``, expected calibration error (when confidences
    are given) and the confusion matrix (rows gold, columns predicted, in ``labels`` order).

    Macro-F1 and F_avg average the labels that occur in the gold labels or the predictions:
    a label a small file never holds, and the model never predicts, has no F1 to count as 0.
    """
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=list(labels), zero_division=0
    )
    per_label = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    occurring = [label for label in labels if label in {*gold, *predicted}]
    stances = [per_label[label]["f1"] for label in STANCES if label in occurring]
    metrics = {
        "n": len(gold),
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(np.mean([per_label[label]["f1"] for label in occurring])) if occurring else 0.0,
        "f_avg": float(np.mean(stances)) if stances else None,
        "per_label": per_label,
        "confusion": confusion_matrix(gold, predicted, labels=list(labels)).tolist(),
    }
    if confidences is not None:
        correct = [g == p for g, p in zip(gold, predicted, strict=True)]
        metrics["ece"] = expected_calibration_error(confidences, correct)
    return metrics


def macro_f1_interval(
    gold: list[str], predicted: list[str], sentences: list[str], resamples: int = 1000, level: float = 0.95
) -> dict | None:
    """How far macro-F1 moves with the sample: the central ``level`` of its values over
    ``resamples`` draws of whole sentences with replacement (a cluster bootstrap: the pairs
    of one sentence are not independent). ``sentences`` keys each pair's sentence. Labels
    count as in :func:`classification_metrics`. None under two sentences: nothing to resample."""
    keys = sorted(set(sentences))
    if len(keys) < 2:
        return None
    index = {label: i for i, label in enumerate(LABELS)}
    row_of = {key: i for i, key in enumerate(keys)}
    cells = np.zeros((len(keys), len(LABELS) ** 2))  # each sentence's confusion matrix, flattened
    for key, truth, guess in zip(sentences, gold, predicted, strict=True):
        cells[row_of[key], index[truth] * len(LABELS) + index[guess]] += 1
    rng, share = np.random.default_rng(0), np.full(len(keys), 1 / len(keys))
    # In chunks: all draws at once are resamples x sentences numbers (1.6 GB for 100,000 sentences).
    chunks = [
        rng.multinomial(len(keys), share, size=n) @ cells for n in _chunk_sizes(resamples, 2_000_000 // len(keys))
    ]
    confusion = np.concatenate(chunks).reshape(resamples, len(LABELS), len(LABELS))
    true_positive = np.diagonal(confusion, axis1=1, axis2=2)
    sizes = confusion.sum(axis=2) + confusion.sum(axis=1)  # gold plus predicted: F1 = 2 TP / that
    occurring = sizes > 0
    f1 = np.divide(2 * true_positive, sizes, out=np.zeros_like(sizes), where=occurring)
    macro = (f1 * occurring).sum(axis=1) / occurring.sum(axis=1)
    low, high = np.quantile(macro, [(1 - level) / 2, (1 + level) / 2])
    return {"low": float(low), "high": float(high), "level": level, "resamples": resamples, "sentences": len(keys)}


def _chunk_sizes(total: int, most: int) -> list[int]:
    most = max(most, 1)
    return [min(most, total - start) for start in range(0, total, most)]


def article_metrics(keys: list[tuple[str, str]], gold: list[str], predicted: list[str]) -> dict:
    """The same metrics one level up, per (article, country) ``key``: its gold and its
    predicted sentence labels each combined by the article rule (``model/aggregate.py``),
    as the service and batch scoring combine predictions; the table holds only the article
    labels that occur."""
    counts: dict[tuple[str, str], tuple[Counter, Counter]] = defaultdict(lambda: (Counter(), Counter()))
    for key, truth, guess in zip(keys, gold, predicted, strict=True):
        counts[key][0][truth] += 1
        counts[key][1][guess] += 1
    gold_articles = [article_label(truth) for truth, _ in counts.values()]
    predicted_articles = [article_label(guess) for _, guess in counts.values()]
    seen = tuple(label for label in ARTICLE_LABELS if label in {*gold_articles, *predicted_articles})
    return classification_metrics(gold_articles, predicted_articles, labels=seen)


def expected_calibration_error(confidences: list[float], correct: list[bool], bins: int = 10) -> float:
    """Weighted gap between confidence and accuracy over equal-width confidence bins."""
    conf = np.asarray(confidences, dtype=float)
    hit = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (conf > low) & (conf <= high)
        if inside.any():
            total += inside.mean() * abs(conf[inside].mean() - hit[inside].mean())
    return float(total)


TEMPERATURE_RANGE = (0.2, 10.0)


def fit_temperature(log_probs: list[list[float]], gold_ids: list[int]) -> float:
    """The temperature that minimizes negative log-likelihood on held-out pairs.

    Takes log-probabilities (logits up to a per-row constant, which softmax ignores).
    """
    logits = torch.tensor(log_probs, dtype=torch.float64)
    target = torch.tensor(gold_ids)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), target)
        loss.backward()
        return loss

    optimizer.step(closure)
    temperature = float(log_t.detach().exp())
    if not math.isfinite(temperature):
        return 1.0
    # A small dev split that the model gets all right (or badly wrong) sends the fit
    # towards 0 (or infinity); no real calibration is that extreme.
    return min(max(temperature, TEMPERATURE_RANGE[0]), TEMPERATURE_RANGE[1])
