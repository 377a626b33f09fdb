"""Values of input rows in forms every output can hold: JSON values for kept fields, text
for table columns, and Python rows from Arrow batches whatever their values."""

from __future__ import annotations

import json
import math

_UNCONVERTIBLE = (OverflowError, ValueError)  # a date past year 9999, say


def arrow_rows(batch) -> list[dict]:
    """A record batch as Python rows. A value Python cannot hold (a timestamp stored in the
    wrong unit lands far past year 9999) becomes text naming the number stored, rather
    than failing every row of the batch."""
    try:
        return batch.to_pylist()
    except _UNCONVERTIBLE:
        columns = {name: _column_values(column) for name, column in zip(batch.schema.names, batch.columns, strict=True)}
        return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _column_values(column) -> list:
    values = []
    for index, scalar in enumerate(column):
        try:
            values.append(scalar.as_py())
        except _UNCONVERTIBLE:
            values.append(_out_of_range(column, index))
    return values


def _out_of_range(column, index: int) -> str:
    """Text for a value Python cannot hold: the number stored (a timestamp in its own
    unit), never a guess at a date; a nested one, its type."""
    import pyarrow as pa

    try:
        return f"<value out of range: {column.slice(index, 1).cast(pa.int64())[0].as_py()} ({column.type})>"
    except (pa.ArrowException, OverflowError, ValueError):
        return f"<{column.type} value out of range>"


def plain_value(value):
    """A kept field as a JSON value: dates as ISO text, NaN as null, Parquet's other
    types (decimals, bytes, maps) as text or lists, so every output format can hold it."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # JSON has no NaN or infinity
    if isinstance(value, dict):
        return {str(key): plain_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "isoformat"):  # datetime, date, time
        return value.isoformat()
    return str(value)  # Decimal and the rest


def field_text(value) -> str | None:
    """A kept field's value in a column of text (CSV, Parquet): text as it is, anything
    else as JSON (``2025``, ``true``, ``["a", "b"]``); null stays null."""
    return value if value is None or isinstance(value, str) else json.dumps(value, ensure_ascii=False)
