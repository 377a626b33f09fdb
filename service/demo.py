"""Start the service, score articles through its HTTP API, print each country's stance.

Used by `stance demo`, the main job of the README's first set-up command.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import bentoml

from model.labels import NONE

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_service(
    port: int | None = None, timeout: float = 180, home: Path | None = None, log: Path | None = None
) -> Iterator[str]:
    """A `bentoml serve` process on a loopback port, stopped on exit; yields its URL.

    ``home`` is the BentoML home to serve from (default: the caller's environment);
    ``log`` is where its output goes (default: a temporary file, removed on exit). A file,
    not a pipe: nobody reads a pipe while the service runs, and a full one would stall it.
    """
    port = port or free_port()
    env = {**os.environ, "BENTOML_DO_NOT_TRACK": "true"}
    if home is not None:
        env["BENTOML_HOME"] = str(home)
    command = [sys.executable, "-m", "bentoml", "serve", "service.service:TroopStance"]
    with contextlib.ExitStack() as stack:
        if log is None:
            log = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "service.log"
        output = stack.enter_context(log.open("w", encoding="utf-8"))
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, process, timeout, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_ready(url: str, process: subprocess.Popen, timeout: float, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited: {log.read_text(encoding='utf-8', errors='replace')[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"the service at {url} was not ready after {timeout:.0f} s")


def score_files(url: str, paths: list[Path]) -> list[dict]:
    """Score each file through the HTTP API with BentoML's own client."""
    with bentoml.SyncHTTPClient(url, timeout=300) as client:
        return [client.score_article(text=path.read_text(encoding="utf-8")) | {"id": path.name} for path in paths]


def format_article(result: dict) -> str:
    """Each country's article stance, with its evidence sentences."""
    lines = [f"== {result['id']} ({len(result['sentences'])} sentences, model {result['model']})"]
    for country in result["countries"]:
        counts = ", ".join(f"{k} {v}" for k, v in country["counts"].items() if v)
        lines.append(f"  {country['country']:<16} {country['label']:<15} {country['confidence']:.2f}  ({counts})")
        if country["label"] != NONE:
            for evidence in country["evidence"]:
                lines.append(
                    f"      [{evidence['start']}:{evidence['end']}] {evidence['label']}: {evidence['text'][:110]}"
                )
    return "\n".join(lines)
