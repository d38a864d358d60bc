"""Check-ins arriving on the event path (MQTT / JSON batch, `kind="patrol_checkin"`): recorded in the
event's write transaction by the STORED_HOOKS hook; a duplicate event makes no second check-in."""

from __future__ import annotations

import pytest
from django.utils import timezone

from anfang.devices import choices as dc
from anfang.events.ingest import Incoming, normalise
from anfang.events.writer import write
from anfang.patrol.models import Checkin
from tests import factories as f

from .factories import local, site

pytestmark = pytest.mark.django_db


def event(device, at, **payload) -> Incoming:
    return normalise(
        Incoming(
            device_id=device.pk,
            compound_id=device.compound_id,
            kind="patrol_checkin",
            occurred_at=at,
            source="mqtt",
            payload=payload,
        ),
        timezone.now(),
    )


def test_online_reader_event_becomes_a_counted_checkin_once():
    s = site()
    run = s.run(local(2026, 11, 25, 8, 0))
    reader = s.reader()
    at = local(2026, 11, 25, 8, 5)
    [outcome] = write([event(reader, at, tag=s.checkpoints[0].code, guard=s.guard.username)])
    read = Checkin.objects.get()
    assert (read.event_id, read.run_id, read.guard_id, read.eligible) == (outcome.event_id, run.pk, s.guard.pk, True)
    assert read.source == "mqtt" and "late_upload" in read.flags  # an event from last year's test date
    write([event(reader, at, tag=s.checkpoints[0].code, guard=s.guard.username)])  # the device resends
    assert Checkin.objects.count() == 1
    run.refresh_from_db()
    assert run.completed_count == 1


def test_checkpoint_device_event_without_tag_reads_its_checkpoint():
    s = site()
    s.run(local(2026, 11, 25, 8, 0), guard=None)
    device = f.DeviceFactory(
        compound=s.compound,
        name="巡查点设备",
        subsystem=dc.Subsystem.PATROL,
        device_type=dc.DeviceType.PATROL_CHECKPOINT,
    )
    s.checkpoints[1].device = device
    s.checkpoints[1].save()
    write([event(device, local(2026, 11, 25, 8, 10))])
    read = Checkin.objects.get()
    assert read.checkpoint_id == s.checkpoints[1].pk and read.eligible


def test_other_event_kinds_are_ignored():
    s = site()
    reader = s.reader()
    write(
        [
            normalise(
                Incoming(
                    device_id=reader.pk,
                    compound_id=s.compound.pk,
                    kind="tamper",
                    occurred_at=timezone.now(),
                    source="mqtt",
                ),
                timezone.now(),
            )
        ]
    )
    assert Checkin.objects.count() == 0
