"""Greedy batching of concurrent calls: a batch starts the moment the model is free, and
holds every call that arrived while the batch before it ran.

BentoML's adaptive batching corks a lone call for about the recent average queue wait,
which it learns from past batches. After one burst of concurrent calls that average
stayed high, and each lone one-pair call then waited 35 to 45 ms instead of 15 ms for
the next hundred calls or more (benchmarks/service_latency.py). Here a lone call never
waits for company; under load, calls still share batches, because they queue while the
model works.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import anyio.to_thread

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
        self._waiting: deque[tuple[list[Item], asyncio.Future]] = deque()
        self._worker: asyncio.Task | None = None

    async def submit(self, items: list[Item]) -> list[Result]:
        """The results for ``items``, once the batch holding them has run; the error
        ``work`` raised for that batch, if any."""
        if not items:
            return []
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((items, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._waiting:
            calls = self._next_batch()
            if not calls:
                continue
            self.on_batch(len(calls))
            items = [item for call_items, _ in calls for item in call_items]
            try:
                results = list(await anyio.to_thread.run_sync(self.work, items))
                if len(results) != len(items):
                    raise RuntimeError(f"batch work returned {len(results)} results for {len(items)} items")
            except Exception as error:  # every caller of the batch gets the error, the worker goes on
                for _, future in calls:
                    if not future.done():
                        future.set_exception(error)
                continue
            start = 0
            for call_items, future in calls:
                if not future.done():  # a caller cancelled while its batch ran
                    future.set_result(results[start : start + len(call_items)])
                start += len(call_items)

    def _next_batch(self) -> list[tuple[list[Item], asyncio.Future]]:
        """Whole calls from the front of the queue, up to ``max_items``; calls whose
        caller has gone (cancelled) are dropped unscored."""
        calls, size = [], 0
        while self._waiting:
            items, future = self._waiting[0]
            if future.done():
                self._waiting.popleft()
                continue
            if calls and size + len(items) > self.max_items:
                break
            calls.append(self._waiting.popleft())
            size += len(items)
        return calls
