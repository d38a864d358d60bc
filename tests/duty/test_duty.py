"""Roster, sign-on/off with handover, duty log with alarm entries, coverage per compound."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from anfang.alarms import services as alarms
from anfang.alarms.models import Alarm
from anfang.core.choices import Role
from anfang.duty import choices as c
from anfang.duty import services as s
from anfang.duty.coverage import LOCAL
from anfang.duty.models import LogEntry
from anfang.events import choices as ec
from anfang.events import writer
from anfang.events.ingest import normalise
from tests import factories as f
from tests.events.conftest import incoming

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 24)


def at(hour: float) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(), LOCAL) + dt.timedelta(hours=hour)


@pytest.fixture
def room(world):
    return f.DutyRoomFactory(compound=world["cx"], is_monitoring_centre=True)


@pytest.fixture
def people(world):
    return {
        "op1": f.user_with(Role.DUTY_OPERATOR, compound=world["cx"], username="张一"),
        "op2": f.user_with(Role.DUTY_OPERATOR, compound=world["cx"], username="王二"),
        "manager": f.user_with(Role.PROPERTY_MANAGER, world["company_x"]),
        "outsider": f.user_with(Role.DUTY_OPERATOR, compound=world["cy"]),
    }


def test_a_shift_change_over_midnight_leaves_no_gap_and_logs_the_handover(room, people):
    first = s.sign_on(people["op1"], room, now=at(-4))
    s.sign_on(people["op2"], room, now=at(7.9))
    s.sign_off(people["op1"], first, "东门道闸抬杆慢，已报修", now=at(8))
    cov = s.compound_coverage(room.compound, DAY, now=at(30))
    assert cov is not None and cov.gaps == []
    kinds = list(LogEntry.objects.order_by("at", "id").values_list("kind", flat=True))
    assert kinds == [c.LogKind.SIGN_ON, c.LogKind.SIGN_ON, c.LogKind.HANDOVER, c.LogKind.SIGN_OFF]
    assert LogEntry.objects.get(kind=c.LogKind.HANDOVER).text == "东门道闸抬杆慢，已报修"


def test_a_gap_between_shifts_is_reported(room, people):
    session = s.sign_on(people["op1"], room, now=at(0))
    s.sign_off(people["op1"], session, "无异常", now=at(12))
    s.sign_on(people["op2"], room, now=at(12.5))
    cov = s.compound_coverage(room.compound, DAY, now=at(30))
    assert cov.gaps == [(at(12), at(12.5))] and cov.unstaffed_minutes == 30


def test_every_duty_room_must_be_staffed(room, people, world):
    second = f.DutyRoomFactory(compound=world["cx"], name="西门值班室")
    s.sign_on(people["op1"], room, now=at(0))
    s.sign_on(people["op2"], second, now=at(6))
    assert s.compound_coverage(room.compound, DAY, now=at(30)).gaps == [(at(0), at(6))]


def test_a_compound_without_a_duty_room_has_no_coverage(world):
    assert s.compound_coverage(world["cy"], DAY) is None


def test_sign_on_twice_and_sign_off_rules(room, people):
    session = s.sign_on(people["op1"], room)
    with pytest.raises(ValidationError, match="已在"):
        s.sign_on(people["op1"], room)
    with pytest.raises(PermissionDenied):
        s.sign_off(people["op2"], session, "x")
    with pytest.raises(ValidationError) as err:
        s.sign_off(people["op1"], session, "  ")
    assert "handover_note" in err.value.message_dict
    s.sign_off(people["op1"], session, "正常")
    with pytest.raises(ValidationError):
        s.sign_off(people["op1"], session, "again")


def test_outsiders_cannot_sign_on_or_write_the_log(room, people):
    with pytest.raises(PermissionDenied):
        s.sign_on(people["outsider"], room)
    with pytest.raises(PermissionDenied):
        s.add_note(people["outsider"], room, "x")
    assert s.add_note(people["op1"], room, "巡视监控室，设备正常").kind == c.LogKind.MANUAL


def test_roster_is_validated(room, people):
    shift = s.plan_shift(people["manager"], room, people["op1"], at(8), at(20))
    assert shift.pk
    with pytest.raises(ValidationError) as err:
        s.plan_shift(people["manager"], room, people["op1"], at(19), at(30))
    assert "starts_at" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        s.plan_shift(people["manager"], room, people["outsider"], at(20), at(8))
    assert set(err.value.message_dict) == {"ends_at", "operator"}
    with pytest.raises(PermissionDenied):
        s.plan_shift(people["op1"], room, people["op2"], at(20), at(32))


def test_alarm_steps_are_written_to_the_duty_log(room, people, world):
    detector = f.DeviceFactory(compound=world["cx"])
    e = normalise(incoming(detector, ec.EventKind.PERIMETER_INTRUSION), incoming(detector).received_at)
    writer.write([e])
    alarm = alarms.acknowledge(people["op1"], Alarm.objects.get())
    entries = list(LogEntry.objects.filter(alarm=alarm).order_by("at", "id").values_list("text", flat=True))
    assert len(entries) == 2 and "报警产生" in entries[0] and "确认" in entries[1]
