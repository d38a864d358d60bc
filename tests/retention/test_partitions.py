"""The partition path on PostgreSQL (issue 9 §3): a whole day past the cut-off is dropped; held
rows of it are moved to the default partition first (same ids, still visible); a dry run leaves
the partition; two purges at once: one runs, the other is refused. Days in 2003 and 2004, far
from the partitions other tests create."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from anfang.events.media import open_picture
from anfang.events.models import Event
from anfang.events.partitions import EVENTS
from anfang.retention import purge as p
from anfang.retention import services
from anfang.retention.choices import PurgeStatus
from tests import factories as f

from .factories import event, picture

pytestmark = [pytest.mark.django_db]

NOW = dt.datetime(2003, 7, 1, tzinfo=dt.UTC)  # cut-off at 90 days: 2003-04-02


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql" or not EVENTS.is_partitioned():
        pytest.skip("partition path: PostgreSQL only")


@pytest.fixture
def cams(world):
    return {
        **world,
        "x": f.DeviceFactory(compound=world["cx"], name="X1"),
        "x2": f.DeviceFactory(compound=world["cx"], name="X2"),
        "y": f.DeviceFactory(compound=world["cy"], name="Y1"),
        "admin": f.admin_user(),
    }


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


def where(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM events_event WHERE id = %s", [pk])
        row = cursor.fetchone()
    return row[0] if row else ""


def test_a_whole_day_is_dropped_with_its_files(cams):
    day = dt.date(2003, 3, 1)
    EVENTS.create_partition(day)
    pic = picture("p1")
    rows = [event(cams["x"], at(day), [pic]).pk, event(cams["y"], at(day, 20)).pk]
    assert where(rows[0]) == EVENTS.partition_name(day)
    done = p.purge(now=NOW, data_class="events")
    report = done.report["classes"]["events"]
    assert done.status == PurgeStatus.DONE, done.errors
    assert day not in EVENTS.existing()
    assert report["partitions"] == [day.isoformat()] and report["rows"] == 2 and report["files"] == 1
    assert not Event.objects.filter(pk__in=rows).exists()
    assert not open_picture(pic).exists()


def test_held_rows_of_a_dropped_day_move_to_the_default_partition(cams):
    day = dt.date(2003, 3, 2)
    EVENTS.create_partition(day)
    shared = picture("shared")
    by_compound = event(cams["y"], at(day), [shared])
    by_device = event(cams["x"], at(day, 1))
    by_range = event(cams["x2"], at(day, 22))
    gone = event(cams["x2"], at(day, 10), [shared])
    services.place_hold(cams["admin"], case_number="C", reason="r", compound=cams["cy"])
    services.place_hold(cams["admin"], case_number="D", reason="r", device=cams["x"])
    services.place_hold(cams["admin"], case_number="T", reason="r", data_from=at(day, 21), data_to=at(day, 23))
    done = p.purge(now=NOW, data_class="events")
    report = done.report["classes"]["events"]
    assert day not in EVENTS.existing()
    kept = {by_compound.pk, by_device.pk, by_range.pk}
    of_day = Event.objects.filter(received_at__gte=at(day, 0), received_at__lt=at(day, 0) + dt.timedelta(days=1))
    assert set(of_day.values_list("pk", flat=True)) == kept
    assert {where(pk) for pk in kept} == {"events_event_default"}
    assert not Event.objects.filter(pk=gone.pk).exists()
    assert open_picture(shared).exists()  # still the held row's picture
    assert (report["rows"], report["moved_rows"], report["held_rows"]) == (1, 3, 3)
    # Once released, the batched path removes them from the default partition.
    for hold in services.LegalHold.objects.all():
        services.release_hold(cams["admin"], hold)
    p.purge(now=NOW, data_class="events")
    assert not Event.objects.filter(pk__in=kept).exists()
    assert not open_picture(shared).exists()


def test_a_compound_kept_longer_is_moved_out_too(cams):
    day = dt.date(2003, 3, 3)
    EVENTS.create_partition(day)
    services.set_policy(cams["admin"], "events", 365, compound=cams["cx"])
    x = event(cams["x"], at(day))
    y = event(cams["y"], at(day))
    p.purge(now=NOW, data_class="events")
    assert day not in EVENTS.existing()
    assert set(Event.objects.filter(pk__in=[x.pk, y.pk]).values_list("pk", flat=True)) == {x.pk}


def test_dry_run_keeps_the_partition(cams):
    day = dt.date(2003, 3, 4)
    EVENTS.create_partition(day)
    event(cams["x"], at(day))
    done = p.purge(now=NOW, data_class="events", dry_run=True)
    assert day in EVENTS.existing()
    assert done.report["classes"]["events"]["partitions"] == [day.isoformat()]
    assert done.report["classes"]["events"]["rows"] == 1


@pytest.mark.django_db(transaction=True)
def test_two_purges_at_once_one_is_refused(cams, monkeypatch):
    day = dt.date(2004, 2, 1)
    EVENTS.create_partition(day)
    for n in range(20):
        event(cams["x"], at(day, n))
    original = p.purge_class
    barrier = threading.Barrier(2)

    def slow(*args, **kwargs):
        result = original(*args, **kwargs)
        threading.Event().wait(0.5)  # hold the lock long enough for the other to try
        return result

    monkeypatch.setattr(p, "purge_class", slow)
    runs = []

    def go():
        barrier.wait()
        try:
            runs.append(p.purge(now=dt.datetime(2004, 6, 1, tzinfo=dt.UTC), data_class="events"))
        finally:
            connection.close()

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in runs) == [PurgeStatus.DONE, PurgeStatus.REFUSED]
    done = next(r for r in runs if r.status == PurgeStatus.DONE)
    assert done.report["classes"]["events"]["rows"] == 20
    assert not Event.objects.filter(received_at__gte=at(day, 0), received_at__lt=at(day, 23)).exists()
