"""The OpenAPI page as the service answers. BentoML documents a 400's ``detail`` as a
string, where it is a list of issues naming each field, and leaves out the answers
given before or around an endpoint: the body bound, encodings, the concurrency limit,
the article queue and the timeout. A client generated from the page would fail to parse
the one and not know the others. Its page also declares OpenAPI 3.0 while its schemas
are JSON Schema 2020-12 (``{"type": "null"}``, ``examples``), which is OpenAPI 3.1, and
it copies each endpoint's schemas inline with their null types dropped (an answer
without ``id`` has ``"id": null``, which the inline copy refused): the page is declared
3.1, and the endpoints refer to the components, which keep them."""

from __future__ import annotations

import json

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.schemas import (
    API_VERSION,
    BODY_TIMEOUT_S,
    MAX_BODY_BYTES,
    MAX_CONCURRENT_CALLS,
    RETRY_AFTER_S,
    RETRY_BUSY_S,
    TIMEOUT_S,
)

SPEC_PATH = "/docs.json"

_INFO = {
    "title": "troop-stance",
    "version": API_VERSION,
    "description": (
        "For every country a sentence of a news article names, its stance on sending its own troops: "
        "will_send, wont_send, logistics_only or none, with calibrated confidences, per sentence and for the "
        "whole article, with the sentences behind it. Offsets count Unicode code points (as Python strings do; "
        "a client that counts UTF-16 units, as JavaScript does, converts them). Every answer names the model "
        "version in its X-Troop-Stance-Model header."
    ),
}

_ISSUE = {
    "type": "object",
    "title": "Issue",
    "required": ["loc", "msg", "type"],
    "properties": {
        "loc": {
            "type": "array",
            "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "description": 'Where the problem is: field names and list positions, such as ["pairs", 0, "country"]',
        },
        "msg": {"type": "string", "description": "What is wrong, naming the value where that helps"},
        "type": {"type": "string", "description": "pydantic's kind of error, such as value_error or missing"},
    },
}
_ERROR = {
    "type": "object",
    "title": "Error",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "What went wrong, and what to do"}},
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}}

#: Answers any POST may get before or around its endpoint: status, description, headers.
_AROUND = {
    "408": (f"The body did not arrive whole within {BODY_TIMEOUT_S} s", {}),
    "413": (f"The body is over {MAX_BODY_BYTES:,} bytes (decoded), larger than any valid request", {}),
    "415": ("A Content-Encoding other than gzip, deflate or none", {}),
    "429": (f"More than {MAX_CONCURRENT_CALLS} calls are in at once (Retry-After, {RETRY_BUSY_S} s)", _RETRY_AFTER),
    "503": (
        f"Busy: more article text is waiting than fits the timeout (Retry-After, {RETRY_AFTER_S} s), or more "
        "request bodies are arriving at once than the service holds (Retry-After, 1 s); or it is still starting",
        _RETRY_AFTER,
    ),
    "504": (f"Not answered within {TIMEOUT_S} s", {}),
}


def documented(spec: dict) -> dict:
    """``spec`` with the 400's issues described, the other error answers added, and the
    endpoints' schemas as the components give them."""
    spec["openapi"] = "3.1.0"
    spec["info"] = _INFO
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    _refer_to_components(spec, schemas)
    schemas["Issue"], schemas["Error"] = _ISSUE, _ERROR
    if "InvalidArgument" in schemas:
        schemas["InvalidArgument"]["properties"]["detail"] = {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Issue"},
            "description": "Each problem found in the request, with its place",
        }
    for operations in spec.get("paths", {}).values():
        if "post" not in operations:
            continue
        responses = operations["post"].setdefault("responses", {})
        for status, (description, headers) in _AROUND.items():
            content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            responses.setdefault(status, {"description": description, "content": content} | _headers(headers))
    return spec


_SUFFIX = "IODescriptor"  # BentoML's name for a request or answer model's copy


def _refer_to_components(spec: dict, schemas: dict) -> None:
    """Endpoints refer to named components, named as the models are (``ArticleRequest``,
    not ``ArticleRequestIODescriptor``), instead of inline copies."""
    for name in [n for n in schemas if n.endswith(_SUFFIX)]:
        model = name.removesuffix(_SUFFIX)
        schemas.setdefault(model, {**schemas.pop(name), "title": model})
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            bodies = [operation.get("requestBody", {}), *operation.get("responses", {}).values()]
            for media in (b.get("content", {}).get("application/json", {}) for b in bodies):
                title = str(media.get("schema", {}).get("title", ""))
                if title.endswith(_SUFFIX) and title.removesuffix(_SUFFIX) in schemas:
                    media["schema"] = {"$ref": f"#/components/schemas/{title.removesuffix(_SUFFIX)}"}


def _headers(headers: dict) -> dict:
    return {"headers": headers} if headers else {}


class OpenAPIErrors:
    """Rewrites the OpenAPI page (``GET /docs.json``) through :func:`documented`; a HEAD
    gets the rewritten page's length."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != SPEC_PATH or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        start: Message = {}
        body = bytearray()

        async def collected(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    await self._send_documented(start, bytes(body), send, head)

        await self.app({**scope, "method": "GET"} if head else scope, receive, collected)

    @staticmethod
    async def _send_documented(start: Message, body: bytes, send: Send, head: bool) -> None:
        if start.get("status") == 200:
            body = json.dumps(documented(json.loads(body))).encode()
            MutableHeaders(scope=start)["content-length"] = str(len(body))
        await send(start)
        await send({"type": "http.response.body", "body": b"" if head else body})
