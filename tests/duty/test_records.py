"""Daily operating record (Art 33(1)): definitions, immutability once the day is over, constant
query count, the scheduler's command; and the percentile aggregate on both databases."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anfang.alarms import choices as ac
from anfang.alarms.models import Alarm, PoliceReport
from anfang.alarms.timing import Percentile, Seconds, percentile_cont
from anfang.core.choices import Role
from anfang.devices.choices import DeviceStatus
from anfang.devices.models import Device, DeviceHealth
from anfang.duty import records
from anfang.duty import services as s
from anfang.duty.coverage import LOCAL
from anfang.duty.models import DailyRecord
from anfang.events import choices as ec
from anfang.events.models import Event
from tests import factories as f

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 24)


def at(hour: float, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LOCAL) + dt.timedelta(hours=hour)


AFTER = at(26)  # the next day, 02:00: DAY is over


def event(device, when, kind=ec.EventKind.HEARTBEAT):
    return Event.objects.create(
        compound_id=device.compound_id,
        device_id=device.pk,
        kind=kind,
        occurred_at=when,
        received_at=when,
        source=ec.Source.API,
    )


def alarm(device, raised, *, ack=None, close=None, cause="", kind=ec.EventKind.PERIMETER_INTRUSION, stale=False):
    status = ac.Status.CLOSED if close else ac.Status.ACKNOWLEDGED if ack else ac.Status.NEW
    return Alarm.objects.create(
        compound_id=device.compound_id,
        device=device,
        kind=kind,
        priority=ac.Priority.URGENT,
        status=status,
        stale=stale,
        raised_at=raised,
        first_event_id=1,
        last_event_id=1,
        last_event_at=raised,
        acknowledged_at=ack,
        closed_at=close,
        close_cause=cause,
    )


def minutes(base, n):
    return base + dt.timedelta(minutes=n)


def registered_long_ago():
    """Devices made by the factories are registered "now", after DAY; a record only counts the
    devices registered by the end of its day."""
    Device.objects.update(created_at=at(-24 * 30))


@pytest.fixture
def site(world):
    cx = world["cx"]
    devices = {
        name: f.DeviceFactory(compound=cx, name=name)
        for name in ("东门摄像机", "周界探测器", "北门摄像机", "计划摄像机", "停用摄像机")
    }
    devices["计划摄像机"].status = DeviceStatus.PLANNED
    devices["停用摄像机"].status = DeviceStatus.RETIRED
    for d in devices.values():
        d.save()
    registered_long_ago()
    return {**world, **devices}


def test_devices_online_share_counts_any_event_and_lists_the_silent_ones(site):
    event(site["东门摄像机"], at(3))  # a heartbeat counts
    event(site["周界探测器"], at(23.9), ec.EventKind.PERIMETER_INTRUSION)
    event(site["北门摄像机"], at(-1))  # the day before: silent on DAY
    event(site["北门摄像机"], at(24))  # the next day: still silent on DAY
    event(site["计划摄像机"], at(5))  # not in service: neither counted nor listed
    DeviceHealth.objects.create(device=site["北门摄像机"], last_seen_at=at(24))
    record = records.compute(site["cx"], DAY, now=AFTER)
    assert (record.devices_in_service, record.devices_heard) == (3, 2)
    assert record.online_share == pytest.approx(2 / 3)
    assert [d["name"] for d in record.silent_devices] == ["北门摄像机"]
    assert dt.datetime.fromisoformat(record.silent_devices[0]["last_seen_at"]) == at(24)


def test_a_faulty_device_is_still_expected_to_run(site):
    Device.objects.filter(pk=site["东门摄像机"].pk).update(status=DeviceStatus.FAULTY)
    record = records.compute(site["cx"], DAY, now=AFTER)
    assert record.devices_in_service == 3 and record.devices_heard == 0


def test_alarms_by_kind_outcome_and_handling_times(site):
    d = site["周界探测器"]
    t = at(10)
    alarm(d, t, ack=minutes(t, 1), close=minutes(t, 10), cause=ac.CloseCause.REAL_INCIDENT)
    alarm(d, t, ack=minutes(t, 2), close=minutes(t, 20), cause=ac.CloseCause.FALSE_ALARM)
    alarm(d, t, ack=minutes(t, 3), close=minutes(t, 30), cause=ac.CloseCause.FALSE_ALARM, kind=ec.EventKind.TAMPER)
    alarm(d, t, ack=minutes(t, 10))  # acknowledged, still open
    alarm(d, t, kind=ec.EventKind.DOOR_FORCED)  # never acknowledged
    alarm(d, t, ack=minutes(t, 500), close=minutes(t, 600), cause=ac.CloseCause.TEST, stale=True)  # replayed
    alarm(d, at(-2), ack=at(-1.9))  # the day before
    record = records.compute(site["cx"], DAY, now=AFTER)
    assert record.alarms_raised == 6 and record.alarms_stale == 1
    assert record.alarms_by_kind == {"perimeter_intrusion": 4, "tamper": 1, "door_forced": 1}
    assert record.alarms_by_outcome == {"false_alarm": 2, "open": 2, "real_incident": 1, "test": 1}
    assert (record.alarms_acknowledged, record.alarms_closed) == (5, 4)
    # stale alarm left out: acknowledged after 1, 2, 3, 10 minutes; closed after 10, 20, 30
    assert record.ack_median_seconds == pytest.approx(150)
    assert record.ack_p90_seconds == pytest.approx(percentile_cont([60, 120, 180, 600], 0.9))
    assert record.close_median_seconds == pytest.approx(1200)
    assert record.close_p90_seconds == pytest.approx(1680)


def test_police_reports_of_the_day_and_unstaffed_minutes(site):
    room = f.DutyRoomFactory(compound=site["cx"])
    operator = f.user_with(Role.DUTY_OPERATOR, compound=site["cx"])
    session = s.sign_on(operator, room, now=at(-2))
    s.sign_off(operator, session, "无异常", now=at(8))
    s.sign_on(operator, room, now=at(8.5))
    a = alarm(site["周界探测器"], at(9), ack=at(9.01))
    PoliceReport.objects.create(
        alarm=a, reported_at=at(9.1), means=ac.ReportMeans.PHONE_110, report_number="JJ-1", reported_by=operator
    )
    record = records.compute(site["cx"], DAY, now=AFTER)
    assert record.unstaffed_minutes == 30 and record.duty_rooms == 1
    assert [[dt.datetime.fromisoformat(t) for t in gap] for gap in record.unstaffed_gaps] == [[at(8), at(8.5)]]
    assert [(r["alarm"], r["number"], r["means"]) for r in record.police_reports] == [(a.pk, "JJ-1", "phone_110")]


def test_no_duty_room_means_no_unstaffed_figure(site):
    record = records.compute(site["cy"], DAY, now=AFTER)
    assert record.unstaffed_minutes is None and record.duty_rooms == 0


def test_a_record_made_after_the_day_is_final_and_never_rewritten(site):
    record, written = records.ensure(site["cx"], DAY, now=AFTER)
    assert written and record.final and record.devices_heard == 0
    event(site["东门摄像机"], at(12))  # arrives in the table afterwards (e.g. a restored backup)
    again, written = records.ensure(site["cx"], DAY, now=AFTER + dt.timedelta(hours=5))
    assert not written and again.pk == record.pk and again.devices_heard == 0
    again.devices_heard = 3
    with pytest.raises(ValueError, match="immutable"):
        again.save()
    assert DailyRecord.objects.get().devices_heard == 0


def test_todays_record_is_provisional_and_recomputed(site):
    first, _ = records.ensure(site["cx"], DAY, now=at(9))
    assert not first.final and first.judged_until == at(9)
    event(site["东门摄像机"], at(10))
    second, written = records.ensure(site["cx"], DAY, now=at(11))
    assert written and second.pk == first.pk and second.devices_heard == 1 and not second.final
    final, written = records.ensure(site["cx"], DAY, now=AFTER)
    assert written and final.final and DailyRecord.objects.count() == 1


def test_a_day_not_begun_is_refused(site):
    with pytest.raises(ValueError):
        records.compute(site["cx"], DAY, now=at(-1))


def _queries(compound) -> int:
    with CaptureQueriesContext(connection) as ctx:
        records.compute(compound, DAY, now=AFTER)
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_devices_or_alarms(site):
    f.DutyRoomFactory(compound=site["cx"])
    small = _queries(site["cx"])
    for i in range(30):
        d = f.DeviceFactory(compound=site["cx"])
        event(d, at(i % 24))
        alarm(d, at(i % 24), ack=minutes(at(i % 24), i + 1))
        f.DutyRoomFactory(compound=site["cx"]) if i % 10 == 0 else None
    registered_long_ago()
    assert _queries(site["cx"]) == small <= 8


def test_command_writes_yesterdays_final_records(site, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: AFTER)
    out = StringIO()
    call_command("daily_records", stdout=out)
    assert "final" in out.getvalue() and "3 written" in out.getvalue()
    assert set(DailyRecord.objects.values_list("day", "final")) == {(DAY, True)}
    call_command("daily_records", stdout=out)
    assert "0 written, 3 already final" in out.getvalue()


def test_command_refuses_bad_and_future_dates(site):
    with pytest.raises(CommandError, match="not a date"):
        call_command("daily_records", "--date", "24.11.2026")
    with pytest.raises(CommandError, match="not begun"):
        call_command("daily_records", "--date", "2999-01-01")
    with pytest.raises(CommandError, match="No active compound"):
        call_command("daily_records", "--compound", "999999")


def test_a_device_registered_after_the_day_is_not_counted(site):
    late = f.DeviceFactory(compound=site["cx"], name="新装摄像机")  # registered now, long after DAY
    record = records.compute(site["cx"], DAY, now=AFTER + dt.timedelta(days=400))
    assert record.devices_in_service == 3 and late.name not in {d["name"] for d in record.silent_devices}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=86_400), min_size=1, max_size=12), st.sampled_from([0.5, 0.9]))
def test_percentile_in_the_database_matches_postgresqls_definition(world, seconds, fraction):
    device = f.DeviceFactory(compound=world["cx"])
    base = at(0)
    for n in seconds:
        alarm(device, base, ack=base + dt.timedelta(seconds=n))
    got = Alarm.objects.filter(device=device).aggregate(p=Percentile(Seconds("acknowledged_at", "raised_at"), fraction))
    Alarm.objects.filter(device=device).delete()
    assert got["p"] == pytest.approx(percentile_cont([float(n) for n in seconds], fraction), abs=0.01)
