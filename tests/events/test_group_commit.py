"""Group commit: concurrent pushes share a write; each gets its own outcomes or the shared error."""

from __future__ import annotations

import threading
import time

import pytest

from anfang.events import writer
from anfang.events.ingest import STORED, Outcome


def test_concurrent_requests_share_writes_and_get_their_own_outcomes(monkeypatch):
    calls: list[int] = []

    def slow_store(events):
        calls.append(len(events))
        time.sleep(0.05)
        return [Outcome(STORED, e) for e in events]

    monkeypatch.setattr(writer, "store", slow_store)
    group = writer.GroupCommit()
    results: dict[int, list] = {}

    def push(n: int) -> None:
        results[n] = group.store([n * 10 + i for i in range(3)])

    threads = [threading.Thread(target=push, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert sorted(results) == list(range(12))
    for n, outcomes in results.items():
        assert [o.event_id for o in outcomes] == [n * 10, n * 10 + 1, n * 10 + 2]
    assert sum(calls) == 36 and len(calls) < 12  # fewer writes than requests


def test_an_error_reaches_every_request_of_the_failed_write(monkeypatch):
    gate = threading.Event()

    def failing_store(events):
        gate.wait(1)
        raise OSError("disk full")

    monkeypatch.setattr(writer, "store", failing_store)
    group = writer.GroupCommit()
    errors: list[BaseException] = []

    def push() -> None:
        try:
            group.store([1])
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=push) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    gate.set()
    for t in threads:
        t.join(5)
    assert len(errors) == 4 and not group.writing and not group.pending


def test_a_lone_request_writes_at_once(monkeypatch):
    monkeypatch.setattr(writer, "store", lambda events: [Outcome(STORED, 1) for _ in events])
    start = time.monotonic()
    assert writer.GroupCommit().store([object()])[0].event_id == 1
    assert time.monotonic() - start < 0.05


@pytest.mark.parametrize("size", [1, 4999, 5000])
def test_batches_respect_the_limit(monkeypatch, size):
    seen: list[int] = []
    monkeypatch.setattr(writer, "store", lambda events: seen.append(len(events)) or [Outcome(STORED)] * len(events))
    writer.GroupCommit(max_batch=5000).store(list(range(size)))
    assert seen == [size]
