"""Greedy batching of concurrent calls: a batch starts the moment the model is free, and
holds every call that arrived while the batch before it ran.

BentoML's adaptive batching corks a lone call for about the recent average queue wait,
which it learns from past batches. After one burst of concurrent calls that average
stayed high, and each lone one-pair call then waited 25 to 45 ms instead of 13 to 15 for
the next hundred calls or more (benchmarks/service_latency.py). Here a lone call never
waits for company; under load, calls still share batches, because they queue while the
model works.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import anyio.to_thread

from service.http import ClientLeft

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


class GreedyBatcher(Generic[Item, Result]):
    """Runs ``work`` on the items of waiting calls together, one batch at a time, in a
    worker thread (so the event loop stays free), and hands each call its own results.

    ``work`` takes a list of items and returns one result per item, in order. A batch
    holds whole calls, at most ``max_items`` items unless one call alone is larger.
    ``on_batch`` is told each batch's number of calls (for a metric).
    """

    def __init__(
        self,
        work: Callable[[list[Item]], Sequence[Result]],
        max_items: int,
        on_batch: Callable[[int], None] = lambda calls: None,
    ) -> None:
        self.work = work
        self.max_items = max_items
        self.on_batch = on_batch
        self._waiting: deque[_Call] = deque()
        self._worker: asyncio.Task | None = None

    async def submit(self, items: list[Item], gone: Callable[[], Awaitable[bool]] | None = None) -> list[Result]:
        """The results for ``items``, once the batch holding them has run; the error
        ``work`` raised for that batch, if any. ``gone`` tells whether the caller has
        hung up: asked before each batch forms, a call whose caller has gone is dropped
        unscored (ClientLeft), so callers that time out and retry cannot fill the model
        with work nobody reads."""
        if not items:
            return []
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append(_Call(items, future, gone))
        if self._worker is None or self._worker.done() or self._worker.get_loop() is not loop:
            # A context of its own: batches serve many requests, not the one that started it.
            self._worker = asyncio.create_task(self._run(), context=contextvars.Context())
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                await self._drop_gone()
                if calls := self._next_batch():
                    await self._run_batch(calls)
        finally:  # the worker cancelled or broken: nobody is left waiting for an answer
            _fail(list(self._waiting), RuntimeError("the batching worker stopped; try again"))
            self._waiting.clear()

    async def _run_batch(self, calls: list[_Call]) -> None:
        self.on_batch(len(calls))
        items = [item for call in calls for item in call.items]
        try:
            results = list(await anyio.to_thread.run_sync(self.work, items))
            if len(results) != len(items):
                raise RuntimeError(f"batch work returned {len(results)} results for {len(items)} items")
        except BaseException as error:  # every caller of the batch gets the error
            _fail(calls, error if isinstance(error, Exception) else RuntimeError("the batch was interrupted"))
            if not isinstance(error, Exception):
                raise
            return
        start = 0
        for call in calls:
            if not call.future.done():  # a caller cancelled while its batch ran
                call.future.set_result(results[start : start + len(call.items)])
            start += len(call.items)

    async def _drop_gone(self) -> None:
        for call in list(self._waiting):
            if call.gone is None or call.future.done():
                continue
            try:
                gone = await call.gone()
            except Exception:  # cannot tell: score it, and leave a trace for whoever debugs
                log.debug("could not tell whether a caller left", exc_info=True)
                gone = False
            if gone and not call.future.done():  # the caller may have been cancelled meanwhile
                call.future.set_exception(ClientLeft("the client disconnected before its batch; not scored"))

    def _next_batch(self) -> list[_Call]:
        """Whole calls from the front of the queue, up to ``max_items``; calls already
        answered (cancelled, or their caller gone) are dropped unscored."""
        calls, size = [], 0
        while self._waiting:
            call = self._waiting[0]
            if call.future.done():
                self._waiting.popleft()
                continue
            if calls and size + len(call.items) > self.max_items:
                break
            calls.append(self._waiting.popleft())
            size += len(call.items)
        return calls


def _fail(calls: list[_Call], error: Exception) -> None:
    for call in calls:
        if not call.future.done():
            call.future.set_exception(error)


@dataclass(frozen=True)
class _Call:
    """One caller's items, the future its results go to, and how to tell it has gone."""

    items: list
    future: asyncio.Future
    gone: Callable[[], Awaitable[bool]] | None
