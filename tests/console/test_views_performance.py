"""The console page with 500 open alarms (issue 6 acceptance: ≤ 200 ms server side): a fixed
number of queries whatever the number of alarms, devices or events, and the time measured."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from anfang.alarms import choices as c
from anfang.alarms.models import Alarm
from anfang.core.choices import Role
from anfang.devices.models import DeviceHealth
from anfang.events import choices as ec
from anfang.events import writer
from anfang.events.ingest import normalise
from tests import factories as f
from tests.events.conftest import incoming

pytestmark = pytest.mark.django_db

MAX_QUERIES = 12
BUDGET_MS = 200


def fill(compound, devices, alarms: int) -> None:
    now = timezone.now()
    kinds = [ec.EventKind.PERIMETER_INTRUSION, ec.EventKind.DOOR_FORCED, ec.EventKind.TAMPER, ec.EventKind.VIDEO_LOSS]
    statuses = [c.Status.NEW, c.Status.NEW, c.Status.ACKNOWLEDGED, c.Status.DISPATCHED]
    Alarm.objects.bulk_create(
        Alarm(
            compound=compound,
            device=devices[i % len(devices)],
            kind=kinds[i % 4],
            priority=1 + i % 4,
            status=statuses[i % 4],
            stale=i % 25 == 0,
            raised_at=now - dt.timedelta(seconds=i * 7),
            first_event_id=i,
            last_event_id=i,
            last_event_at=now,
            event_count=1 + i % 3,
            escalation_level=i % 5 == 0,
        )
        for i in range(alarms)
    )


@pytest.fixture
def big(world):
    cx = world["cx"]
    operator = f.user_with(Role.DUTY_OPERATOR, compound=cx)
    devices = [f.DeviceFactory(compound=cx, name=f"设备{i:02d}") for i in range(60)]
    now = timezone.now()
    DeviceHealth.objects.bulk_create(
        DeviceHealth(device=d, last_seen_at=now - dt.timedelta(seconds=30 if i % 7 else 900))
        for i, d in enumerate(devices)
    )
    writer.write([normalise(incoming(d, ec.EventKind.MOTION, flags=["late"]), now) for d in devices[:40]])
    f.DutyRoomFactory(compound=cx)
    return {"compound": cx, "operator": operator, "devices": devices}


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_console_queries_do_not_grow_with_the_queue(client, big, django_assert_max_num_queries):
    client.force_login(big["operator"])
    url = reverse("console:compound", args=[big["compound"].pk])
    fill(big["compound"], big["devices"], 5)
    client.get(url)  # the first visit also remembers the compound in the session
    few = queries_for(client, url)
    Alarm.objects.all().delete()
    fill(big["compound"], big["devices"], 500)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(url)
    assert response.context["queue"].open_count == 500
    assert queries_for(client, url) == few
    queue_url = reverse("console:queue", args=[big["compound"].pk])
    with django_assert_max_num_queries(5):
        client.get(queue_url)


def test_console_with_500_open_alarms_renders_within_budget(client, big):
    client.force_login(big["operator"])
    fill(big["compound"], big["devices"], 500)
    url = reverse("console:compound", args=[big["compound"].pk])
    client.get(url)  # warm: templates compiled, translations loaded
    timings = []
    for _ in range(7):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    median = statistics.median(timings)
    print(f"\nconsole page, 500 open alarms ({connection.vendor}): median {median:.0f} ms, max {max(timings):.0f} ms")
    # A loaded CI machine can be slower than the bench box; ANFANG_STRICT_TIMING=1 holds to the budget.
    budget = BUDGET_MS if os.environ.get("ANFANG_STRICT_TIMING") == "1" else BUDGET_MS * 3
    assert median <= budget
