"""The console bus: alarm changes and event batches reach listeners after commit, never before."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from anfang.alarms.models import Alarm
from anfang.console import bus
from anfang.events import choices as ec
from anfang.events import writer
from anfang.events.ingest import normalise
from tests import factories as f
from tests.events.conftest import incoming

pytestmark = pytest.mark.django_db(transaction=True)


def drain(after: int, timeout: float = 3.0) -> list[bus.Message]:
    bus.ensure_listener()
    return bus.HUB.wait(after, timeout)


def wait_for(topic: str, after: int, timeout: float = 5.0) -> list[bus.Message]:
    seen: list[bus.Message] = []
    deadline = timezone.now().timestamp() + timeout
    seq = after
    while timezone.now().timestamp() < deadline:
        batch = bus.HUB.wait(seq, 0.2)
        if batch:
            seq = batch[-1].seq
            seen.extend(m for m in batch if m.topic == topic)
            if seen:
                return seen
    return seen


def test_an_alarm_raised_by_an_event_is_announced_after_commit(db):
    bus.ensure_listener()
    if connection.vendor == "postgresql":
        wait_for("bus", 0, timeout=2)  # the listener is connected
    detector = f.DeviceFactory()
    start = bus.HUB.seq
    now = timezone.now()
    writer.write([normalise(incoming(detector, ec.EventKind.PERIMETER_INTRUSION), now)])
    alarms = wait_for("alarm", start)
    assert alarms and alarms[0].data["id"] == Alarm.objects.get().pk
    assert alarms[0].data["compound"] == detector.compound_id and alarms[0].data["status"] == "new"
    events = [m for m in bus.HUB.since(start) if m.topic == "events"]
    assert events and events[0].data["compounds"] == [detector.compound_id]


def test_nothing_is_announced_for_a_rolled_back_transaction(db):
    detector = f.DeviceFactory()
    bus.ensure_listener()
    start = bus.HUB.seq
    with pytest.raises(RuntimeError), transaction.atomic():
        writer.write([normalise(incoming(detector, ec.EventKind.PERIMETER_INTRUSION), timezone.now())])
        raise RuntimeError("rollback")
    assert [m for m in drain(start, 1.0) if m.topic in ("alarm", "events")] == []


def test_a_waiting_stream_wakes_when_a_message_arrives():
    got: list[list[bus.Message]] = []
    start = bus.HUB.seq
    waiter = threading.Thread(target=lambda: got.append(bus.HUB.wait(start, 5)))
    waiter.start()
    bus.HUB.put("alarm", {"id": 1})
    waiter.join(2)
    assert got and got[0][0].data == {"id": 1}
