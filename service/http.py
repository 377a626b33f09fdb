"""HTTP details around the API: a header naming the model, a bound on the calls in at once
and on a request body's size, one log line per refused request, article calls taking
turns within a bound, no scoring for a client that has gone."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import re
import zlib
from collections.abc import Callable
from http import HTTPStatus
from typing import TypeVar

import anyio.to_thread
import bentoml
from pydantic import ValidationError
from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MODEL_HEADER = "X-Troop-Stance-Model"
# The logger BentoML writes "Exception on /path [POST]" to, with a traceback, for every
# error it answers, client errors included.
ERROR_LOGGER = "bentoml._internal.server.http_app"
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
Result = TypeVar("Result")


class ModelHeader:
    """Names the model version on every HTTP answer: /classify's answer is a bare list,
    so a header is the one place a client can read which version labeled it."""

    def __init__(self, app: ASGIApp, tag: str) -> None:
        self.app = app
        self.tag = tag

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append(MODEL_HEADER, self.tag)
            await send(message)

        await self.app(scope, receive, send_with_header)


class KnownPaths:
    """Answers a path the service does not have (404) or a method a path does not take
    (405) in JSON with the model header, as every other error of the API (BentoML
    answered them in plain text). ``routes`` maps each path to its methods; paths under
    ``prefixes`` (static files) are passed on."""

    def __init__(self, app: ASGIApp, routes: dict[str, frozenset[str]], prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.routes = routes
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(self.prefixes) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
        elif path not in self.routes:
            paths = ", ".join(p for p, methods in self.routes.items() if "POST" in methods)
            await _error(404, f"no such path {path!r}; the API's paths are {paths}", scope, receive, send)
        elif scope["method"] not in self.routes[path]:
            allowed = ", ".join(sorted(self.routes[path]))
            error = f"{path} takes {allowed}, not {scope['method']}"
            await JSONResponse({"error": error}, status_code=405, headers={"Allow": allowed})(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class CallLimit:
    """At most ``max_calls`` calls in at once (health and metrics paths aside); one more
    gets a 429 with ``Retry-After``, so a client knows when to come back. BentoML's own
    limit (``max_concurrency``) answers without it, and outside the service's middleware,
    so without the model header either; it is left off for this one."""

    #: BentoML's probes and metrics, never refused, as BentoML's own limit never refuses
    #: them; and what answers at once without the model (its info, the API's documents).
    SKIPPED = frozenset({"/healthz", "/livez", "/readyz", "/health", "/metrics", "/model_info", "/docs.json"})
    SKIPPED |= {"/schema.json", "/"}

    def __init__(self, app: ASGIApp, max_calls: int, retry_after_s: int = 1) -> None:
        self.app = app
        self.max_calls = max_calls
        self.retry_after_s = retry_after_s
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.SKIPPED:
            await self.app(scope, receive, send)
            return
        if self.calls >= self.max_calls:
            error = f"too many calls: {self.calls} are in at once, the most this service takes; retry shortly"
            headers = {"Retry-After": str(self.retry_after_s)}
            await JSONResponse({"error": error}, status_code=429, headers=headers)(scope, receive, send)
            return
        self.calls += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.calls -= 1


class BodyLimit:
    """Refuses a request body over ``max_bytes`` with a 413 before the service reads it:
    no valid request is that large, even with every character JSON-escaped (schemas.py),
    and a 300 MB body was otherwise read, parsed and checked whole. A body is read here
    first, up to the limit, so a client that hangs up while sending it is answered as
    such (499), not as a server error.

    A body sent compressed (``Content-Encoding: gzip`` or ``deflate``, as clients do for
    large batches) is decoded here, its decoded size under the same bound, so a small
    body cannot expand past it; BentoML would read the compressed bytes as JSON and say
    only "Invalid JSON". Another encoding gets a 415 naming it."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float = 30, max_reading: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        # Bytes of bodies still arriving, all calls together: read before a call counts
        # against the call limit, so without this bound any number could be held at once.
        self.max_reading = max_reading if max_reading is not None else 8 * max_bytes
        self.reading = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        encoding = headers.get(b"content-encoding", b"").strip().lower().decode("latin-1")
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _error(413, self._over, scope, receive, send)
        elif encoding not in _ENCODINGS:
            await _error(
                415, f"Content-Encoding {encoding!r} is not read: send gzip, deflate or none", scope, receive, send
            )
        else:
            await self._read_first(scope, receive, send, encoding)

    async def _read_first(self, scope: Scope, receive: Receive, send: Send, encoding: str) -> None:
        read: list[Message] = []
        try:
            async with asyncio.timeout(self.timeout_s):  # a body trickled in holds a connection and memory
                size = await self._read(read, receive)
        except TimeoutError:
            _log_refusal(scope, f"the request body did not arrive within {self.timeout_s:g} s")
            await _error(408, f"the request body did not arrive within {self.timeout_s:g} s", scope, receive, send)
            return
        except _TooMuchArrivingError:
            error = f"busy: over {self.max_reading:,} bytes of request bodies are arriving at once; retry shortly"
            _log_refusal(scope, error)
            await JSONResponse({"error": error}, status_code=503, headers={"Retry-After": "1"})(scope, receive, send)
            return
        if size > self.max_bytes:
            await _error(413, self._over, scope, receive, send)
            return
        if read[-1]["type"] == "http.disconnect":  # a hang-up mid-body: nobody to answer, nothing to score
            _log_refusal(scope, "the client disconnected while sending its request")
            # Answered all the same, so the access log and the metrics count a client's
            # hang-up as such (nginx's 499), not as the 500 of BentoML's failed read.
            await _error(499, "the client disconnected while sending its request", scope, receive, send)
            return
        if encoding not in _IDENTITY:
            try:
                packed = b"".join(m.get("body", b"") for m in read)
                # In a thread: 32 MiB take a tenth of a second, which the event loop must not wait out.
                body = await anyio.to_thread.run_sync(decompress, packed, self.max_bytes, encoding)
            except OverflowError:
                await _error(413, f"{self._over} once decompressed", scope, receive, send)
                return
            except ValueError as error:
                await _error(400, f"Content-Encoding {encoding}: {error}", scope, receive, send)
                return
            read = [{"type": "http.request", "body": body, "more_body": False}]
            scope = _with_length(scope, len(body), drop=(b"content-encoding",))
        read, scope = _without_bom(read, scope)
        # Popped as the app reads them, so a large body is not held twice while it runs.
        replay = collections.deque(read)
        del read

        async def replayed() -> Message:
            return replay.popleft() if replay else await receive()

        await self.app(scope, replayed, send)

    async def _read(self, read: list[Message], receive: Receive) -> int:
        """Read the body's messages into ``read``, stopping past ``max_bytes``; its size.
        _TooMuchArrivingError when the bodies arriving at once would pass ``max_reading``."""
        size = 0
        try:
            while not read or (read[-1]["type"] == "http.request" and read[-1].get("more_body")):
                read.append(await receive())
                chunk = len(read[-1].get("body", b""))
                size += chunk
                self.reading += chunk
                if self.reading > self.max_reading:
                    raise _TooMuchArrivingError
                if size > self.max_bytes:
                    break
        finally:
            self.reading -= size
        return size

    @property
    def _over(self) -> str:
        return f"request body over {self.max_bytes:,} bytes, larger than any valid request; send less per call"


class _TooMuchArrivingError(Exception):
    """More bytes of request bodies are arriving at once than a worker holds."""


def _without_bom(read: list[Message], scope: Scope) -> tuple[list[Message], Scope]:
    """The body without a leading UTF-8 byte-order mark, which Windows tools write into
    JSON files (Notepad, PowerShell) and which RFC 8259 lets a parser ignore; BentoML
    refused such a body as invalid JSON."""
    if len(read[0].get("body", b"")) < len(_BOM) and len(read) > 1:  # a mark split over chunks
        joined = b"".join(m.get("body", b"") for m in read if m["type"] == "http.request")
        read = [{"type": "http.request", "body": joined, "more_body": False}]
    body = read[0].get("body", b"")
    if not body.startswith(_BOM):
        return read, scope
    read = [{**read[0], "body": body[len(_BOM) :]}, *read[1:]]
    declared = dict(scope["headers"]).get(b"content-length", b"")
    return read, _with_length(scope, int(declared) - len(_BOM)) if declared.isdigit() else scope


def _with_length(scope: Scope, length: int, drop: tuple[bytes, ...] = ()) -> Scope:
    kept = [(k, v) for k, v in scope["headers"] if k not in (b"content-length", *drop)]
    return {**scope, "headers": [*kept, (b"content-length", str(length).encode())]}


_BOM = b"\xef\xbb\xbf"
_IDENTITY = ("", "identity")
_ENCODINGS = (*_IDENTITY, "gzip", "x-gzip", "deflate")


MAX_MEMBERS = 16  # gzip members one body may chain; each costs a copy of what follows it


def decompress(body: bytes, max_bytes: int, encoding: str = "gzip") -> bytes:
    """A gzip or zlib body (HTTP's deflate; raw deflate too, which some clients send
    under that name), decoded: OverflowError past ``max_bytes`` (never decoding more
    than that), ValueError naming what is wrong with the data."""
    out = bytearray()
    for _ in range(MAX_MEMBERS):
        decoder = zlib.decompressobj(wbits=47)  # 32 + 15: a gzip or a zlib header, told apart
        try:
            out += decoder.decompress(body, max_bytes + 1 - len(out))
        except zlib.error as error:
            if encoding != "deflate" or out:
                raise ValueError(f"the body is not gzip or deflate (zlib) data: {error}") from None
            decoder = zlib.decompressobj(wbits=-15)  # raw deflate, no header
            try:
                out += decoder.decompress(body, max_bytes + 1)
            except zlib.error:
                raise ValueError(f"the body is not gzip or deflate (zlib) data: {error}") from None
        if len(out) > max_bytes:
            raise OverflowError
        if not decoder.eof:
            raise ValueError("the compressed body ends early (cut off?)")
        body = decoder.unused_data
        if not body:
            return bytes(out)
    raise ValueError(f"the body chains more than {MAX_MEMBERS} compressed members; send one")


async def _error(status: int, error: str, scope: Scope, receive: Receive, send: Send) -> None:
    """An error answer; a 400 lists its issue in ``detail``, as every 400 of the API does."""
    body: dict = {"error": error}
    if status == 400:
        body["detail"] = [{"loc": ["body"], "msg": error, "type": "body_encoding"}]
    await JSONResponse(body, status_code=status)(scope, receive, send)


def _log_refusal(scope: Scope, reason: str) -> None:
    """One line, as :class:`ClientErrorsInOneLine` writes BentoML's refusals."""
    logging.getLogger(ERROR_LOGGER).info("Refused %s [%s]: %s", scope.get("path"), scope.get("method"), reason)


class IssuesInError:
    """A 400 for a body the request schema refused says what is wrong in its ``error``
    line, as the log does (BentoML writes "2 validation error for
    ArticleRequestIODescriptor", a class name); ``detail`` keeps each issue."""

    TITLE = re.compile(r"\d+ validation errors? for \w+")
    MAX_SHOWN = 5

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message = {}
        body = bytearray()

        async def rewritten(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] != 400:
                start = {}
                await send(message)
            elif message["type"] == "http.response.start":
                start = message
            elif not start:
                await send(message)
            else:
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    fixed = self._fixed(bytes(body))
                    MutableHeaders(scope=start)["content-length"] = str(len(fixed))
                    await send(start)
                    await send({"type": "http.response.body", "body": fixed})

        await self.app(scope, receive, rewritten)

    def _fixed(self, body: bytes) -> bytes:
        try:
            answer = json.loads(body)
        except ValueError:
            return body
        if not (isinstance(answer, dict) and self.TITLE.fullmatch(str(answer.get("error", "")))):
            return body
        issues = answer.get("detail")
        if not isinstance(issues, list) or not issues:
            return body
        line = issues_line(issues[: self.MAX_SHOWN])
        more = len(issues) - self.MAX_SHOWN
        answer["error"] = line + (f"; and {more} more (see detail)" if more > 0 else "")
        return json.dumps(answer).encode()


class ClientErrorsInOneLine(logging.Filter):
    """Turns BentoML's traceback for a refused request (a 4xx) into one INFO line with
    the reason, so a client sending bad input cannot flood the log; server errors keep
    their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None or not _is_client_error(error):
            return True
        record.msg = "Refused %s [%s]: %s"
        record.args = (*record.args[:2], _reason(error)[:300]) if isinstance(record.args, tuple) else (_reason(error),)
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def _reason(error: BaseException) -> str:
    """Field and reason, without the value sent: a request's text does not belong in logs."""
    if isinstance(error, ClientDisconnect):
        return "the client disconnected while sending its request"
    if isinstance(error, ValidationError):
        return issues_line(error.errors(include_url=False, include_input=False))
    return " ".join(str(error).split())


def issues_line(issues: list[dict]) -> str:
    """Each issue as ``place: message``, in one line."""
    return "; ".join(
        f"{_place(tuple(i.get('loc', ())))}: {str(i.get('msg', '')).removeprefix('Value error, ')}" for i in issues
    )


def _place(loc: tuple) -> str:
    """A field's path; a name the client made up (a form body arrives as one field named
    by the whole text) is shown only when it looks like a field name."""
    parts = [
        str(part) if isinstance(part, int) or _FIELD_NAME.fullmatch(str(part)) else "<unknown field>" for part in loc
    ]
    return ".".join(parts) or "body"


def _is_client_error(error: BaseException) -> bool:
    if isinstance(error, ValidationError | ClientDisconnect):
        return True
    return isinstance(error, bentoml.exceptions.BentoMLException) and error.error_code.value < 500


def quiet_client_errors() -> None:
    """Install the one-line filter (once per process)."""
    logger = logging.getLogger(ERROR_LOGGER)
    if not any(isinstance(f, ClientErrorsInOneLine) for f in logger.filters):
        logger.addFilter(ClientErrorsInOneLine())


class ClientLeft(bentoml.exceptions.BentoMLException):
    """The client hung up while its request waited for the model: nobody would read the
    answer. Checked before scoring, so a client that timed out and retries does not have
    its abandoned call scored too, putting a busy service further behind."""

    error_code = HTTPStatus.REQUEST_TIMEOUT


def refused(model: str, field: str, reason: str) -> ValidationError:
    """A 400 for a problem found after the request model checked the body, shaped like
    BentoML's answer to one that model found (``error``, and ``detail`` naming the field)."""
    error = {"type": "value_error", "loc": (field,), "input": None, "ctx": {"error": ValueError(reason)}}
    return ValidationError.from_exception_data(model, [error])


GONE_CHECK_S = 0.5  # how often a call waiting for its turn checks that its client is there


class ArticleTurns:
    """Article calls score one at a time, and the text waiting for a turn is bounded: a
    call that would take it past ``max_chars`` is told the service is busy at once (not
    after the request timeout), and a call whose client has gone is dropped at its turn.

    A turn lasts as long as its work: a call cancelled while its article is scored (the
    request timeout's 504) cannot stop the thread, so the turn and its share of the bound
    pass on only when the thread ends. Otherwise the next article would run beside an
    abandoned one, and under overload every timeout would add one more."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.queued_chars = 0  # article text waiting for or holding the turn
        self._turn = asyncio.Lock()

    def full_for(self, size: int) -> bool:
        """Whether ``size`` more characters would pass the bound (a lone call never does)."""
        return bool(self.queued_chars) and self.queued_chars + size > self.max_chars

    async def run(self, size: int, ctx: bentoml.Context | None, work: Callable[[], Result]) -> Result:
        """``work()`` in a worker thread once the turn is ours, holding ``size`` characters
        of the bound until it ends; ClientLeft if the client hung up while waiting."""
        self.queued_chars += size
        try:
            await self._wait_for_turn(ctx)
        except BaseException:
            self.queued_chars -= size
            raise
        try:
            running = asyncio.ensure_future(anyio.to_thread.run_sync(work))
        except BaseException:
            self._end_turn(size)
            raise
        running.add_done_callback(lambda task: self._end_turn(size, task))
        return await asyncio.shield(running)

    async def _wait_for_turn(self, ctx: bentoml.Context | None) -> None:
        """Take the turn; ClientLeft as soon as the client is seen gone while waiting, so
        its text stops counting against the bound then, not when its turn would come."""
        waiting = asyncio.ensure_future(self._turn.acquire())
        try:
            while True:
                done, _ = await asyncio.wait({waiting}, timeout=GONE_CHECK_S)
                gone = ctx is not None and await ctx.request.is_disconnected()
                if gone:
                    raise ClientLeft("the client disconnected before its turn; not scored")
                if done:
                    return
        except BaseException:  # the client left, or the call was cancelled (the timeout's 504)
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
            if not waiting.cancelled():  # the turn came just then: pass it on, or no call gets it again
                self._turn.release()
            raise

    def _end_turn(self, size: int, work: asyncio.Future | None = None) -> None:
        self.queued_chars -= size
        self._turn.release()
        if work is not None and not work.cancelled():
            work.exception()  # seen here: a caller that left cannot, and asyncio would log it as lost


def busy(queued_chars: int, retry_after_s: int) -> JSONResponse:
    """A 503 with the reason and when to try again: more article text is waiting than
    the service can score within its timeout. Returned, not raised: BentoML hides the
    message of a raised 5xx."""
    error = f"busy: {queued_chars:,} characters of articles are waiting ahead of this call; retry later"
    return JSONResponse({"error": error}, status_code=503, headers={"Retry-After": str(retry_after_s)})
