"""The console's Server-Sent Events (issue 6 §3): what a compound's stream says and to whom,
resuming after a reconnect, keep-alives, the escalation ticker, and the ASGI variant."""

from __future__ import annotations

import datetime as dt
import time

import orjson
import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient
from django.urls import reverse
from django.utils import timezone

from anfang.alarms import services as s
from anfang.alarms.models import Alarm
from anfang.console import bus, sse
from anfang.core.choices import Role
from anfang.events import choices as ec
from tests import factories as f
from tests.console.test_views import ingest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    """Short periods, so a test waits milliseconds for what production spaces out in seconds."""
    monkeypatch.setattr(sse, "TICK_SECONDS", 0.05)
    monkeypatch.setattr(sse, "KEEPALIVE_SECONDS", 0.4)
    s.forget_rules()
    bus.ensure_listener()
    if connection.vendor == "postgresql":  # NOTIFYs sent before LISTEN would be lost to this test
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(m.topic == "bus" for m in bus.HUB.since(0)):
            time.sleep(0.05)


@pytest.fixture
def site(world):
    cx = world["cx"]
    return {
        **world,
        "detector": f.DeviceFactory(compound=cx, name="东侧周界探测器"),
        "foreign": f.DeviceFactory(compound=world["cy"], name="乐家周界"),
        "operator": f.user_with(Role.DUTY_OPERATOR, compound=cx, username="wang.duty"),
    }


def parse(text: str) -> list[dict]:
    frames = []
    for block in text.split("\n\n"):
        fields: dict = {}
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            key, _sep, value = line.partition(": ")
            fields[key] = value
        if "event" in fields:
            fields["data"] = orjson.loads(fields["data"])
            frames.append(fields)
    return frames


class Reader:
    """Reads a streaming response frame by frame, waiting at most `timeout` for what it wants."""

    def __init__(self, response) -> None:
        self.response = response
        self.chunks = iter(response.streaming_content)
        self.seen: list[dict] = []

    def until(self, want, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = parse(next(self.chunks).decode())
            self.seen.extend(got)
            if any(want(fr) for fr in got):
                return got
        raise AssertionError(f"nothing wanted within {timeout}s; saw {self.seen}")


def open_stream(client, compound, **headers):
    response = client.get(reverse("console:stream", args=[compound.pk]), **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"].startswith("no-cache")
    return Reader(response)


def test_a_stream_opens_with_retry_and_hello_then_tells_this_compounds_alarms(client, site):
    client.force_login(site["operator"])
    reader = open_stream(client, site["cx"])
    first = next(reader.chunks).decode()
    assert first.startswith(f"retry: {sse.RETRY_MS}\n")
    hello = parse(first)[0]
    assert hello["event"] == "hello" and hello["data"]["resumed"] is False

    ingest(site["foreign"])
    ingest(site["detector"])
    frames = reader.until(lambda fr: fr["event"] == "alarm")
    alarms = [fr for fr in reader.seen if fr["event"] == "alarm"]
    mine = Alarm.objects.get(compound=site["cx"])
    assert [a["data"]["id"] for a in alarms] == [mine.pk]  # the other compound's alarm is not told
    assert alarms[0]["data"]["status"] == "new" and alarms[0]["id"].startswith(sse.BOOT + "-")
    assert frames

    s.acknowledge(site["operator"], mine)
    reader.until(lambda fr: fr["event"] == "alarm" and fr["data"]["status"] == "acknowledged")
    reader.response.close()


def test_events_of_the_compound_are_hinted_once_per_batch(client, site):
    client.force_login(site["operator"])
    reader = open_stream(client, site["cx"])
    ingest(site["foreign"], ec.EventKind.MOTION)
    ingest(site["detector"], ec.EventKind.MOTION)
    reader.until(lambda fr: fr["event"] == "events")
    hints = [fr for fr in reader.seen if fr["event"] == "events"]
    assert len(hints) == 1 and hints[0]["data"]["last_id"]
    reader.response.close()


def test_an_idle_stream_pings(client, site):
    client.force_login(site["operator"])
    reader = open_stream(client, site["cx"])
    reader.until(lambda fr: fr["event"] == "ping", timeout=3)
    reader.response.close()


def test_a_reconnecting_console_gets_what_it_missed(client, site):
    client.force_login(site["operator"])
    reader = open_stream(client, site["cx"])
    hello = reader.until(lambda fr: fr["event"] == "hello")[0]
    reader.response.close()  # the connection drops …
    ingest(site["detector"])  # … an alarm is raised meanwhile …
    missed = Alarm.objects.get()
    time.sleep(0.3 if connection.vendor == "postgresql" else 0)  # let the listener hear it
    again = open_stream(client, site["cx"], HTTP_LAST_EVENT_ID=hello["id"])  # … the browser reconnects
    frames = again.until(lambda fr: fr["event"] == "alarm")
    assert again.seen[0]["event"] == "hello" and again.seen[0]["data"]["resumed"] is True
    assert [fr["data"]["id"] for fr in frames if fr["event"] == "alarm"] == [missed.pk]
    again.response.close()


def test_positions_of_another_process_or_too_old_are_not_resumed():
    assert sse.start_position("0000-1") == (bus.HUB.seq, False)
    assert sse.start_position("garbage") == (bus.HUB.seq, False)
    assert sse.start_position(None) == (bus.HUB.seq, False)
    assert sse.start_position(sse.position_id(bus.HUB.seq + 10)) == (bus.HUB.seq, False)
    for _ in range(bus.HUB.recent.maxlen + 5):  # the ring forgets
        bus.HUB.put("noise", {})
    old = bus.HUB.seq - bus.HUB.recent.maxlen - 3
    assert sse.start_position(sse.position_id(old)) == (bus.HUB.seq, False)
    assert sse.start_position(sse.position_id(bus.HUB.seq - 2)) == (bus.HUB.seq - 2, True)


def test_the_query_parameter_is_the_position_of_a_first_connection(client, site):
    client.force_login(site["operator"])
    position = sse.position_id(bus.HUB.seq)
    ingest(site["detector"])  # raised after the page was read, before its stream opened
    time.sleep(0.3 if connection.vendor == "postgresql" else 0)
    response = client.get(reverse("console:stream", args=[site["cx"].pk]) + f"?after={position}")
    reader = Reader(response)
    reader.until(lambda fr: fr["event"] == "alarm")
    assert reader.seen[0]["data"]["resumed"] is True
    response.close()


def test_the_stream_ticks_escalation(client, site):
    ingest(site["detector"], at=timezone.now() - dt.timedelta(minutes=5))
    client.force_login(site["operator"])
    reader = open_stream(client, site["cx"])
    sse._last_tick = 0.0
    reader.until(lambda fr: fr["event"] == "alarm" and fr["data"]["status"] == "new")
    assert Alarm.objects.get().escalation_level == 2
    reader.response.close()


def test_a_stream_ends_after_its_lifetime_so_the_browser_reconnects(site):
    chunks = list(sse.sync_stream(site["cx"].pk, bus.HUB.seq, False, max_seconds=0.2))
    assert parse(chunks[0].decode())[0]["event"] == "hello"


def test_the_asgi_stream_is_woken_by_the_bus(site):
    operator = site["operator"]
    url = reverse("console:stream", args=[site["cx"].pk])
    compound_id = site["cx"].pk

    async def scenario() -> list[dict]:
        client = AsyncClient()
        await client.aforce_login(operator)
        response = await client.get(url)
        assert response.status_code == 200 and response.is_async
        chunks = aiter(response.streaming_content)
        seen = parse((await anext(chunks)).decode())
        assert seen[0]["event"] == "hello"
        bus.HUB.put("alarm", {"id": 99, "compound": compound_id, "status": "new"})
        bus.HUB.put("alarm", {"id": 98, "compound": compound_id + 1000, "status": "new"})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(fr["event"] == "alarm" for fr in seen):
            seen += parse((await anext(chunks)).decode())
        await chunks.aclose()
        return seen

    seen = async_to_sync(scenario)()
    assert [fr["data"]["id"] for fr in seen if fr["event"] == "alarm"] == [99]
