"""Score labeled pairs with a registered model: metrics, a confusion-matrix picture, errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.labels import LABELS
from model.predictor import PairPrediction, StancePredictor
from model.store import STANCE_FILE
from training.baselines import Baselines
from training.corpus import (
    SPLITS_FILE,
    LabeledPair,
    data_hash,
    read_splits,
    seen_in_training,
    sentence_digest,
    split_pairs,
    trained_sentences,
)
from training.metrics import article_metrics, classification_metrics, macro_f1_interval


@dataclass
class Evaluation:
    metrics: dict
    rows: list[LabeledPair]
    predictions: list[PairPrediction]


def select_split(rows: list[LabeledPair], split: str, groups: dict[str, set[str]], source: str) -> list[LabeledPair]:
    """The rows of one split; none at all is an error naming where the groups came from."""
    chosen = split_pairs(rows, groups).get(split) or []
    if not chosen:
        raise ValueError(f"split {split!r} of {source} holds none of these pairs")
    return chosen


def held_out_groups(model_folder: Path) -> dict[str, set[str]] | None:
    """The dev and test groups a model held out in training; None for models trained
    before they were saved with it."""
    found = _stance_meta(model_folder).get("held_out")
    return {name: set(groups) for name, groups in found.items()} if found is not None else None


def split_groups(model_folder: Path, splits_file: Path | None) -> tuple[dict[str, set[str]], str]:
    """The groups ``--split`` picks from, and how to name them: a given splits file's, else
    the model's own held-out groups, else (older models) the corpus's splits file."""
    if splits_file is None:
        own = held_out_groups(model_folder)
        if own is not None:
            return own, "the groups this model held out"
        splits_file = SPLITS_FILE
    return read_splits(splits_file), str(splits_file)


def split_warning(model_folder: Path, rows: list[LabeledPair], source: str) -> str | None:
    """Why scores on rows picked as a held-out split may flatter the model: some of their
    groups were not held out from its training. None when all were."""
    own = held_out_groups(model_folder)
    if own is None:  # an older model: only the way it split is known
        return _old_split_warning(model_folder, source)
    held_out = set().union(*own.values())
    trained = sum(r.group not in held_out for r in rows)
    if not trained:
        return None
    return (
        f"{trained} of the {len(rows)} pairs picked from {source} are from groups this model did not hold "
        "out, so they may have trained it and these scores may flatter it (leave out --splits to use the "
        "groups it held out)"
    )


def _old_split_warning(model_folder: Path, source: str) -> str | None:
    trained_with = _stance_meta(model_folder).get("settings", {}).get("splits", "")
    if not trained_with:
        held_out = "a random split of its own training data"
    elif Path(trained_with).is_file() and read_splits(Path(trained_with)) != read_splits(Path(source)):
        held_out = f"the groups {trained_with} lists"
    else:  # the same groups, or a file not here to compare
        return None
    return (
        f"the model held out {held_out}, not the groups {source} lists: rows of those groups may have "
        "trained it, so these scores may flatter it"
    )


def training_data_warning(model_folder: Path, rows: list[LabeledPair], split: str = "") -> str | None:
    """Scoring a model on sentences it was trained on is worth a word: those scores flatter
    it. Told by the digests of its training sentences (a model records them, its base
    model's too); for older models, only data that is exactly its training data is told.
    ``split``: the rows are a split picked for it (held out from it, but perhaps not from a
    base model it went on from)."""
    trained = trained_sentences(model_folder)
    if trained is None:
        if split or data_hash(rows) != _stance_meta(model_folder).get("data_hash"):
            return None
        return (
            "these are the pairs this model was trained on (their hash matches its training data's), "
            "so these scores flatter it; pass --split test to score only what it held out"
        )
    seen = seen_in_training(rows, trained)
    if not seen:
        return None
    if split:
        return (
            f"{len(seen)} of the {len(rows)} {split} pairs are sentences this model was trained on (the first: "
            f"{seen[0].source}), through a model it went on from or a sentence its groups share, so these "
            "scores flatter it"
        )
    return (
        f"{len(seen)} of the {len(rows)} pairs scored are sentences this model was trained on (the first: "
        f"{seen[0].source}), so these scores flatter it; score data it never saw, or pass --split test for "
        "what it held out"
    )


def _stance_meta(model_folder: Path) -> dict:
    return json.loads((model_folder / STANCE_FILE).read_text())


def evaluate(predictor: StancePredictor, rows: list[LabeledPair], folder: Path | None = None) -> Evaluation:
    """Metrics on labeled pairs; with the model's folder, its saved baselines' too."""
    baselines = Baselines.load(folder) if folder else None  # before scoring: a damaged file fails fast
    metrics, predictions = evaluate_pairs(predictor, rows)
    metrics["model"] = predictor.tag  # so a saved report says which version it judged
    if baselines is not None:
        metrics["baselines"] = baselines.evaluate([r.to_pair() for r in rows], [r.label for r in rows])
    return Evaluation(metrics, rows, predictions)


def evaluate_pairs(predictor: StancePredictor, rows: list[LabeledPair]) -> tuple[dict, list]:
    """Metrics and predictions of ``predictor`` on labeled rows; where groups are articles
    (some group holds several sentences), the article-level metrics too, as ``articles``."""
    predictions = predictor.predict_pairs([r.to_pair() for r in rows])
    gold, predicted = [r.label for r in rows], [p.label for p in predictions]
    metrics = classification_metrics(gold, predicted, [p.confidence for p in predictions])
    # By sentence, the model's unit: an article's pairs are not independent either, but four
    # articles (the seeds) are too few to resample.
    metrics["macro_f1_interval"] = macro_f1_interval(gold, predicted, [sentence_digest(r.text) for r in rows])
    if _groups_are_articles(rows):
        metrics["articles"] = article_metrics([(r.group, r.country.iso3) for r in rows], gold, predicted)
    return metrics, predictions


def _groups_are_articles(rows: list[LabeledPair]) -> bool:
    sentences: dict[str, str] = {}
    return any(sentences.setdefault(r.group, r.text) != r.text for r in rows)


def format_metrics(metrics: dict, title: str = "model") -> str:
    """A plain-text report: headline numbers, per-label table, confusion matrix."""
    rows = [(title, metrics)] + [(f"baseline {name}", found) for name, found in metrics.get("baselines", {}).items()]
    if "articles" in metrics:  # each (group, country) under the article rule
        rows.append(("by article, country", metrics["articles"]))
    width = max(20, *(len(name) + 1 for name, _ in rows))  # a long model tag keeps the columns in line
    lines = [_headline(name, found, width) for name, found in rows]
    if interval := metrics.get("macro_f1_interval"):  # under the model's own line
        lines.insert(
            1,
            f"{'':<{width}} macro-F1 {interval['level']:.0%} interval {interval['low']:.3f} to {interval['high']:.3f}"
            f" ({interval['sentences']} sentences resampled {interval['resamples']} times)",
        )
    lines.append("")
    lines.append(f"{'label':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for label, row in metrics["per_label"].items():
        lines.append(
            f"{label:<16}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{row['support']:>10}"
        )
    lines.append("")
    widths = [max(len(label), 6) + 2 for label in LABELS]  # each count under its label
    lines.append("confusion (rows gold, columns predicted)")
    lines.append(f"{'':<16}" + "".join(f"{label:>{w}}" for label, w in zip(LABELS, widths, strict=True)))
    for label, row in zip(LABELS, metrics["confusion"], strict=True):
        lines.append(f"{label:<16}" + "".join(f"{n:>{w}}" for n, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def _headline(title: str, m: dict, width: int = 20) -> str:
    ece = f"  ece {m['ece']:.3f}" if "ece" in m else ""
    f_avg = "-" if m["f_avg"] is None else f"{m['f_avg']:.3f}"
    scores = f"accuracy {m['accuracy']:.3f}  macro-F1 {m['macro_f1']:.3f}  F_avg {f_avg}{ece}"
    return f"{title:<{width}} n {m['n']:>5}  {scores}"


def write_report(folder: Path, result: Evaluation) -> list[Path]:
    """``confusion.png``, ``errors.jsonl``, ``predictions.jsonl`` (every pair, with its
    probabilities, so thresholds and calibration can be rechecked) and ``metrics.json``."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    folder.mkdir(parents=True, exist_ok=True)
    picture = folder / "confusion.png"
    display = ConfusionMatrixDisplay(np.array(result.metrics["confusion"]), display_labels=list(LABELS))
    display.plot(cmap="Blues", xticks_rotation=30, colorbar=False)
    display.ax_.set_title(
        f"{result.metrics.get('model', '')}\nmacro-F1 {result.metrics['macro_f1']:.3f} on {result.metrics['n']} pairs"
    )
    display.figure_.tight_layout()
    display.figure_.savefig(picture, dpi=120)
    plt.close(display.figure_)
    records = [_record(row, prediction) for row, prediction in zip(result.rows, result.predictions, strict=True)]
    errors, predictions = folder / "errors.jsonl", folder / "predictions.jsonl"
    _write_lines(
        errors, [{k: v for k, v in r.items() if k != "probabilities"} for r in records if r["gold"] != r["predicted"]]
    )
    _write_lines(predictions, records)
    metrics = folder / "metrics.json"
    metrics.write_text(json.dumps(result.metrics, indent=2))
    return [picture, errors, predictions, metrics]


def _record(row: LabeledPair, prediction) -> dict:
    return {
        "id": row.id,
        "source": row.source,
        "text": row.text,
        "context": row.context,
        "country": row.country.name,
        "gold": row.label,
        "predicted": prediction.label,
        "confidence": round(prediction.confidence, 4),
        "probabilities": {label: round(p, 4) for label, p in prediction.probabilities.items()},
    }


def _write_lines(path: Path, records: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
