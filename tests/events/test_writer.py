"""The batch writer: dedup in the database, in-batch duplicates, spool when the database is down."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from anfang.events import choices as c
from anfang.events import spool, writer
from anfang.events.ingest import DUPLICATE, SPOOLED, STORED, normalise
from anfang.events.models import Event, EventKey
from anfang.events.partitions import is_partitioned

from .conftest import incoming

pytestmark = pytest.mark.django_db(transaction=True)


def normalised(device, n=1, **kwargs):
    now = timezone.now()
    return [normalise(incoming(device, external_id=kwargs.get("prefix", "e") + str(i)), now) for i in range(n)]


def test_write_stores_each_event_once_and_answers_duplicates_with_the_first_id(camera):
    first = writer.write(normalised(camera, 3))
    assert [o.status for o in first] == [STORED] * 3
    again = writer.write(normalised(camera, 4))
    assert [o.status for o in again] == [DUPLICATE, DUPLICATE, DUPLICATE, STORED]
    assert [o.event_id for o in again[:3]] == [o.event_id for o in first]
    assert Event.objects.count() == 4 and EventKey.objects.count() == 4


def test_duplicates_inside_one_batch_are_stored_once(camera):
    batch = normalised(camera, 2) + normalised(camera, 2)
    outcomes = writer.write(batch)
    assert [o.status for o in outcomes] == [STORED, STORED, DUPLICATE, DUPLICATE]
    assert outcomes[2].event_id == outcomes[0].event_id
    assert Event.objects.count() == 2


def test_events_without_an_id_are_deduplicated_by_content(camera):
    when = timezone.now() - dt.timedelta(seconds=5)
    a = normalise(incoming(camera, occurred_at=when, payload={"zone": 1}), timezone.now())
    b = normalise(incoming(camera, occurred_at=when, payload={"zone": 1}), timezone.now())
    c2 = normalise(incoming(camera, occurred_at=when, payload={"zone": 2}), timezone.now())
    assert [o.status for o in writer.write([a, b, c2])] == [STORED, DUPLICATE, STORED]


def test_stored_rows_keep_every_field(camera):
    e = normalise(
        incoming(camera, c.EventKind.ANPR_PASSAGE, channel=2, payload={"plate": "辽H12345"}, vendor_code="ANPR"),
        timezone.now(),
    )
    e.media = [{"path": "events/ab/cd/x.jpg", "type": "image/jpeg", "size": 3, "sha256": "x", "name": "p"}]
    [outcome] = writer.write([e])
    row = Event.objects.get(pk=outcome.event_id)
    assert (row.kind, row.channel, row.payload, row.vendor_code) == ("anpr_passage", 2, {"plate": "辽H12345"}, "ANPR")
    assert row.media[0]["path"] == "events/ab/cd/x.jpg"
    assert row.compound_id == camera.compound_id and row.occurred_at == e.occurred_at


def test_store_spools_when_the_database_is_down_and_replay_writes_exactly_once(camera, monkeypatch):
    events = normalised(camera, 5)

    def down(_events):
        raise OperationalError("connection refused")

    monkeypatch.setattr(writer, "write", down)
    assert [o.status for o in writer.store(events)] == [SPOOLED] * 5
    assert Event.objects.count() == 0 and spool.pending()
    monkeypatch.undo()
    writer.write(events[:2])  # the database had committed part of it after all
    assert writer.replay_spool() == 1
    assert Event.objects.count() == 5 and not spool.pending()


def test_spool_skips_a_torn_last_line(settings, camera):
    spool.append("events", [e.as_record() for e in normalised(camera, 2)])
    path = spool.pending()[0]
    with path.open("ab") as handle:
        handle.write(b'{"kind": "events", "reco')
    assert writer.replay_spool() == 1
    assert Event.objects.count() == 2


def test_health_is_tallied_per_device(camera):
    writer.write(normalised(camera, 3))
    writer.write(normalised(camera, 1))
    writer.HEALTH.flush()
    health = camera.health
    health.refresh_from_db()
    assert (health.events, health.duplicates) == (3, 1)
    assert health.last_seen_at is not None and not health.clock_skew_flagged


def test_clock_skew_is_flagged_on_event_and_device(camera, settings):
    ahead = incoming(camera, occurred_at=timezone.now() + dt.timedelta(hours=2))
    e = normalise(ahead, timezone.now())
    assert c.Flag.CLOCK_SKEW in e.flags
    writer.write([e])
    writer.HEALTH.flush()
    camera.health.refresh_from_db()
    assert camera.health.clock_skew_flagged and camera.health.clock_skew_seconds >= 7000


def test_late_event_is_flagged(camera):
    e = normalise(incoming(camera, seconds_ago=3600), timezone.now())
    assert c.Flag.LATE in e.flags


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are a PostgreSQL feature")
def test_events_are_partitioned_by_day_and_a_new_partition_takes_its_rows_from_default(camera):
    from anfang.events import partitions

    assert is_partitioned()
    far = dt.datetime(2031, 3, 4, 12, tzinfo=dt.UTC)
    [outcome] = writer.write([normalise(incoming(camera, received_at=far, occurred_at=far), far)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM events_event_default WHERE id = %s", [outcome.event_id])
        assert cursor.fetchone()[0] == 1
        assert partitions.create_partition(far.date())
        cursor.execute("SELECT count(*) FROM events_event_p20310304 WHERE id = %s", [outcome.event_id])
        assert cursor.fetchone()[0] == 1
    assert not partitions.create_partition(far.date())
    assert partitions.drop_partitions_before(dt.date(2031, 3, 5)) and not Event.objects.filter(pk=outcome.event_id)
