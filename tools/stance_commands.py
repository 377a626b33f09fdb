"""The project's own commands, run as the README runs them: the Makefile's training
command, and `stance` in a subprocess against one BentoML home. Shared by the slow test
of the default model and the benchmarks that build models."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def makefile_command(variable: str) -> list[str]:
    """The `stance` arguments a Makefile variable holds (``TRAIN_DEFAULT``)."""
    text = (REPO / "Makefile").read_text()
    match = re.search(rf"^{variable} := (.+)$", text, flags=re.MULTILINE)
    if match is None:
        raise LookupError(f"{variable} is not defined in the Makefile")
    return shlex.split(match.group(1))


def run_stance(args: list[str], home: Path, timeout: int = 1800) -> str:
    """`stance ARGS` with ``BENTOML_HOME=home``: its standard output; RuntimeError with
    the end of its standard error when it fails."""
    env = {**os.environ, "BENTOML_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"stance {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done.stdout
