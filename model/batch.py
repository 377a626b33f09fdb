"""Batch scoring of corpora larger than memory: stream articles in, write rows out safely.

Inputs (``.txt``, JSON Lines, CSV, Parquet files, and folders of them) stream in through
``model/records.py``, a bad row with its place; nothing is ever held whole in memory.

Output safety: each chunk of articles is written as a finished part file (written to a
temporary name, then renamed) in ``<output>.parts/``; the final output and summary are
assembled from the parts, again under a temporary name, and renamed at the very end.
An interrupted run leaves only parts, never a truncated file that looks complete, and
``resume`` skips every article already in a part; a run that fails before its first part
leaves nothing, and an existing output is replaced only when asked. The parts folder records what the run
was (inputs, fields, outputs, model), and a resume that differs is refused, so parts of
two runs never mix. Every article needs an id of its own: a repeated id is a bad row.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import functools
import hashlib
import io
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from model.labels import LABELS
from model.markup import looks_like_html
from model.records import Article, BadRow, articles_in, check_inputs
from model.values import field_text

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # torch: the command line builds its options from ScoreSettings without it
    from model.predictor import ArticleResult, StancePredictor

#: ``progress(articles, pairs)`` after each chunk; ``resumed=True`` once, with the articles
#: an interrupted run had done; ``restart=True`` once a resumed run meets its first article
#: to score (reading past the done ones is not scoring, so rates count from there);
#: ``skipped=`` a bad row, as it is met.
Progress = Callable[..., None]

FORMATS = (".jsonl", ".parquet", ".csv")
RUN_FILE = "run.json"  # in the parts folder: what the run was, checked on resume
LOCK_FILE = "lock"  # in the parts folder: held (flock) by the run writing it, with its pid

_PROBABILITIES = [(f"p_{label}", pa.float64()) for label in LABELS]
_COUNTS = [(f"n_{label}", pa.int64()) for label in LABELS]
#: Column types of the outputs, so every part (an empty one too) has the same schema.
PAIR_SCHEMA = pa.schema(
    [("id", pa.string()), ("model", pa.string()), ("sentence", pa.int64()), ("start", pa.int64()), ("end", pa.int64())]
    + [("text", pa.string())]
    + [("country", pa.string()), ("iso3", pa.string()), ("label", pa.string()), ("confidence", pa.float64())]
    + [*_PROBABILITIES, ("truncated", pa.bool_()), ("named_as", pa.list_(pa.string()))]
)
SUMMARY_SCHEMA = pa.schema(
    [("id", pa.string()), ("model", pa.string()), ("country", pa.string()), ("iso3", pa.string())]
    + [("label", pa.string()), ("confidence", pa.float64()), *_COUNTS, ("evidence", pa.list_(pa.int64()))]
    + [("evidence_labels", pa.list_(pa.string()))]  # each evidence sentence's label: which side it argued
)
_OWN_COLUMNS = set(PAIR_SCHEMA.names) | set(SUMMARY_SCHEMA.names)


def with_kept(schema: pa.Schema, kept: tuple[str, ...]) -> pa.Schema:
    """An output's columns with the kept input fields after the id, as text (a field's
    type may differ from row to row)."""
    columns = list(zip(schema.names, schema.types, strict=True))
    return pa.schema(columns[:1] + [(name, pa.string()) for name in kept] + columns[1:])


def field_names(value: str) -> tuple[str, ...]:
    """``"date, outlet"`` as ``("date", "outlet")``: how the command line names fields
    (``""``: none, as a script passing an empty variable gives)."""
    return tuple(name.strip() for name in value.split(",")) if value.strip() else ()


@dataclass
class ScoreSettings:
    """How a corpus is read and scored (``stance score`` takes one option per field)."""

    text_field: str = field(default="text", metadata={"help": "text column"})
    id_field: str = field(default="", metadata={"help": "id column (default: the row's location)"})
    keep_fields: tuple[str, ...] = field(
        default=(),
        metadata={"help": "input fields to copy into every output row (date, outlet)", "parse": field_names},
    )
    html: bool = field(
        default=False,
        metadata={"help": "the text is HTML: read as a browser shows it; offsets point into the HTML"},
    )
    chunk_articles: int = field(
        default=256, metadata={"help": "articles per model pass, part file and progress step", "minimum": 1}
    )
    on_error: str = field(
        default="skip", metadata={"help": "a bad row: report and skip it, or stop", "choices": ("skip", "fail")}
    )
    resume: bool = field(default=False, metadata={"help": "continue an interrupted run from its parts"})
    overwrite: bool = field(
        default=False, metadata={"help": "replace outputs that already exist (else refused, so no run is lost)"}
    )

    def __post_init__(self) -> None:
        if self.on_error not in ("skip", "fail"):
            raise ValueError(f"on_error must be 'skip' or 'fail', got {self.on_error!r}")
        if self.chunk_articles < 1:
            raise ValueError("chunk_articles must be at least 1")
        self.keep_fields = tuple(self.keep_fields)
        for name in self.keep_fields:
            if not name or self.keep_fields.count(name) > 1:
                raise ValueError(f"fields to keep must be named once each, got {list(self.keep_fields)!r}")
            why = (
                "is the article text"
                if name == self.text_field
                else "is the id field, already the id column"
                if name == self.id_field
                else "is an output column already"
                if name in _OWN_COLUMNS
                else ""
            )
            if why:
                raise ValueError(f"field to keep {name!r} {why}; keep only other fields")


@dataclass(frozen=True)
class Outputs:
    """A run's two outputs, and the input fields their rows keep beside their own columns."""

    output: Path
    summary: Path
    kept: tuple[str, ...] = ()

    @functools.cached_property
    def schemas(self) -> tuple[pa.Schema, pa.Schema]:
        """The pairs' and the summary's columns, built once per run."""
        return with_kept(PAIR_SCHEMA, self.kept), with_kept(SUMMARY_SCHEMA, self.kept)


KEPT_SKIPPED = 1_000  # bad rows a report keeps with their reasons; the rest are counted


@dataclass
class ScoreReport:
    """What a run did: counts, skipped rows with their locations, throughput."""

    articles: int = 0
    sentences: int = 0
    pairs: int = 0
    resumed: int = 0
    seconds: float = 0.0
    skipped_rows: int = 0
    #: The first KEPT_SKIPPED bad rows and every file cut short: a corpus of bad rows must
    #: not fill memory (each is printed as it is met).
    skipped: list[BadRow] = field(default_factory=list)
    model: str = ""
    empty_fields: list[str] = field(default_factory=list)  # kept fields no scored article had
    leftover: str = ""  # a finished run's parts folder that could not be removed, and why
    html_like: int = 0  # articles that look like HTML, scored as text (no --html)
    first_html_like: str = ""  # where the first of them is

    @property
    def cut_short(self) -> list[BadRow]:
        """Inputs whose reading stopped early (damaged or cut-off gzip): rows are missing."""
        return [bad for bad in self.skipped if bad.cut_short]

    def warnings(self) -> list[str]:
        """What the user should know of a run that finished, one message each."""
        said = []
        if self.html_like:
            said.append(
                f"{self.html_like} article(s) look like HTML (the first: {self.first_html_like}) and were read as "
                "plain text, tags and scripts included; score them again with --html"
            )
        said += [f"kept field {name!r} was missing or null in every article scored" for name in self.empty_fields]
        if self.leftover:
            said.append(
                f"the finished run's parts could not be removed ({self.leftover}); the outputs are whole; remove "
                "it by hand (a run writing these outputs refuses to start while it is there)"
            )
        if not (self.articles or self.resumed or self.skipped_rows):
            said.append("the inputs hold no articles (empty files?); the outputs are empty")
        return said

    def skipped_note(self, output: Path) -> str:
        """Where the skipped rows are listed, or "" when none was."""
        return (
            f"{self.skipped_rows} skipped row(s), with where and why, in {skipped_file(output)}"
            if (self.skipped_rows)
            else ""
        )

    def incomplete(self) -> str:
        """Why the outputs miss rows of the inputs, or "" when they hold all that could be read."""
        if not self.cut_short:
            return ""
        files = ", ".join(bad.location.rsplit(":", 1)[0] for bad in self.cut_short)
        return f"reading {files} stopped early (see above): the outputs hold only the rows read before that"

    def line(self) -> str:
        rate = self.pairs / self.seconds if self.seconds else 0.0
        return (
            f"scored {_many(self.articles, 'article')}, {_many(self.sentences, 'sentence')}, "
            f"{_many(self.pairs, 'pair')} "
            f"with {self.model or 'an unregistered model'} "
            f"in {self.seconds:.1f} s ({rate:.1f} pairs/s); {self.resumed} resumed, "
            f"{self.skipped_rows} skipped"
        )


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class InputError(ValueError):
    """A bad input row under ``on_error='fail'``."""


def pair_rows(article: Article, result: ArticleResult, model: str) -> list[dict]:
    """One row per (sentence, country) of a scored article, naming the model version."""
    rows = []
    for stance in result.stances:
        rows.append(
            {
                "id": article.id,
                **article.fields,
                "model": model,
                "sentence": stance.sentence_index,
                "start": stance.start,
                "end": stance.end,
                "text": stance.text,  # the sentence, so the rows read without the source files
                "country": stance.country,
                "iso3": stance.iso3,
                "label": stance.label,
                "confidence": stance.confidence,
                **{f"p_{label}": stance.probabilities[label] for label in LABELS},
                "truncated": stance.truncated,
                "named_as": list(stance.named_as),  # the words, to check a mention at a glance
            }
        )
    return rows


def summary_rows(article: Article, result: ArticleResult, model: str) -> list[dict]:
    """One row per (article, country): the article stance and its evidence sentences."""
    return [
        {
            "id": article.id,
            **article.fields,
            "model": model,
            "country": c.country,
            "iso3": c.iso3,
            "label": c.label,
            "confidence": c.confidence,
            **{f"n_{label}": c.counts[label] for label in LABELS},
            "evidence": [e.sentence_index for e in c.evidence],
            "evidence_labels": [e.label for e in c.evidence],
        }
        for c in result.countries
    ]


@contextlib.contextmanager
def _writing(path: Path):
    """An OSError while writing ``path`` names it: "[Errno 28] No space left on device"
    alone does not say whether the parts folder's disk or the output's filled up."""
    try:
        yield
    except OSError as error:
        if error.filename is not None:
            raise
        raise OSError(error.errno, f"writing {path}: {error.strerror or error}") from error


def _write_rows(rows: list[dict], path: Path, schema: pa.Schema, kept: tuple[str, ...]) -> None:
    """Write rows to ``path`` (by its extension) under a temporary name, then rename.
    Kept fields stay JSON values in JSON Lines and become text in the tables."""
    with _writing(path):
        _write_rows_to(rows, path, schema, kept)


def _write_rows_to(rows: list[dict], path: Path, schema: pa.Schema, kept: tuple[str, ...]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    if kept and path.suffix != ".jsonl":
        rows = [{**row, **{name: field_text(row[name]) for name in kept}} for row in rows]
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), temporary)
    elif path.suffix == ".csv":  # no header: the assembled file gets one, once
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([_csv_value(row[name]) for name in schema.names] for row in rows)
    else:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    temporary.replace(path)


def _csv_value(value):
    """Lists (a summary's evidence) as JSON text; the rest as the csv module writes them."""
    return json.dumps(value) if isinstance(value, list) else value


def output_kind(path: Path) -> str:
    """An output's format, by its extension in any case: ".JSONL" is JSON Lines too."""
    return path.suffix.lower()


def parts_folder(output: Path) -> Path:
    """Where a run keeps its finished parts until the outputs are assembled."""
    return output.with_name(output.name + ".parts")


def skipped_file(output: Path) -> Path:
    """Where a finished run lists the rows it skipped, one JSON object (location, reason) a
    line, so what the outputs leave out can be checked against the inputs afterwards.
    Named after the whole output name, as the parts folder is: x.jsonl and x.csv differ."""
    return output.with_name(output.name + ".skipped.jsonl")


SKIPPED_PART = "skipped.jsonl"  # the list as a run writes it, in its parts folder


def check_outputs(inputs: Iterable[str | Path], output: Path, summary: Path, settings: ScoreSettings) -> None:
    """Refuse, before anything is read, outputs that would overwrite an input or each other,
    have no known format, or hold results this run may not replace: a finished run's (unless
    ``overwrite``, or ``resume`` continues the interrupted run of these outputs) or an
    interrupted run's parts (unless ``resume``)."""
    for what, target in (("output", output), ("summary", summary)):
        if output_kind(target) not in FORMATS:
            raise ValueError(f"{what} {target} must end in .jsonl, .parquet or .csv")
        if target.is_dir():
            raise IsADirectoryError(f"{what} {target} is a folder: give a file name")
    if output.resolve() == summary.resolve():
        raise ValueError(f"the summary {summary} would overwrite the output: give --summary another path")
    if summary.resolve() == skipped_file(output).resolve():
        raise ValueError(f"the summary {summary} is where the skipped rows are listed: give --summary another path")
    for source in map(Path, inputs):
        for target in (output, summary, skipped_file(output)):
            if source.resolve() == target.resolve():
                raise ValueError(f"output {target} is also an input: writing it would destroy {source}")
        # The parts folder too: an output that is a link out of the folder keeps its parts in it.
        for target in (output, summary, parts_folder(output)):
            if source.is_dir() and source.resolve() in target.resolve().parents:
                raise ValueError(
                    f"output {target} is inside the input folder {source}: its rows, and the parts of an "
                    "interrupted run, would be read as articles by the next run over that folder; write it elsewhere"
                )
    parts = parts_folder(output)
    _check_not_running(parts)
    if parts.exists() and not settings.resume:
        raise FileExistsError(f"{parts} holds an interrupted run: pass --resume, or remove it")
    for target in (output, summary, skipped_file(output)):
        if not target.exists() or settings.overwrite or (settings.resume and parts.exists()):
            continue
        if settings.resume:
            raise FileExistsError(
                f"--resume: there is no interrupted run ({parts} does not exist), and {target} holds a "
                "finished one: pass --overwrite to score it again, or write elsewhere"
            )
        raise FileExistsError(f"{target} exists: pass --overwrite to replace it, or write elsewhere")


def _run_record(inputs: list[str], files: list[Path], summary: Path, settings: ScoreSettings, model: str) -> dict:
    """What a run is, for its parts folder: a resume must match it field for field."""
    return {
        # As the rows' locations spell them: "in/d/" and "in/./d" are "in/d" there too.
        "inputs": [str(Path(p)) for p in inputs],
        "resolved inputs": [str(Path(p).resolve()) for p in inputs],
        "text field": settings.text_field,
        "id field": settings.id_field,
        "summary": str(summary.resolve()),
        "kept fields": list(settings.keep_fields),
        "html": settings.html,
        "pair columns": PAIR_SCHEMA.names,  # parts written by a version with other columns cannot join
        "summary columns": SUMMARY_SCHEMA.names,
        "model": model,
        "input contents": input_fingerprint(files),
    }


def input_fingerprint(files: list[Path]) -> str:
    """A digest of every input file's path, size and modification time: a resume on
    inputs edited since the interruption would mix old rows with new."""
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def check_run(inputs: list[str], output: Path, summary: Path, settings: ScoreSettings, model: str) -> list[Path]:
    """Refuse, before the model loads, a run that could not finish: outputs (see
    :func:`check_outputs`), inputs (``check_inputs``), a resume that differs from the
    interrupted run, and a finished run's parts left undeleted (cleared when they can
    be). The input files the run reads."""
    check_outputs(inputs, output, summary, settings)
    files = check_inputs(inputs, settings.keep_fields, settings.text_field, settings.id_field)
    parts = parts_folder(output)
    _clear_removing(parts)
    if parts.exists():  # so resume is set: check_outputs refused it otherwise
        _check_resumed(parts, _run_record(inputs, files, summary, settings, model))
    return files


def _check_resumed(parts: Path, run: dict) -> None:
    """Refuse to resume into ``parts`` a run that is not the interrupted one."""
    record = parts / RUN_FILE
    if not record.exists():
        raise FileExistsError(f"{parts} does not say which run it belongs to ({RUN_FILE} is missing): remove it")
    earlier = json.loads(record.read_text())
    earlier["inputs"] = [str(Path(p)) for p in earlier.get("inputs", [])]  # as typed, by an earlier version
    earlier.setdefault("kept fields", [])  # parts of a version that kept no fields
    earlier.setdefault("html", False)  # or read no HTML
    for key, value in run.items():
        if earlier.get(key) != value and key != "input contents":
            raise ValueError(
                f"--resume: {key}: {value!r} in this run, {earlier.get(key)!r} in the interrupted one; "
                f"resume with the same inputs and options, or remove {parts}"
            )
    if earlier.get("input contents") != run["input contents"]:
        raise ValueError(
            f"--resume: an input changed since the interrupted run (a file's size or modification time, or "
            f"a folder's files); its rows would mix old and new results: remove {parts} and score again"
        )


@contextlib.contextmanager
def _holding(parts: Path):
    """Hold the parts folder's lock while a run writes it: a second run on the same outputs
    while the first goes on was told to --resume, and the two then wrote one folder. The
    operating system lets go of the lock when the process ends, however it ends."""
    parts.mkdir(parents=True, exist_ok=True)
    with (parts / LOCK_FILE).open("a+") as handle:
        try:
            _lock(handle)
        except BlockingIOError:
            raise FileExistsError(_running(parts)) from None
        except OSError as error:  # a file system without locks (some network mounts): go on without
            log.warning("%s cannot be locked (%s): a second run on these outputs would not be stopped", parts, error)
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        yield


def _lock(handle, tries: int = 10) -> None:
    """The lock, retried for a second: another run's check (:func:`_check_not_running`)
    holds it shared for a moment, which must not make this run refuse itself."""
    for attempt in range(tries):
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if attempt == tries - 1:
                raise
            time.sleep(0.1)


def _check_not_running(parts: Path) -> None:
    """Refuse, before the model loads, outputs another run is writing now."""
    lock = parts / LOCK_FILE
    if not lock.exists():
        return
    with lock.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FileExistsError(_running(parts)) from None
        except OSError:  # no locks on this file system: nothing to learn here
            return


def _running(parts: Path) -> str:
    pid = (parts / LOCK_FILE).read_text().strip() or "?"
    return f"another stance score run (pid {pid}) is writing {parts} now: wait for it to end, or stop it"


def _open_parts(parts: Path, run: dict) -> dict[str, str]:
    """Create the parts folder for a new run, or check a resumed one; the ids already done
    and where each came from."""
    record = parts / RUN_FILE
    if not record.exists():  # the folder is new (its lock aside)
        record.with_name(RUN_FILE + ".tmp").write_text(json.dumps(run, indent=1))
        record.with_name(RUN_FILE + ".tmp").replace(record)
        return {}
    _check_resumed(parts, run)
    done: dict[str, str] = {}
    for marker in sorted(parts.glob("done-*.json")):
        done.update(json.loads(marker.read_text()))
    return done


def score_corpus(
    predictor: StancePredictor,
    inputs: list[str],
    output: Path,
    summary: Path,
    settings: ScoreSettings,
    progress: Progress | None = None,
    files: list[Path] | None = None,
) -> ScoreReport:
    """Score every article of ``inputs`` into ``output`` and ``summary`` (see module doc).
    ``files``: what :func:`check_run` gave for this run, when the caller ran it before
    loading the model (a resume is still checked against its parts as they open)."""
    if files is None:
        files = check_run(inputs, output, summary, settings, predictor.tag)
    parts = parts_folder(output)
    with _holding(parts):
        done = _open_parts(parts, _run_record(inputs, files, summary, settings, predictor.tag))
        try:
            outputs = Outputs(output, summary, settings.keep_fields)
            return _score_all(predictor, files, outputs, settings, progress, parts, done)
        except Exception:
            # A failure before any part was written leaves nothing to resume: remove the folder so
            # the corrected rerun starts afresh. Ctrl-C keeps it, for --resume.
            if not done and not any(parts.glob("done-*.json")):
                shutil.rmtree(parts, ignore_errors=True)
            raise


def _score_all(
    predictor: StancePredictor,
    files: list[Path],
    outputs: Outputs,
    settings: ScoreSettings,
    progress: Progress | None,
    parts: Path,
    done: dict[str, str],
) -> ScoreReport:
    report = ScoreReport(resumed=len(done), model=predictor.tag)
    if progress is not None and done:
        progress(len(done), 0, resumed=True)  # a bar with a total starts where the interrupted run stopped
    started = time.monotonic()
    seen: dict[str, str] = {}  # id -> location, this run
    chunk: list[Article] = []
    part = max(map(_part_number, parts.glob("done-*.json")), default=0)  # a gap must not reuse a number
    filled: set[str] = set()  # kept fields some article had
    restart = bool(done) and progress is not None
    # Written afresh by every run: a resumed one reads past the done rows, so meets every bad one again.
    with (parts / SKIPPED_PART).open("w", encoding="utf-8") as skipped:
        for item in articles_in(files, settings.text_field, settings.id_field, settings.keep_fields):
            item = _unique(item, done, seen)
            if item is None:
                continue  # scored before the interruption
            if isinstance(item, BadRow):
                _skip(item, settings, report, progress, skipped)
                continue
            if restart:
                progress(0, 0, restart=True)
                restart = False
            seen[item.id] = item.location
            if not settings.html and looks_like_html(item.text):
                report.html_like += 1
                report.first_html_like = report.first_html_like or item.location
            filled.update(name for name, value in item.fields.items() if value is not None)
            chunk.append(item)
            if len(chunk) >= settings.chunk_articles:
                part = _score_chunk(predictor, chunk, settings.html, parts, part, outputs, report, progress)
                chunk = []
        if chunk:
            _score_chunk(predictor, chunk, settings.html, parts, part, outputs, report, progress)
    if not done and not report.articles and report.skipped_rows:
        first = report.skipped[0]
        raise InputError(
            f"no article could be read: all {report.skipped_rows} rows were skipped "
            f"(the first: {first.location}: {first.reason}); nothing was written"
        )
    report.leftover = _assemble(parts, outputs)
    report.seconds = time.monotonic() - started
    if report.articles and not report.resumed:  # a resumed run saw only some of the articles
        report.empty_fields = [name for name in outputs.kept if name not in filled]
    return report


def _unique(item: Article | BadRow, done: dict[str, str], seen: dict[str, str]) -> Article | BadRow | None:
    """None for an article a resumed run already scored; a repeated id as a bad row."""
    if isinstance(item, BadRow):
        return item
    if done.get(item.id) == item.location:
        return None
    if first := done.get(item.id) or seen.get(item.id):
        return BadRow(item.location, f"duplicate id {item.id!r} (first at {first}); ids must be unique")
    return item


def _skip(bad: BadRow, settings: ScoreSettings, report: ScoreReport, progress: Progress | None, log) -> None:
    if settings.on_error == "fail":
        raise InputError(f"{bad.location}: {bad.reason}")
    report.skipped_rows += 1
    log.write(json.dumps({"location": bad.location, "reason": bad.reason}, ensure_ascii=False) + "\n")
    if len(report.skipped) < KEPT_SKIPPED or bad.cut_short:
        report.skipped.append(bad)
    if progress is not None:
        progress(1, 0, skipped=bad)


def _score_chunk(
    predictor: StancePredictor,
    chunk: list[Article],
    html: bool,
    parts: Path,
    part: int,
    outputs: Outputs,
    report: ScoreReport,
    progress: Progress | None,
) -> int:
    """Score ``chunk`` into the next part; that part's number."""
    results = predictor.score_articles([a.text for a in chunk], html=[html] * len(chunk))
    rows = [row for a, r in zip(chunk, results, strict=True) for row in pair_rows(a, r, predictor.tag)]
    summary = [row for a, r in zip(chunk, results, strict=True) for row in summary_rows(a, r, predictor.tag)]
    part += 1
    pair_schema, summary_schema = outputs.schemas
    _write_rows(rows, parts / f"pairs-{part:06d}{output_kind(outputs.output)}", pair_schema, outputs.kept)
    _write_rows(summary, parts / f"summary-{part:06d}{output_kind(outputs.summary)}", summary_schema, outputs.kept)
    # The id list is written last: a part counts as done only once it exists.
    marker = parts / f"done-{part:06d}.json"
    with _writing(marker):
        marker.with_name(marker.name + ".tmp").write_text(json.dumps({a.id: a.location for a in chunk}))
    marker.with_name(marker.name + ".tmp").replace(marker)
    report.articles += len(chunk)
    report.sentences += sum(len(r.sentences) for r in results)
    report.pairs += len(rows)
    if progress is not None:
        progress(len(chunk), len(rows))
    return part


def _assemble(parts: Path, outputs: Outputs) -> str:
    """Concatenate finished parts into both outputs under temporary names, then rename
    both: neither output appears until both are whole. A parts folder that cannot be
    removed then is said (the outputs are whole; the next run removes it), not raised."""
    numbers = sorted(map(_part_number, parts.glob("done-*.json")))
    pair_schema, summary_schema = outputs.schemas
    jobs = [(outputs.output, "pairs", pair_schema), (outputs.summary, "summary", summary_schema)]
    temporaries = [target.with_name(target.name + ".tmp") for target, _, _ in jobs]
    try:
        for (target, prefix, schema), temporary in zip(jobs, temporaries, strict=True):
            kind = output_kind(target)
            pieces = [parts / f"{prefix}-{number:06d}{kind}" for number in numbers]
            if missing := [piece for piece in pieces if not piece.exists()]:
                raise ValueError(
                    f"{parts} is damaged: {missing[0].name} is missing, though its part is marked done; "
                    f"its articles would be lost: remove {parts} and score again"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            with _writing(target):
                _concatenate(pieces, temporary, schema, kind)
    except BaseException:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
        raise
    for (target, _, _), temporary in zip(jobs, temporaries, strict=True):
        temporary.replace(target)
    listed, skipped = parts / SKIPPED_PART, skipped_file(outputs.output)
    if listed.exists() and listed.stat().st_size:
        listed.replace(skipped)
    else:  # nothing skipped: an earlier run's list (under --overwrite) must not stand beside these outputs
        skipped.unlink(missing_ok=True)
    # Renamed before it is removed: a removal cut short must not leave a parts folder that
    # a --resume would take for an interrupted run and reassemble with parts missing.
    removing = _removing(parts)
    parts.replace(removing)
    try:
        shutil.rmtree(removing)
    except OSError as error:
        return f"{removing}: {error}"
    return ""


def _part_number(marker: Path) -> int:
    """``done-000012.json`` is part 12 (and ``done-1000000.json`` part 1,000,000)."""
    return int(marker.name.split("-", 1)[1].split(".", 1)[0])


def _removing(parts: Path) -> Path:
    """Where a finished run's parts folder goes to be deleted."""
    return parts.with_name(parts.name + ".removing")


def _clear_removing(parts: Path) -> None:
    """Delete what a finished run left being deleted (cut short, or refused by the file
    system); refuse to start while it stays, since this run's own parts could not take
    its place at the end."""
    removing = _removing(parts)
    shutil.rmtree(removing, ignore_errors=True)
    if removing.exists():
        raise FileExistsError(
            f"{removing}: a finished run's parts, which could not be deleted; remove it by hand, then score again"
        )


def _concatenate(pieces: list[Path], destination: Path, schema: pa.Schema, suffix: str) -> None:
    if suffix == ".parquet":
        _concat_parquet(pieces, destination, schema)
        return
    with destination.open("wb") as out:
        if suffix == ".csv":
            header = io.StringIO()
            csv.writer(header).writerow(schema.names)  # quoted as the rows are, for kept names
            out.write(header.getvalue().encode())
        for piece in pieces:
            with piece.open("rb") as handle:
                shutil.copyfileobj(handle, out)


ROWS_PER_GROUP = 65_536  # Parquet row groups of this many rows at least, the last aside


def _concat_parquet(pieces: list[Path], destination: Path, schema: pa.Schema) -> None:
    """Parts joined into row groups of at least ROWS_PER_GROUP rows: one group per part
    (a few hundred rows) made a large output slow for every reader."""
    with pq.ParquetWriter(destination, schema) as writer:
        pending: list[pa.Table] = []
        for piece in pieces:
            pending.append(pq.read_table(piece, schema=schema))
            if sum(t.num_rows for t in pending) >= ROWS_PER_GROUP:
                _write_group(writer, pending)
                pending = []
        _write_group(writer, pending)


def _write_group(writer: pq.ParquetWriter, tables: list[pa.Table]) -> None:
    table = pa.concat_tables(tables) if tables else None
    if table is not None and table.num_rows:
        writer.write_table(table, row_group_size=table.num_rows)
