"""User files, streamed row by row, each row with the place it came from.

Batch scoring (articles) and the labeled-data loader (pairs) both read through here, so a
bad row is named the same way everywhere: ``file:line`` (the line a CSV row starts on),
or ``file#row`` for Parquet, and a reason. Nothing is loaded whole. JSON Lines and CSV
may be gzip-compressed (``.jsonl.gz``, ``.csv.gz``); their lines are those of the text
inside.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import math
import re
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from model.values import arrow_rows, plain_value

# Articles can be long: the csv module's default field limit (128 KiB) would refuse them.
csv.field_size_limit(1 << 30)

_SURROGATE = re.compile("[\ud800-\udfff]")
# What a damaged or cut-off gzip file raises part-way through: the rows before it stand.
_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)

Record = tuple[str, "dict | str"]  # (place, the row's fields or why it could not be read)


class FileCutShort(str):
    """Why reading a file stopped before its end (a damaged or cut-off gzip file): unlike
    a bad row, it means rows of the file are missing, not skipped."""


@dataclass(frozen=True)
class Article:
    """One input article, where it came from (``file:line`` or ``file#row``) and the
    fields of its row asked to be kept (a date, an outlet), as plain JSON values."""

    id: str
    text: str
    location: str
    fields: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BadRow:
    location: str
    reason: str
    cut_short: bool = False  # the rest of its file was not read


# Other names of the same formats: .ndjson is JSON Lines; a .tsv file is read as CSV,
# whose reader takes tabs as the separator when the header line is split by them.
_SAME_AS = {".ndjson": ".jsonl", ".tsv": ".csv"}


def file_kind(path: Path) -> str:
    """What a file holds, by its name: ``.jsonl``, ``.csv``, ``.parquet``, ``.txt``, or
    its own suffix when none of those. ``.jsonl.gz``, ``.csv.gz`` and ``.txt.gz`` are
    JSON Lines, CSV and text; ``.ndjson`` and ``.tsv`` (gzip-compressed too) are JSON
    Lines and CSV."""
    suffixes = [_SAME_AS.get(s.lower(), s.lower()) for s in path.suffixes[-2:]]
    if suffixes[-1:] == [".gz"] and suffixes[:1] in ([".jsonl"], [".csv"], [".txt"]):
        return suffixes[0]
    return suffixes[-1] if suffixes else ""


def _open_bytes(path: Path):
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else path.open("rb")


def _open_csv(path: Path):
    """CSV text as written: a byte-order mark skipped, bytes that are not UTF-8 kept for
    the row's reader to name, line ends left to the csv module."""
    return io.TextIOWrapper(_open_bytes(path), encoding="utf-8-sig", errors="surrogateescape", newline="")


def _damaged(path: Path, error: Exception, after: int) -> FileCutShort:
    if "CRC check failed" in str(error):  # found only at the end: the damage may lie anywhere before
        return FileCutShort(
            f"the file's checksum does not match its data ({error}): {path} is corrupt, and rows "
            "read from it may hold damaged text"
        )
    if not after:
        return FileCutShort(f"not readable as gzip-compressed data ({error}); nothing of {path} was read")
    return FileCutShort(
        f"compressed data is damaged or cut off after line {after} ({error}); the rest of {path} was not read"
    )


def _empty_gzip(path: Path) -> FileCutShort | None:
    """A .gz file of no bytes holds no compressed data at all (gzip itself calls it cut off)."""
    if path.suffix.lower() == ".gz" and path.stat().st_size == 0:
        return FileCutShort(f"empty file: {path} holds no gzip-compressed data")
    return None


def jsonl_records(path: Path, fields: Collection[str] | None = None) -> Iterator[Record]:
    """``(file:line, row or problem)`` for every non-blank line of a JSON Lines file; a
    row whose ``fields`` (default: all) hold text that cannot be written is a problem."""
    if empty := _empty_gzip(path):
        yield f"{path}:1", empty
        return
    with _open_bytes(path) as handle:
        number, first_row = 0, True
        lines = iter(handle)
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                return
            except _GZIP_ERRORS as error:
                yield f"{path}:{number + 1}", _damaged(path, error, number)
                return
            number += 1
            location = f"{path}:{number}"
            if number == 1 and (wide := _wide_mark(raw)):  # else one "invalid JSON" a line
                yield location, f"{wide} text (its byte-order mark says so); convert the file to UTF-8 to read it"
                return
            if not raw.strip():
                continue
            try:  # utf-8-sig: a byte-order mark some editors write is not part of the row, on
                # any line (files joined with cat keep theirs). Without its line end, so an
                # unclosed object is placed at its own line's end.
                line = raw.decode("utf-8-sig").rstrip("\r\n")
            except UnicodeDecodeError as error:
                yield location, f"not UTF-8 text (byte {error.start} of the line)"
                continue
            if first_row and _opens_array(line):  # else one problem a line of the array
                yield location, "the file is one JSON array, not JSON Lines: write one object per line (jq -c '.[]')"
                return
            first_row = False
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    yield location, f"expected a JSON object, got {type(row).__name__}"
                    continue
                yield location, _checked_text(row, fields, "an unpaired surrogate escape such as \\ud800")
            except json.JSONDecodeError as error:
                yield location, f"invalid JSON ({error.msg.removesuffix(' at')} at column {error.colno})"
            except RecursionError:
                yield location, "JSON nested too deeply to read"
            except ValueError as error:  # valid JSON Python will not hold: an integer of 5,000 digits
                yield location, f"unreadable JSON ({error})"


def csv_records(path: Path, fields: Collection[str] | None = None) -> Iterator[Record]:
    """``(file:line, row or problem)`` for every data row of a CSV file with a header.

    Values stay text as written ("007" stays "007"); quoted fields may span lines, and
    the place is the line the row starts on. An undecodable or malformed row is reported
    and the rest of the file is still read.
    """
    if empty := _empty_gzip(path):
        yield f"{path}:1", empty
        return
    delimiter = _delimiter(path)
    with _open_csv(path) as handle:
        # skipinitialspace: files written with ", " between fields (by hand, by some tools)
        # keep their quoted fields whole and their header names plain.
        reader = csv.reader(handle, delimiter=delimiter, strict=True, skipinitialspace=True)
        header: list[str] | None = None
        start = 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except _GZIP_ERRORS as error:
                yield f"{path}:{start}", _damaged(path, error, reader.line_num)
                return
            except csv.Error as error:
                if "unexpected end of data" in str(error):  # a quote never closed: it took in the rest
                    yield f"{path}:{start}", _unclosed_quote(path, start, reader.line_num)
                    return
                yield f"{path}:{start}", f"malformed CSV ({error}; read through line {reader.line_num})"
                start = reader.line_num + 1
                continue
            location, start = f"{path}:{start}", reader.line_num + 1
            if not any(values):  # a blank line, or a row of empty cells that spreadsheets write
                continue
            if header is None:
                header = values
                if problem := _header_problem(header):
                    yield location, f"{problem}; nothing in this file was read"
                    return
                continue
            if len(values) > len(header):
                yield location, f"{len(values)} fields, but the header names {len(header)}"
                continue
            if [value.removeprefix("\ufeff") for value in values] == header:  # each file's own mark
                yield location, "the header again (files joined together?); not a row"
                continue
            checked = _checked_text(dict(zip(header, values, strict=False)), fields, "bytes that are not UTF-8")
            # Most often a spreadsheet saved in its local code page: say how to fix the file.
            yield (
                location,
                checked + "; save the file as UTF-8 (Excel: CSV UTF-8)" if isinstance(checked, str) else checked,
            )


def _unclosed_quote(path: Path, start: int, end: int) -> FileCutShort:
    return FileCutShort(
        f"a quote opened in the row of line {start} is never closed, so lines {start} to {end} read as one "
        f"field: the rest of {path} was not read (a field that starts with a quote must end with one; "
        "text written without quoting, as some tab-separated exports are, cannot start a field with one)"
    )


def _delimiter(path: Path) -> str:
    """What separates a CSV file's fields, as its header line shows: commas, or the
    semicolons Excel writes where a comma is the decimal mark, or tabs."""
    try:
        with _open_csv(path) as handle:
            header = next((line for line in handle if line.strip()), "")
    except (UnicodeError, *_GZIP_ERRORS):
        return ","  # its reader reports the file
    return max(",;\t", key=header.count) if header.count(",") < max(header.count(";"), header.count("\t")) else ","


def _header_problem(header: list[str]) -> str | None:
    if any(_SURROGATE.search(name) for name in header):
        return "header is not UTF-8 text"
    # Blank names repeat in spreadsheets' exports (empty columns past the table's edge):
    # such columns are never read, so they need no name of their own.
    repeated = sorted({name for name in header if header.count(name) > 1 and name.strip()})
    if repeated:
        return f"header names {', '.join(map(repr, repeated))} more than once"
    return None


def missing_field(name: str, row: dict) -> str:
    """Why a row lacks ``name``, with what its header holds instead when that explains it."""
    if name in row:  # there, but null
        return f"missing field {name!r}"
    if near := misspelt_field(name, row):
        return f"missing field {name!r} (there is {near!r}; a name must match in case and spaces)"
    if row:
        return f"missing field {name!r} (the row has {', '.join(repr(str(key)[:40]) for key in list(row)[:8])})"
    return f"missing field {name!r}"


def misspelt_field(name: str, row: dict) -> str | None:
    """A key of ``row`` that is ``name`` in another case or with spaces around it."""
    return next((key for key in row if isinstance(key, str) and key.strip().lower() == name.lower()), None)


def _checked_text(row: dict, fields: Collection[str] | None, what: str) -> dict | str:
    """The row, or a problem naming the first of ``fields`` (default: all) whose text,
    nested values' included, cannot be written as UTF-8. Fields no one reads are left be."""
    for name, value in row.items():
        if fields is not None and name not in fields:
            continue
        if (found := _unwritable(value)) is not None:
            return f"field {name!r} holds {what} (character {found}); not valid text"
    return row


def _unwritable(value) -> int | None:
    """Where in ``value`` (a string, or one nested in lists and objects, keys included)
    text that is not UTF-8 begins; None if nowhere."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        return found.start() if found else None
    nested = [*value.keys(), *value.values()] if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next((at for item in nested if (at := _unwritable(item)) is not None), None)


ARTICLE_SUFFIXES = (".txt", ".jsonl", ".csv", ".parquet")


def input_files(paths: Iterable[str | Path], kinds: Collection[str]) -> list[Path]:
    """Files named, and the files of ``kinds`` inside folders named (subfolders too), in
    a stable order. A folder holding .txt files reads those alone: articles, with perhaps
    a table about them beside them (``seeds/`` keeps its labels so), which must not be
    scored as articles. Inside a folder, names starting with ``.`` or ``_`` are skipped,
    as pyarrow skips them: Spark's ``_SUCCESS`` and ``_metadata``, checksum and editor
    files. :func:`unread_files` names what a folder holds and is not read. A missing path,
    a folder with no such file, or a file reached twice is an error: each would read
    other data than the user meant, without a word."""
    files: dict[Path, Path] = {}
    for path in map(Path, paths):
        if path.is_dir():
            found = _folder_files(path, kinds)
            if not found:
                raise ValueError(f"{path}: a folder with no {kinds_named(kinds)}")
        elif not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
        else:
            found = [path]
        for file in found:
            if (first := files.setdefault(file.resolve(), file)) is not file:
                raise ValueError(f"{file}: given twice (also as {first}); its rows would count twice")
    return list(files.values())


def _folder_files(folder: Path, kinds: Collection[str]) -> list[Path]:
    found = sorted(p for p in folder.rglob("*") if file_kind(p) in kinds and not _skipped(p, folder))
    texts = [p for p in found if file_kind(p) == ".txt"]
    return texts or found


# Files a folder holds that are never data: not worth a warning.
_MARKERS = frozenset({"_SUCCESS", "_metadata", "_common_metadata"})


def unread_files(paths: Iterable[str | Path], kinds: Collection[str]) -> list[Path]:
    """Files inside folders named that are not read: of no kind in ``kinds``, a table
    beside .txt articles, or a data file named with a leading ``_`` (a user's
    ``_batch7.jsonl``); names starting with ``.``, Spark's markers and checksums aside. A
    shard folder written as ``.json`` would otherwise lose them without a word."""
    unread = []
    for folder in (Path(p) for p in paths if Path(p).is_dir()):
        read = set(_folder_files(folder, kinds))
        for path in folder.rglob("*"):
            parts = path.relative_to(folder).parts
            if not path.is_file() or path in read or any(part.startswith(".") for part in parts):
                continue
            if path.name not in _MARKERS and path.suffix != ".crc":
                unread.append(path)
    return sorted(unread)


def _skipped(path: Path, folder: Path) -> bool:
    """Not read from inside a folder: a name starting with ``.`` or ``_`` (subfolders
    too), or not a file."""
    hidden = any(part[:1] in "._" for part in path.relative_to(folder).parts)
    return hidden or not path.is_file()


def kinds_named(kinds: Collection[str]) -> str:
    """ ".txt, .jsonl, .csv or .parquet files (.txt.gz, .jsonl.gz and .csv.gz count too)", for ``kinds``."""
    names = [kind for kind in ARTICLE_SUFFIXES if kind in kinds]
    gz = [f"{kind}.gz" for kind in (".txt", ".jsonl", ".csv") if kind in kinds]
    listed = ", ".join(names[:-1]) + (" or " if len(names) > 1 else "") + names[-1]
    return f"{listed} files" + (f" ({' and '.join(gz)} count too)" if gz else "")


def check_inputs(
    paths: Iterable[str | Path], keep_fields: Iterable[str] = (), text_field: str = "text", id_field: str = ""
) -> list[Path]:
    """The input files (:func:`input_files`), after refusing, before anything is read or
    written, a file of a type not read; a table whose columns lack the text field, the id
    field or a field to keep (for JSON Lines, its first rows' fields stand for the file's);
    with ``keep_fields``, a .txt input (it has no fields)."""
    keep = list(keep_fields)
    files = input_files(paths, ARTICLE_SUFFIXES)
    for path in files:
        if file_kind(path) not in ARTICLE_SUFFIXES:
            raise ValueError(
                f"{path}: unsupported input {path.suffix!r}; use {kinds_named(ARTICLE_SUFFIXES)}, or folders of them"
            )
        _check_columns(path, keep, text_field, id_field)
    return files


def unused_id_column(files: list[Path], id_field: str) -> Path | None:
    """The first table among ``files`` when its rows have an ``id`` field that no
    ``id_field`` names: the API reads ``id`` by that name, batch scoring only when told.
    One file is looked at, as shards of one corpus share their columns."""
    table = next((path for path in files if file_kind(path) != ".txt"), None)
    if id_field or table is None:
        return None
    return table if "id" in (_columns(table, file_kind(table)) or []) else None


def _refuse_wide_encoding(path: Path) -> None:
    """Refuse a text file whose byte-order mark says UTF-16 or UTF-32, naming it."""
    if wide := _wide_encoding(path):
        raise ValueError(f"{path}: {wide} text (its byte-order mark says so); convert it to UTF-8 to read it")


def _opens_array(line: str) -> bool:
    """Whether a file's first line starts a JSON array of objects: pretty-printed ("[" or
    "[{" alone on it), one object a line ('[{"text": ...},') or whole on one line."""
    if line.strip() in ("[", "[{"):
        return True
    if not line.lstrip().startswith("[{"):
        return False
    if line.rstrip().endswith(","):
        return True
    try:
        return isinstance(json.loads(line), list)
    except ValueError:
        return False


def _wide_encoding(path: Path) -> str:
    """ "UTF-16" or "UTF-32" where a text file's byte-order mark says so, else ""."""
    try:
        with _open_bytes(path) as handle:
            return _wide_mark(handle.read(4))
    except _GZIP_ERRORS:  # its reader reports the damage
        return ""


def _wide_mark(start: bytes) -> str:
    """ "UTF-16" or "UTF-32" where text starting with ``start`` has that byte-order mark."""
    if start[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "UTF-32"
    return "UTF-16" if start[:2] in (b"\xff\xfe", b"\xfe\xff") else ""


def _check_columns(path: Path, keep: list[str], text_field: str, id_field: str) -> None:
    kind = file_kind(path)
    if kind == ".txt":
        _refuse_wide_encoding(path)
        if keep:
            raise ValueError(
                f"{path}: a .txt article has no fields to keep; keep fields of JSON Lines, CSV, Parquet rows"
            )
        return
    columns = _columns(path, kind)
    # Looked at only when the columns do not read: a good file is opened once here.
    if kind != ".parquet" and (columns is None or text_field not in columns):
        _refuse_wide_encoding(path)
    if columns is None:
        return
    shown = ", ".join(repr(name) for name in columns[:12])
    read = [(text_field, "for the article text", "; name it with --text-field")]
    read += [(id_field, "for the ids", "; name it with --id-field")] if id_field else []
    read += [(name, "to keep", "") for name in keep if kind != ".jsonl"]  # a JSON Lines row may lack one: null
    where = f"in its first {FIRST_ROWS} rows (their fields" if kind == ".jsonl" else "(its columns"
    for name, what, hint in read:
        if name not in columns:
            raise ValueError(f"{path}: no column {name!r} {what} {where}: {shown}){hint}")


def _columns(path: Path, kind: str) -> list[str] | None:
    """A table's column names (the fields of a JSON Lines file's first rows), or None where
    they cannot be read (its rows report that)."""
    if kind == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).schema_arrow.names
    if kind == ".csv":
        return _csv_header(path)
    return _first_row_fields(path)


FIRST_ROWS = 20  # JSON Lines rows whose fields stand for a file's columns


def _first_row_fields(path: Path) -> list[str] | None:
    """Every field of a JSON Lines file's first FIRST_ROWS rows (a scraper's row that
    failed can lack the text; the rows after it have it), or None if the first row does
    not read as an object."""
    fields: dict[str, None] = {}
    try:
        with _open_bytes(path) as handle:
            lines = [raw for raw, _ in zip((raw for raw in handle if raw.strip()), range(FIRST_ROWS), strict=False)]
    except _GZIP_ERRORS:
        return None
    for number, line in enumerate(lines):
        try:
            row = json.loads(line.decode("utf-8-sig"))
        except (ValueError, RecursionError):
            row = None
        if not isinstance(row, dict):
            if number == 0:
                return None
            continue
        fields.update(dict.fromkeys(row))
    return list(fields) if lines else None


def _csv_header(path: Path) -> list[str] | None:
    with _open_csv(path) as handle:
        try:
            reader = csv.reader(handle, delimiter=_delimiter(path), skipinitialspace=True)
            return next((values for values in reader if any(values)), None)
        except (csv.Error, *_GZIP_ERRORS):
            return None


def read_articles(
    paths: Iterable[str | Path], text_field: str = "text", id_field: str = "", keep_fields: Iterable[str] = ()
) -> Iterator[Article | BadRow]:
    """Every article of .txt files (one article each), JSON Lines, CSV or Parquet files,
    and of folders of them, in order; a bad row comes out as :class:`BadRow`. Ids come
    from ``id_field``, else the location (a .txt file's path as found); ``keep_fields``
    are copied from each row (null where a JSON Lines row lacks one)."""
    keep = list(keep_fields)
    yield from articles_in(check_inputs(paths, keep, text_field, id_field), text_field, id_field, keep)


def articles_in(
    files: list[Path], text_field: str = "text", id_field: str = "", keep: list[str] | tuple[str, ...] = ()
) -> Iterator[Article | BadRow]:
    """:func:`read_articles` over files :func:`check_inputs` has already listed and checked."""
    keep = list(keep)
    used = [text_field, id_field, *keep]
    readers = {
        ".jsonl": functools.partial(jsonl_records, fields=used),
        ".csv": functools.partial(csv_records, fields=used),
        ".parquet": functools.partial(parquet_records, columns=used),
    }
    for path in files:
        if file_kind(path) == ".txt":
            yield _text_article(path)
        else:
            for location, row in readers[file_kind(path)](path):
                yield _row_article(row, location, text_field, id_field, keep)


def count_articles(paths: Iterable[str | Path], counted: Callable[[int], None] | None = None) -> int:
    """How many articles (bad rows included) the inputs hold, for a progress bar's total.
    A pass that keeps nothing: Parquet from its metadata, the rest row by row, far faster
    than scoring them, but a corpus of compressed shards takes a while: ``counted(n)``
    after each file, with its count."""
    total = 0
    for path in input_files(paths, ARTICLE_SUFFIXES):
        found = _file_articles(path)
        total += found
        if counted is not None:
            counted(found)
    return total


def _file_articles(path: Path) -> int:
    import pyarrow.parquet as pq

    kind = file_kind(path)
    if kind == ".txt":
        return 1
    if kind == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    if kind == ".jsonl":
        return _count_lines(path)
    return sum(1 for _ in csv_records(path))


def _count_lines(path: Path) -> int:
    """Non-blank lines; a damaged gzip file's count stops where it does (its reader
    reports that as one more row)."""
    if _empty_gzip(path):
        return 1  # its reader reports it as one row
    total = 0
    with _open_bytes(path) as handle:
        try:
            for line in handle:
                total += bool(line.strip())
        except _GZIP_ERRORS:
            total += 1
    return total


def _text_article(path: Path) -> Article | BadRow:
    try:  # the text exactly as stored (no newline translation), so offsets index the file
        with _open_bytes(path) as handle:  # a .txt.gz file's text is what it holds
            text = handle.read().decode("utf-8")
    except UnicodeDecodeError as error:
        return BadRow(str(path), f"not UTF-8 text (byte {error.start})")
    except _GZIP_ERRORS as error:  # an article cut off is not scored as if it were whole
        return BadRow(str(path), _damaged(path, error, 0), cut_short=True)
    return Article(str(path), text, str(path)) if text.strip() else BadRow(str(path), "empty text")


def parquet_records(path: Path, columns: list[str]) -> Iterator[Record]:
    """``(file#row, row)`` for every row of a Parquet file, with only ``columns`` read: the
    others may be of any type, and are never loaded."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    names = parquet.schema_arrow.names
    wanted = [name for name in dict.fromkeys(columns) if name in names]
    missing = next((name for name in columns if name and name not in names), None)
    index = 0
    for batch in parquet.iter_batches(columns=wanted, batch_size=1024):
        for row in arrow_rows(batch):
            yield f"{path}#{index}", (missing_field(missing, dict.fromkeys(names)) if missing else row)
            index += 1


def _as_text(value):
    """Parquet text stored as binary without its UTF-8 mark, as older writers leave it,
    read as the text it holds (bytes that are not UTF-8 stay bytes, for the caller to name)."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


def _whole(value):
    """An id as pandas writes a whole-number column that has a missing value: 3.0 is 3,
    and NaN is missing. Past 2**53 a float no longer holds every whole number, so such an
    id stays a float, refused."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _row_article(row: dict | str, location: str, text_field: str, id_field: str, keep: list[str]) -> Article | BadRow:
    if isinstance(row, str):
        return BadRow(location, row, cut_short=isinstance(row, FileCutShort))
    if text_field not in row:
        return BadRow(location, missing_field(text_field, row))
    text = _as_text(row.get(text_field))
    if isinstance(text, bytes):
        return BadRow(location, f"text field {text_field!r} holds bytes that are not UTF-8 text")
    if text is not None and not isinstance(text, str):
        return BadRow(location, f"text field {text_field!r} is {type(text).__name__}, not text: {text!r:.40}")
    if not text or not text.strip():
        return BadRow(location, f"empty text field {text_field!r}")
    ident = _whole(_as_text(row.get(id_field))) if id_field else None
    if id_field and ident in (None, ""):
        return BadRow(location, f"missing id field {id_field!r}")
    if isinstance(ident, bool) or not isinstance(ident, str | int | None):  # numbers as ids are common; not these
        return BadRow(location, f"id field {id_field!r} is {type(ident).__name__}, not text or a whole number")
    try:
        fields = {name: plain_value(row.get(name)) for name in keep}
    except RecursionError:
        return BadRow(location, "a field to keep is nested too deeply to write")
    return Article(str(ident) if ident is not None else location, text, location, fields)
