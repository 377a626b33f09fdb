"""How the service admits work, on plain functions (no model, no server): the greedy
batcher behind /classify, and the turns article calls take."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from service.batching import GreedyBatcher
from service.http import ArticleTurns


class Recorder:
    """Work that doubles numbers, records each batch, and can be held until released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()

    def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        self.started.set()
        self.release.wait(5)
        return [2 * item for item in items]


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 10))


async def _queued_behind_a_batch(batcher: GreedyBatcher, work: Recorder, calls: list[list[int]]):
    """Start a batch of ``[first]`` and hold it, then queue ``calls`` behind it; the
    first call's task and the queued calls' tasks."""
    work.release.clear()
    first = asyncio.create_task(batcher.submit([0]))
    while not work.started.is_set():
        await asyncio.sleep(0.005)
    queued = [asyncio.create_task(batcher.submit(items)) for items in calls]
    await asyncio.sleep(0.02)
    return first, queued


def test_a_lone_call_runs_at_once_with_its_own_results():
    work = Recorder()
    batcher = GreedyBatcher(work, max_items=8)
    assert run(batcher.submit([1, 2, 3])) == [2, 4, 6]
    assert run(batcher.submit([])) == []
    assert work.batches == [[1, 2, 3]]


def test_calls_arriving_while_a_batch_runs_share_the_next_batch_in_order():
    work = Recorder()
    sizes: list[int] = []
    batcher = GreedyBatcher(work, max_items=8, on_batch=sizes.append)

    async def scenario():
        first, later = await _queued_behind_a_batch(batcher, work, [[10 * n, 10 * n + 1] for n in range(1, 4)])
        work.release.set()
        return await first, await asyncio.gather(*later)

    first, later = run(scenario())
    assert first == [0]
    assert later == [[20, 22], [40, 42], [60, 62]]
    assert work.batches == [[0], [10, 11, 20, 21, 30, 31]]
    assert sizes == [1, 3]


def test_a_batch_takes_whole_calls_up_to_its_size_and_a_large_call_alone():
    work = Recorder()
    batcher = GreedyBatcher(work, max_items=4)

    async def scenario():
        first, queued = await _queued_behind_a_batch(batcher, work, [[1, 2, 3], [4], [5, 6], [7] * 6])
        work.release.set()
        await first
        return await asyncio.gather(*queued)

    results = run(scenario())
    assert results == [[2, 4, 6], [8], [10, 12], [14] * 6]
    assert work.batches == [[0], [1, 2, 3, 4], [5, 6], [7] * 6]


def test_an_error_reaches_every_caller_of_its_batch_and_the_next_batch_still_runs():
    def work(items: list[int]) -> list[int]:
        if 13 in items:
            raise ValueError("unlucky item 13")
        return items

    batcher = GreedyBatcher(work, max_items=8)

    async def scenario():
        return await asyncio.gather(batcher.submit([13]), batcher.submit([1]), return_exceptions=True)

    failed, shared = run(scenario())
    assert isinstance(failed, ValueError)
    assert "13" in str(failed)
    assert isinstance(shared, ValueError)  # it was in the same batch
    assert run(batcher.submit([2])) == [2]


def test_work_returning_the_wrong_number_of_results_is_an_error_not_a_shifted_answer():
    batcher = GreedyBatcher(lambda items: items[:-1], max_items=8)
    with pytest.raises(RuntimeError, match="1 results for 2 items"):
        run(batcher.submit([1, 2]))


def test_a_call_cancelled_while_it_waits_is_not_scored():
    work = Recorder()
    batcher = GreedyBatcher(work, max_items=8)

    async def scenario():
        first, (gone, kept) = await _queued_behind_a_batch(batcher, work, [[99], [5]])
        gone.cancel()
        await asyncio.sleep(0.02)
        work.release.set()
        return await first, await kept

    assert run(scenario()) == ([0], [10])
    assert work.batches == [[0], [5]]


def test_a_call_whose_caller_hung_up_is_dropped_before_its_batch_forms():
    from service.http import ClientLeft

    work = Recorder()
    batcher = GreedyBatcher(work, max_items=8)
    hung_up = {"state": False}

    async def gone() -> bool:
        return hung_up["state"]

    async def scenario():
        first, _ = await _queued_behind_a_batch(batcher, work, [])
        left = asyncio.create_task(batcher.submit([7], gone))
        stayed = asyncio.create_task(batcher.submit([8], gone=None))
        await asyncio.sleep(0.02)
        hung_up["state"] = True  # the client goes while the first batch runs
        work.release.set()
        await first
        return await asyncio.gather(left, stayed, return_exceptions=True)

    left, stayed = run(scenario())
    assert isinstance(left, ClientLeft)
    assert stayed == [16]
    assert work.batches == [[0], [8]]


def test_a_hang_up_check_that_fails_or_races_a_cancel_never_stops_the_worker():
    work = Recorder()
    batcher = GreedyBatcher(work, max_items=8)

    async def broken() -> bool:
        raise OSError("the connection is in an odd state")

    async def scenario():
        slow_check = asyncio.Event()

        async def slow() -> bool:
            await slow_check.wait()
            return True

        first, _ = await _queued_behind_a_batch(batcher, work, [])
        unsure = asyncio.create_task(batcher.submit([3], broken))
        cancelled = asyncio.create_task(batcher.submit([4], slow))
        after = asyncio.create_task(batcher.submit([5]))
        await asyncio.sleep(0.02)
        work.release.set()
        await first
        await asyncio.sleep(0.02)  # the worker now awaits the slow check
        cancelled.cancel()  # as the request timeout does, in the middle of that check
        slow_check.set()
        return await unsure, await after

    assert run(scenario()) == ([6], [10])  # a check that fails scores the call; the worker lives on


class Stop(BaseException):
    """An interruption that is not an error of the work."""


def test_an_interrupted_batch_fails_its_callers_and_the_next_call_starts_a_new_worker():
    def work(items: list[int]) -> list[int]:
        if items == [0]:
            raise Stop
        return items

    batcher = GreedyBatcher(work, max_items=8)
    with pytest.raises(RuntimeError, match="interrupted"):
        run(batcher.submit([0]))
    assert run(batcher.submit([7])) == [7]


def test_an_article_turn_outlives_a_cancelled_caller_until_its_thread_ends():
    turns = ArticleTurns(max_chars=100)
    hold, order = threading.Event(), []

    def slow() -> str:
        order.append("slow starts")
        hold.wait(5)
        order.append("slow ends")
        return "slow"

    def quick() -> str:
        order.append("quick runs")
        return "quick"

    async def scenario():
        abandoned = asyncio.create_task(turns.run(40, None, slow))
        while not order:
            await asyncio.sleep(0.005)
        abandoned.cancel()  # as the request timeout does; the thread cannot be stopped
        await asyncio.sleep(0.02)
        assert abandoned.cancelled()
        assert turns.queued_chars == 40  # still held by the running thread
        assert turns.full_for(70)
        waiting = asyncio.create_task(turns.run(30, None, quick))
        await asyncio.sleep(0.05)
        assert order == ["slow starts"]  # the next call waits for the thread, not the caller
        hold.set()
        return await waiting

    assert run(scenario()) == "quick"
    assert order == ["slow starts", "slow ends", "quick runs"]
    assert turns.queued_chars == 0


def test_a_call_whose_client_left_while_waiting_gives_back_its_share_at_once():
    from types import SimpleNamespace

    from service.http import ClientLeft

    turns = ArticleTurns(max_chars=100)
    hold = threading.Event()
    gone = {"now": False}

    async def is_disconnected():
        return gone["now"]

    ctx = SimpleNamespace(request=SimpleNamespace(is_disconnected=is_disconnected))

    async def scenario():
        running = asyncio.create_task(turns.run(40, None, lambda: hold.wait(5)))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(turns.run(50, ctx, lambda: scored.append("left")))
        await asyncio.sleep(0.05)
        assert turns.queued_chars == 90
        gone["now"] = True  # the client hangs up while the long article holds the turn
        with pytest.raises(ClientLeft):
            await asyncio.wait_for(waiting, timeout=2)
        assert turns.queued_chars == 40  # its share is free before the turn would have come
        assert not turns.full_for(60)
        hold.set()
        await running
        assert turns.queued_chars == 0
        return await turns.run(10, None, lambda: "next")  # the turn passed on; nothing is stuck

    scored: list = []
    assert run(scenario()) == "next"
    assert scored == []  # the call whose client left was never scored


def test_a_call_cancelled_while_it_waits_for_its_turn_leaves_the_turn_to_the_next():
    """The request timeout cancels a waiting call: the turn it was waiting for must pass on."""
    turns = ArticleTurns(max_chars=100)
    hold = threading.Event()

    async def scenario():
        running = asyncio.create_task(turns.run(10, None, lambda: hold.wait(5)))
        await asyncio.sleep(0.05)
        cancelled = asyncio.create_task(turns.run(10, None, lambda: "never"))
        await asyncio.sleep(0.05)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        hold.set()
        await running
        return await asyncio.wait_for(turns.run(10, None, lambda: "next"), timeout=2)

    assert run(scenario()) == "next"
    assert turns.queued_chars == 0
    assert not turns._turn.locked()


def test_an_article_turn_ends_with_an_error_of_its_work():
    turns = ArticleTurns(max_chars=100)

    def failing() -> None:
        raise ValueError("too many pairs")

    with pytest.raises(ValueError, match="too many pairs"):
        run(turns.run(10, None, failing))
    assert turns.queued_chars == 0
    assert run(turns.run(10, None, lambda: "next")) == "next"


def _asgi_call(limit_bytes: int, messages: list[dict], headers=(), seen_headers=None):
    """Run a BodyLimit around an app that reads the whole body; what the app received
    and the status sent (and into ``seen_headers``, the headers the app saw)."""
    from service.http import BodyLimit

    received, sent = [], []

    async def app(scope, receive, send):
        if seen_headers is not None:
            seen_headers.update(scope["headers"])
        while True:
            received.append(await receive())
            if received[-1]["type"] != "http.request" or not received[-1].get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    incoming = iter(messages)

    async def receive():
        return next(incoming)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/classify", "headers": list(headers)}
    run(BodyLimit(app, max_bytes=limit_bytes)(scope, receive, send))
    if sent[0]["status"] != 200 and seen_headers is not None:
        seen_headers["error"] = json.loads(sent[1]["body"])["error"]
    return received, sent[0]["status"]


def test_a_body_of_no_declared_length_is_read_up_to_the_limit_and_replayed_as_it_came():
    chunks = [
        {"type": "http.request", "body": part, "more_body": more} for part, more in [(b"abc", True), (b"def", False)]
    ]
    assert _asgi_call(10, chunks) == (chunks, 200)
    over = [{"type": "http.request", "body": b"abcdef", "more_body": True}, {"type": "http.request", "body": b"ghijk"}]
    assert _asgi_call(10, over) == ([], 413)  # refused before the app saw any of it
    gone = [{"type": "http.request", "body": b"ab", "more_body": True}, {"type": "http.disconnect"}]
    # A hang-up mid-body never reaches the app, which would fail its read as a server error
    # (a 500 in the metrics): it is answered as what it is, nginx's 499.
    assert _asgi_call(10, gone) == ([], 499)
    declared = [{"type": "http.request", "body": b"abcdefghijkl"}]
    assert _asgi_call(10, declared, headers=[(b"content-length", b"12")]) == ([], 413)
    assert _asgi_call(20, declared, headers=[(b"content-length", b"12")]) == (declared, 200)


def test_a_compressed_body_is_decoded_under_the_same_bound():
    import gzip
    import zlib

    body = b'{"pairs": [{"text": "Spain will send troops.", "country": "Spain"}]}'
    whole = [{"type": "http.request", "body": body, "more_body": False}]
    for encoding, packed in (
        ("gzip", gzip.compress(body)),
        ("deflate", zlib.compress(body)),
        ("GZIP", gzip.compress(body)),
    ):
        halves = [
            {"type": "http.request", "body": packed[:9], "more_body": True},
            {"type": "http.request", "body": packed[9:], "more_body": False},
        ]
        seen = {}
        headers = [(b"content-encoding", encoding.encode()), (b"content-length", str(len(packed)).encode())]
        assert _asgi_call(1_000, halves, headers, seen) == (whole, 200)
        assert b"content-encoding" not in seen
        assert seen[b"content-length"] == str(len(body)).encode()
    raw = zlib.compressobj(wbits=-15)  # raw deflate, which some clients send as "deflate"
    packed = raw.compress(body) + raw.flush()
    assert _asgi_call(1_000, [{"type": "http.request", "body": packed}], [(b"content-encoding", b"deflate")]) == (
        whole,
        200,
    )
    members = gzip.compress(body[:10]) + gzip.compress(body[10:])  # concatenated gzip members, as gzip allows
    assert _asgi_call(1_000, [{"type": "http.request", "body": members}], [(b"content-encoding", b"gzip")]) == (
        whole,
        200,
    )


def test_a_byte_order_mark_before_a_json_body_is_dropped_and_the_length_follows():
    import gzip

    body = b'{"pairs": [{"text": "Spain will send troops.", "country": "Spain"}]}'
    whole = [{"type": "http.request", "body": body, "more_body": False}]
    marked = b"\xef\xbb\xbf" + body
    seen = {}
    sent = [{"type": "http.request", "body": marked}]
    assert _asgi_call(1_000, sent, [(b"content-length", str(len(marked)).encode())], seen) == (
        [{"type": "http.request", "body": body}],
        200,
    )
    assert seen[b"content-length"] == str(len(body)).encode()
    split = [
        {"type": "http.request", "body": marked[:2], "more_body": True},
        {"type": "http.request", "body": marked[2:], "more_body": False},
    ]
    assert _asgi_call(1_000, split) == (whole, 200)
    packed = [{"type": "http.request", "body": gzip.compress(marked)}]
    assert _asgi_call(1_000, packed, [(b"content-encoding", b"gzip")]) == (whole, 200)
    inside = [{"type": "http.request", "body": b" " + marked}]  # only a leading mark is one
    assert _asgi_call(1_000, inside) == (inside, 200)


def test_a_compressed_body_that_is_too_large_damaged_or_unknown_is_refused_with_its_reason():
    import gzip
    import zlib

    from service.http import MAX_MEMBERS

    def refused(limit, body, encoding=b"gzip"):
        seen = {}
        received, status = _asgi_call(
            limit, [{"type": "http.request", "body": body}], [(b"content-encoding", encoding)], seen
        )
        assert received == []  # the app never saw it
        return status, seen["error"]

    def seen_detail(body):  # a 400's detail lists its issue, as every 400 of the API does
        from service.http import BodyLimit

        sent = []

        async def send(message):
            sent.append(message)

        async def receive():
            return {"type": "http.request", "body": body}

        scope = {"type": "http", "method": "POST", "path": "/classify", "headers": [(b"content-encoding", b"gzip")]}
        run(BodyLimit(None, max_bytes=1_000)(scope, receive, send))
        return json.loads(sent[1]["body"])["detail"]

    bomb = gzip.compress(b" " * 100_000)  # a few hundred bytes that expand past the bound
    assert len(bomb) < 1_000
    status, error = refused(1_000, bomb)
    assert status == 413
    assert error.endswith("once decompressed")
    status, error = refused(1_000, b'{"pairs": []}')  # said to be gzip, sent plain
    assert status == 400
    assert error.startswith("Content-Encoding gzip: the body is not gzip or deflate (zlib) data")
    assert seen_detail(b'{"pairs": []}') == [{"loc": ["body"], "msg": error, "type": "body_encoding"}]
    status, error = refused(1_000, gzip.compress(b'{"pairs": []}')[:-12])
    assert status == 400
    assert "ends early" in error
    # Each member costs a copy of the rest: thousands of tiny ones took minutes on the event loop.
    status, error = refused(1_000, zlib.compress(b"") * (MAX_MEMBERS + 1), b"deflate")
    assert status == 400
    assert error == f"Content-Encoding deflate: the body chains more than {MAX_MEMBERS} compressed members; send one"
    status, error = refused(1_000, b"...", b"br")
    assert status == 415
    assert error == "Content-Encoding 'br' is not read: send gzip, deflate or none"
