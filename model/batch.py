"""Batch scoring of corpora larger than memory: stream articles in, write rows out safely.

Inputs: a folder of ``.txt`` files (one article each), JSON Lines, CSV or Parquet with a
text column. JSON Lines are read line by line (so a bad line is reported as file:line);
CSV and Parquet stream through ``datasets``. Nothing is ever held whole in memory.

Output safety: each chunk of articles is written as a finished part file (written to a
temporary name, then renamed) in ``<output>.parts/``; the final output and summary are
assembled from the parts, again under a temporary name, and renamed at the very end.
An interrupted run leaves only parts, never a truncated file that looks complete, and
``resume`` skips every article already in a part.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from model.labels import LABELS
from model.predictor import ArticleResult, StancePredictor

FORMATS = (".jsonl", ".parquet")


@dataclass(frozen=True)
class Article:
    """One input article and where it came from (``file:line`` or ``file#row``)."""

    id: str
    text: str
    location: str


@dataclass(frozen=True)
class BadRow:
    location: str
    reason: str


@dataclass
class ScoreSettings:
    """How a corpus is read and scored."""

    text_field: str = "text"  # column holding the article text
    id_field: str = ""  # column holding the article id (default: the input location)
    chunk_articles: int = 256  # articles per model pass and per part file
    on_error: str = "skip"  # "skip" bad rows (reported) or "fail" on the first
    resume: bool = False  # continue an interrupted run from its parts

    def __post_init__(self) -> None:
        if self.on_error not in ("skip", "fail"):
            raise ValueError(f"on_error must be 'skip' or 'fail', got {self.on_error!r}")
        if self.chunk_articles < 1:
            raise ValueError("chunk_articles must be at least 1")


@dataclass
class ScoreReport:
    """What a run did: counts, skipped rows with their locations, throughput."""

    articles: int = 0
    sentences: int = 0
    pairs: int = 0
    resumed: int = 0
    seconds: float = 0.0
    skipped: list[BadRow] = field(default_factory=list)

    def line(self) -> str:
        rate = self.pairs / self.seconds if self.seconds else 0.0
        return (
            f"scored {self.articles} articles, {self.sentences} sentences, {self.pairs} pairs "
            f"in {self.seconds:.1f} s ({rate:.1f} pairs/s); {self.resumed} resumed, "
            f"{len(self.skipped)} skipped"
        )


class InputError(ValueError):
    """A bad input row under ``on_error='fail'``."""


def read_articles(paths: Iterable[str | Path], settings: ScoreSettings) -> Iterator[Article | BadRow]:
    """Every article of every input, in order; a bad row comes out as :class:`BadRow`."""
    for path in map(Path, paths):
        if path.is_dir():
            yield from _read_folder(path)
        elif not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
        elif path.suffix == ".jsonl":
            yield from _read_jsonl(path, settings)
        elif path.suffix in (".csv", ".parquet"):
            yield from _read_table(path, settings)
        else:
            raise ValueError(
                f"{path}: unsupported input {path.suffix!r}; use a folder of .txt, .jsonl, .csv or .parquet"
            )


def _read_folder(folder: Path) -> Iterator[Article | BadRow]:
    for path in sorted(folder.rglob("*.txt")):
        name = str(path.relative_to(folder))
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            yield BadRow(str(path), f"not UTF-8 text (byte {error.start})")
            continue
        yield Article(name, text, str(path)) if text.strip() else BadRow(str(path), "empty text")


def _row_article(row: object, location: str, settings: ScoreSettings) -> Article | BadRow:
    if not isinstance(row, dict):
        return BadRow(location, "expected an object with a text field")
    text = row.get(settings.text_field)
    if text is not None and not isinstance(text, str):
        return BadRow(location, f"text field {settings.text_field!r} is {type(text).__name__}, not text: {text!r:.40}")
    if not text or not text.strip():
        return BadRow(location, f"missing or empty text field {settings.text_field!r}")
    ident = row.get(settings.id_field) if settings.id_field else None
    if settings.id_field and ident in (None, ""):
        return BadRow(location, f"missing id field {settings.id_field!r}")
    return Article(str(ident) if ident is not None else location, text, location)


def _read_jsonl(path: Path, settings: ScoreSettings) -> Iterator[Article | BadRow]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            location = f"{path}:{number}"
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as error:
                yield BadRow(location, f"not UTF-8 text (byte {error.start} of the line)")
                continue
            except json.JSONDecodeError as error:
                yield BadRow(location, f"invalid JSON ({error.msg})")
                continue
            yield _row_article(row, location, settings)


def _read_table(path: Path, settings: ScoreSettings) -> Iterator[Article | BadRow]:
    from datasets import load_dataset

    builder = "csv" if path.suffix == ".csv" else "parquet"
    rows = load_dataset(builder, data_files=str(path), split="train", streaming=True)
    first = 2 if builder == "csv" else 0  # CSV: data starts on line 2, after the header
    for index, row in enumerate(rows):
        location = f"{path}:{index + first}" if builder == "csv" else f"{path}#{index}"
        yield _row_article(row, location, settings)


def pair_rows(article: Article, result: ArticleResult) -> list[dict]:
    """One row per (sentence, country) of a scored article."""
    rows = []
    for stance, cut in zip(result.stances, result.truncated, strict=True):
        rows.append(
            {
                "id": article.id,
                "sentence": stance.sentence_index,
                "start": stance.start,
                "end": stance.end,
                "country": stance.country,
                "iso3": stance.iso3,
                "label": stance.label,
                "confidence": stance.confidence,
                **{f"p_{label}": stance.probabilities[label] for label in LABELS},
                "truncated": cut,
            }
        )
    return rows


def summary_rows(article: Article, result: ArticleResult) -> list[dict]:
    """One row per (article, country): the article stance and its evidence sentences."""
    return [
        {
            "id": article.id,
            "country": c.country,
            "iso3": c.iso3,
            "label": c.label,
            "confidence": c.confidence,
            **{f"n_{label}": c.counts[label] for label in LABELS},
            "evidence": [e.sentence_index for e in c.evidence],
        }
        for c in result.countries
    ]


def _write_rows(rows: list[dict], path: Path) -> None:
    """Write rows to ``path`` (by its extension) under a temporary name, then rename."""
    temporary = path.with_name(path.name + ".tmp")
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), temporary)
    else:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    temporary.replace(path)


def _done_ids(parts: Path) -> set[str]:
    ids: set[str] = set()
    for part in sorted(parts.glob("done-*.json")):
        ids.update(json.loads(part.read_text()))
    return ids


def score_corpus(
    predictor: StancePredictor,
    inputs: list[str],
    output: Path,
    summary: Path,
    settings: ScoreSettings,
    progress=None,
) -> ScoreReport:
    """Score every article of ``inputs`` into ``output`` and ``summary`` (see module doc)."""
    if output.suffix not in FORMATS or summary.suffix not in FORMATS:
        raise ValueError(f"outputs must end in .jsonl or .parquet: {output}, {summary}")
    parts = output.with_name(output.name + ".parts")
    if parts.exists() and not settings.resume:
        raise FileExistsError(f"{parts} holds an interrupted run: pass --resume, or remove it")
    parts.mkdir(parents=True, exist_ok=True)
    done = _done_ids(parts)
    report = ScoreReport(resumed=len(done))
    started = time.monotonic()
    chunk: list[Article] = []
    number = len(list(parts.glob("done-*.json")))
    for item in read_articles(inputs, settings):
        if isinstance(item, BadRow):
            if settings.on_error == "fail":
                raise InputError(f"{item.location}: {item.reason}")
            report.skipped.append(item)
            continue
        if item.id in done:
            continue
        chunk.append(item)
        if len(chunk) >= settings.chunk_articles:
            number = _score_chunk(predictor, chunk, parts, number, output, summary, report, progress)
            chunk = []
    if chunk:
        _score_chunk(predictor, chunk, parts, number, output, summary, report, progress)
    _assemble(parts, output, summary)
    report.seconds = time.monotonic() - started
    return report


def _score_chunk(predictor, chunk, parts, number, output, summary, report, progress) -> int:
    results = predictor.score_articles([a.text for a in chunk])
    rows = [row for a, r in zip(chunk, results, strict=True) for row in pair_rows(a, r)]
    sums = [row for a, r in zip(chunk, results, strict=True) for row in summary_rows(a, r)]
    number += 1
    _write_rows(rows, parts / f"pairs-{number:06d}{output.suffix}")
    _write_rows(sums, parts / f"summary-{number:06d}{summary.suffix}")
    # The id list is written last: a part counts as done only once it exists.
    marker = parts / f"done-{number:06d}.json"
    marker.with_name(marker.name + ".tmp").write_text(json.dumps([a.id for a in chunk]))
    marker.with_name(marker.name + ".tmp").replace(marker)
    report.articles += len(chunk)
    report.sentences += sum(len(r.sentences) for r in results)
    report.pairs += len(rows)
    if progress is not None:
        progress(len(chunk), len(rows))
    return number


def _assemble(parts: Path, output: Path, summary: Path) -> None:
    """Concatenate finished parts into the outputs (temporary names, then rename)."""
    numbers = {p.name.split("-")[1][:6] for p in parts.glob("done-*.json")}
    for target, prefix in ((output, "pairs"), (summary, "summary")):
        pieces = sorted(p for p in parts.glob(f"{prefix}-*{target.suffix}") if p.name.split("-")[1][:6] in numbers)
        temporary = target.with_name(target.name + ".tmp")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix == ".parquet":
            _concat_parquet(pieces, temporary)
        else:
            with temporary.open("wb") as out:
                for piece in pieces:
                    with piece.open("rb") as handle:
                        shutil.copyfileobj(handle, out)
        temporary.replace(target)
    shutil.rmtree(parts)


def _concat_parquet(pieces: list[Path], destination: Path) -> None:
    tables = (pq.read_table(p) for p in pieces)
    writer = None
    for table in tables:
        if table.num_rows == 0:
            continue
        if writer is None:
            writer = pq.ParquetWriter(destination, table.schema)
        writer.write_table(table.cast(writer.schema))
    if writer is None:
        pq.write_table(pa.table({}), destination)
    else:
        writer.close()
