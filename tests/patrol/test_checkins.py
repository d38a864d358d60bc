"""Recording check-ins (Art 10): the edge cases of issue 7 — windows crossing midnight, repeated
reads of one tag, another route's tag, a reader clock 7 minutes off, an offline phone's queue
arriving 2 hours late, reads outside any running patrol. Nothing lost, nothing counted twice."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from anfang.patrol import choices as c
from anfang.patrol.models import Checkin, PatrolRun, normalise_code
from anfang.patrol.readers import ingest_upload
from anfang.patrol.services import phone_checkins

from .factories import local, site

pytestmark = pytest.mark.django_db

F = c.CheckinFlag


def item(code: str, at: dt.datetime, run_id: int | None = None, **extra) -> dict:
    return {"client_id": str(uuid.uuid4()), "code": code, "occurred_at": at.isoformat(), "run_id": run_id, **extra}


def walk(s, run, times, now=None):
    items = [item(cp.code, t, run.pk) for cp, t in zip(s.checkpoints, times, strict=False)]
    return phone_checkins(s.guard, items, now=now or times[-1] + dt.timedelta(seconds=5))


def test_window_crossing_midnight_is_one_run_completed_on_time():
    s = site()
    run = s.run(local(2026, 11, 24, 23, 30), minutes=60)
    times = [
        local(2026, 11, 24, 23, 35),
        local(2026, 11, 24, 23, 50),
        local(2026, 11, 25, 0, 5),
        local(2026, 11, 25, 0, 20),
    ]
    results = walk(s, run, times)
    assert [r.status for r in results] == ["stored"] * 4
    run.refresh_from_db()
    assert run.day == dt.date(2026, 11, 24)
    assert (run.status, run.completed_count, run.missed_checkpoints) == (c.RunStatus.RUNNING, 4, [])
    assert run.punctuality == c.Punctuality.ON_TIME
    assert run.started_at == times[0] and run.finished_at == times[-1]


def test_duplicate_reads_of_one_tag_count_once():
    s = site()
    run = s.run(local(2026, 11, 25, 8, 0))
    first = s.checkpoints[0]
    t = local(2026, 11, 25, 8, 5)
    results = phone_checkins(
        s.guard,
        [item(first.code, t, run.pk), item(first.code, t + dt.timedelta(seconds=20), run.pk)],
        now=t + dt.timedelta(minutes=1),
    )
    assert [r.status for r in results] == ["stored", "stored"]
    assert F.DUPLICATE not in results[0].flags and F.DUPLICATE in results[1].flags
    run.refresh_from_db()
    assert (run.completed_count, run.repeat_reads) == (1, 1)
    assert Checkin.objects.filter(run_id=run.pk).count() == 2  # both kept


def test_read_of_another_routes_tag_is_flagged_and_not_counted():
    s = site()
    other = site(compound=s.compound, guard=s.guard, prefix="B")
    run = s.run(local(2026, 11, 25, 8, 0))
    t = local(2026, 11, 25, 8, 10)
    [result] = phone_checkins(s.guard, [item(other.checkpoints[0].code, t, run.pk)], now=t)
    assert result.status == "stored" and F.OTHER_ROUTE in result.flags
    stored = Checkin.objects.get(pk=result.checkin_id)
    assert stored.run_id == run.pk and stored.checkpoint_id == other.checkpoints[0].pk and not stored.eligible
    run.refresh_from_db()
    assert run.completed_count == 0 and run.status == c.RunStatus.NOT_STARTED


def test_reader_clock_seven_minutes_slow_is_corrected_from_its_reported_clock():
    s = site()
    run = s.run(local(2026, 11, 25, 22, 0))
    reader = s.reader()
    slow = dt.timedelta(minutes=7)
    true_times = [local(2026, 11, 25, 22, 0, 30) + dt.timedelta(minutes=6 * i) for i in range(4)]
    received = local(2026, 11, 25, 23, 40)
    lines = [
        f"{cp.code},{(t - slow).strftime('%Y-%m-%d %H:%M:%S')},RD-0001"
        for cp, t in zip(s.checkpoints, true_times, strict=True)
    ]
    body = "tag,time,reader\n" + "\n".join(lines) + f"\nclock,{(received - slow).strftime('%Y-%m-%d %H:%M:%S')}\n"
    result = ingest_upload(reader, body, received_at=received)
    assert result.upload.clock_offset_seconds == 420
    assert (result.upload.accepted_count, result.upload.rejected_count) == (4, 0)
    stored = list(Checkin.objects.filter(reader=reader).order_by("occurred_at"))
    assert [x.occurred_at for x in stored] == true_times
    assert all(F.CLOCK_CORRECTED in x.flags and F.LATE_UPLOAD not in x.flags for x in stored)
    run.refresh_from_db()
    # Uncorrected, the first read (21:53:30) would be before the window: the run would be "early".
    assert (run.completed_count, run.punctuality, run.early_minutes) == (4, c.Punctuality.ON_TIME, 0)


def test_configured_reader_offset_wins_over_missing_clock():
    s = site()
    s.run(local(2026, 11, 25, 22, 0))
    reader = s.reader()
    received = local(2026, 11, 25, 23, 40)
    body = f"{s.checkpoints[0].code},2026-11-25 21:58:00\n"
    result = ingest_upload(reader, body, received_at=received, clock_offset_seconds=420)
    read = Checkin.objects.get(upload_id=result.upload.pk)
    assert read.occurred_at == local(2026, 11, 25, 22, 5) and read.eligible


def test_offline_phone_queue_arriving_two_hours_late_is_kept_flagged_and_counted():
    s = site()
    run = s.run(local(2026, 11, 25, 20, 0))
    times = [local(2026, 11, 25, 20, 5) + dt.timedelta(minutes=6 * i) for i in range(4)]
    from anfang.patrol.services import evaluate_due

    evaluate_due(now=local(2026, 11, 25, 21, 31))  # window over, nothing arrived: judged missed
    run.refresh_from_db()
    assert run.status == c.RunStatus.MISSED
    arrival = times[-1] + dt.timedelta(hours=2)
    queue = [item(cp.code, t, run.pk) for cp, t in zip(s.checkpoints, times, strict=True)]
    results = phone_checkins(s.guard, queue, now=arrival)
    assert [r.status for r in results] == ["stored"] * 4
    assert all(F.LATE_UPLOAD in r.flags for r in results)
    assert [x.occurred_at for x in Checkin.objects.filter(run_id=run.pk).order_by("occurred_at")] == times
    run.refresh_from_db()
    assert (run.status, run.completed_count, run.punctuality) == (c.RunStatus.COMPLETED, 4, c.Punctuality.ON_TIME)
    # The queue is sent again (the phone never saw the answer): nothing is stored twice.
    again = phone_checkins(s.guard, queue, now=arrival + dt.timedelta(minutes=1))
    assert [r.status for r in again] == ["duplicate"] * 4
    assert Checkin.objects.filter(run_id=run.pk).count() == 4


def test_same_queue_sent_twice_is_stored_once():
    s = site()
    run = s.run(local(2026, 11, 25, 8, 0))
    t = local(2026, 11, 25, 8, 10)
    batch = [item(cp.code, t + dt.timedelta(minutes=i), run.pk) for i, cp in enumerate(s.checkpoints)]
    first = phone_checkins(s.guard, batch, now=t + dt.timedelta(minutes=5))
    second = phone_checkins(s.guard, batch, now=t + dt.timedelta(minutes=6))
    assert [r.status for r in second] == ["duplicate"] * 4
    assert [r.checkin_id for r in second] == [r.checkin_id for r in first]
    assert Checkin.objects.count() == 4
    run.refresh_from_db()
    assert run.completed_count == 4 and run.repeat_reads == 0


def test_phone_clock_wrong_is_corrected_from_sent_at():
    s = site()
    run = s.run(local(2026, 11, 25, 8, 0))
    now = local(2026, 11, 25, 8, 30)
    ahead = dt.timedelta(minutes=10)  # the phone's clock is 10 minutes fast
    [r] = phone_checkins(
        s.guard,
        [item(s.checkpoints[0].code, now - dt.timedelta(minutes=5) + ahead, run.pk)],
        sent_at=(now + ahead).isoformat(),
        now=now,
    )
    read = Checkin.objects.get(pk=r.checkin_id)
    assert read.occurred_at == now - dt.timedelta(minutes=5)
    assert F.CLOCK_CORRECTED in read.flags and read.clock_offset_seconds == -600


def test_read_for_a_patrol_that_was_not_running_is_flagged_not_counted():
    s = site()
    run = s.run(local(2026, 11, 25, 8, 0))
    t = local(2026, 11, 25, 12, 0)  # hours after the window
    [r] = phone_checkins(s.guard, [item(s.checkpoints[0].code, t, run.pk)], now=t)
    assert r.status == "stored" and F.NO_RUNNING_PATROL in r.flags
    read = Checkin.objects.get(pk=r.checkin_id)
    assert read.run_id == run.pk and not read.eligible
    run.refresh_from_db()
    assert run.completed_count == 0


def test_read_without_any_run_is_kept_flagged():
    s = site()
    t = local(2026, 11, 25, 3, 0)
    [r] = phone_checkins(s.guard, [item(s.checkpoints[1].code, t)], now=t)
    read = Checkin.objects.get(pk=r.checkin_id)
    assert read.flags == [F.NO_RUNNING_PATROL] and read.run_id is None and read.compound_id == s.compound.pk


def test_unknown_tag_is_kept_flagged():
    s = site()
    run = s.run(local(2026, 11, 25, 8, 0))
    t = local(2026, 11, 25, 8, 10)
    [r] = phone_checkins(s.guard, [item("NO-SUCH-TAG", t, run.pk)], now=t)
    read = Checkin.objects.get(pk=r.checkin_id)
    assert F.UNKNOWN_TAG in read.flags and read.checkpoint_id is None and read.run_id == run.pk
    assert read.compound_id == s.compound.pk and not read.eligible


def test_read_without_run_id_is_matched_to_the_guards_open_run():
    s = site()
    run = s.run(local(2026, 11, 25, 8, 0))
    t = local(2026, 11, 25, 8, 10)
    [r] = phone_checkins(s.guard, [item(s.checkpoints[0].code, t)], now=t)
    read = Checkin.objects.get(pk=r.checkin_id)
    assert read.run_id == run.pk and read.eligible and read.flags == []


def test_hex_uids_match_whatever_the_reader_writes():
    s = site()
    s.checkpoints[0].code = "04:a1:b2:c3"
    s.checkpoints[0].save()
    assert s.checkpoints[0].code == "04A1B2C3"
    assert normalise_code("04-A1-b2-C3") == normalise_code(" 04a1b2c3 ") == "04A1B2C3"
    assert normalise_code("A-1") == "A-1"  # QR contents are kept as written
    run = s.run(local(2026, 11, 25, 8, 0))
    t = local(2026, 11, 25, 8, 10)
    [r] = phone_checkins(s.guard, [item("04a1b2c3", t, run.pk)], now=t)
    assert Checkin.objects.get(pk=r.checkin_id).checkpoint_id == s.checkpoints[0].pk


def test_bad_items_are_rejected_by_field_and_the_rest_recorded():
    s = site()
    run = s.run(local(2026, 11, 25, 8, 0))
    now = local(2026, 11, 25, 8, 30)
    items = [
        item(s.checkpoints[0].code, now - dt.timedelta(minutes=3), run.pk),
        {"client_id": "x", "code": "", "occurred_at": now.isoformat()},
        {"client_id": "y", "code": "A-2", "occurred_at": "yesterday"},
        {"client_id": "z", "code": "A-2", "occurred_at": (now + dt.timedelta(hours=1)).isoformat()},
        item("A-3", now, 999999),
        "not an object",
        item("A-3", now, run.pk, photo="@@notbase64@@"),
    ]
    results = phone_checkins(s.guard, items, now=now)
    assert [r.status for r in results] == ["stored"] + ["rejected"] * 6
    assert results[1].errors[0][0] == "items.1.code"
    assert results[2].errors[0][0] == "items.2.occurred_at"
    assert results[3].errors[0][0] == "items.3.occurred_at"
    assert results[4].errors[0][0] == "items.4.run_id"
    assert results[5].errors[0][0] == "items.5"
    assert results[6].errors[0][0] == "items.6.photo"
    assert Checkin.objects.count() == 1


def test_run_of_another_guard_is_refused():
    s = site()
    other = site(prefix="B")
    run = other.run(local(2026, 11, 25, 8, 0))
    t = local(2026, 11, 25, 8, 10)
    [r] = phone_checkins(s.guard, [item(other.checkpoints[0].code, t, run.pk)], now=t)
    assert r.status == "rejected" and r.errors[0][0] == "items.0.run_id"
    assert not PatrolRun.objects.get(pk=run.pk).completed_count
