"""Where and how the model runs (devices, precisions, batch size), named once and kept
free of torch so that the command line can list and check them without loading it."""

from __future__ import annotations

DEVICES = ("auto", "cpu", "cuda")  # auto: CUDA when present
# name -> the torch dtype's attribute name
PRECISIONS = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
BATCH_SIZE = 32  # pairs per model batch when scoring


def check_device(device: str) -> str:
    """``device`` itself, or a ValueError naming it."""
    if device not in DEVICES:
        raise ValueError(f"device must be {', '.join(DEVICES[:-1])} or {DEVICES[-1]}, got {device!r}")
    return device


def check_precision(precision: str) -> str:
    """``precision`` itself, or a ValueError naming it."""
    if precision != "auto" and precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of auto, {', '.join(PRECISIONS)}")
    return precision
