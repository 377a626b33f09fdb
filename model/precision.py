"""Names of the precisions the matrix work may run in, kept free of torch so that the
command line can list and check them without loading it."""

from __future__ import annotations

# name -> the torch dtype's attribute name
PRECISIONS = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


def check_precision(precision: str) -> str:
    """``precision`` itself, or a ValueError naming it."""
    if precision != "auto" and precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of auto, {', '.join(PRECISIONS)}")
    return precision
