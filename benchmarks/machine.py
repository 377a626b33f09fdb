"""One line naming the machine a benchmark ran on: speeds differ between CPUs of one
architecture (bfloat16 through AMX or AVX512-BF16), so the CPU's model is part of it."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from model.predictor import cpu_threads


def describe() -> str:
    """``x86_64 (AMD EPYC), 2 cores, torch 2.13.0+cpu``."""
    return f"{platform.machine()} ({cpu_model()}), {cpu_threads()} cores, torch {torch.__version__}"


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return platform.processor() or "CPU model unknown"
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or "CPU model unknown"
