"""Rows of JSON Lines and CSV files, streamed, each with the place it came from.

Batch scoring and the labeled-data loader both read user files through here, so a bad
row is named the same way everywhere: ``file:line`` (the line a CSV row starts on) and
a reason. A row comes out as a dict of its fields, or as the reason it could not be read.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

# Articles can be long: the csv module's default field limit (128 KiB) would refuse them.
csv.field_size_limit(1 << 30)

_SURROGATE = re.compile("[\ud800-\udfff]")

Record = tuple[str, "dict | str"]


def jsonl_records(path: Path) -> Iterator[Record]:
    """``(file:line, row or problem)`` for every non-blank line of a JSON Lines file."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            location = f"{path}:{number}"
            if not raw.strip():
                continue
            try:  # utf-8-sig: a byte-order mark some editors write is not part of the row
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                yield location, f"not UTF-8 text (byte {error.start} of the line)"
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                yield location, f"invalid JSON ({error.msg} at column {error.colno})"
                continue
            if not isinstance(row, dict):
                yield location, f"expected a JSON object, got {type(row).__name__}"
                continue
            yield location, _checked_text(row, "an unpaired surrogate escape such as \\ud800")


def csv_records(path: Path) -> Iterator[Record]:
    """``(file:line, row or problem)`` for every data row of a CSV file with a header.

    Values stay text as written ("007" stays "007"); quoted fields may span lines, and
    the place is the line the row starts on. An undecodable or malformed row is reported
    and the rest of the file is still read.
    """
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        header: list[str] | None = None
        start = 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield f"{path}:{start}", f"malformed CSV ({error}; read through line {reader.line_num})"
                start = reader.line_num + 1
                continue
            location, start = f"{path}:{start}", reader.line_num + 1
            if not values:  # a blank line
                continue
            if header is None:
                header = values
                if any(_SURROGATE.search(name) for name in header):
                    yield location, "header is not UTF-8 text; nothing in this file was read"
                    return
                continue
            if len(values) > len(header):
                yield location, f"{len(values)} fields, but the header names {len(header)}"
                continue
            yield location, _checked_text(dict(zip(header, values, strict=False)), "bytes that are not UTF-8")


def _checked_text(row: dict, what: str) -> dict | str:
    """The row, or a problem naming the first field whose text cannot be written as UTF-8."""
    for name, value in row.items():
        if isinstance(value, str) and (found := _SURROGATE.search(value)):
            return f"field {name!r} holds {what} (character {found.start()}); not valid text"
    return row
