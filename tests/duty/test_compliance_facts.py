"""Art 16 and 33(1) judged from the duty module (issue 6 §4): the rules that answered `unknown`
until now pass or fail on the daily operating records and the duty log."""

from __future__ import annotations

import datetime as dt

import pytest

from anfang.duty.compliance_facts import window
from anfang.duty.coverage import day_bounds
from anfang.duty.models import DailyRecord, LogEntry
from tests import factories as f
from tests.compliance.builders import findings

pytestmark = pytest.mark.django_db
RULES = ("art16.staffing", "art16.duty_log", "art33_1.operation")


def judged(compound):
    return {k: v for k, v in findings(compound).items() if k in RULES}


def record(compound, day, **kw):
    start = day_bounds(day)[0]
    fields = dict(duty_rooms=1, unstaffed_minutes=0, devices_in_service=10, devices_heard=10)
    fields.update(kw)
    return DailyRecord.objects.create(
        compound=compound, day=day, computed_at=start, final=True, judged_until=start + dt.timedelta(days=1), **fields
    )


@pytest.fixture
def room(world):
    return f.DutyRoomFactory(compound=world["cx"])


def fill(room, overrides=None):
    overrides = overrides or {}
    for day in window():
        record(room.compound, day, **overrides.get(day, {}))
        LogEntry.objects.create(
            duty_room=room, at=day_bounds(day)[0] + dt.timedelta(hours=9), kind="manual", text="巡视"
        )


def test_without_records_the_rules_stay_unknown(room):
    assert {k: v.status for k, v in judged(room.compound).items()} == dict.fromkeys(RULES, "unknown")


def test_a_fully_staffed_logged_and_running_week_passes(room):
    fill(room)
    assert {k: v.status for k, v in judged(room.compound).items()} == dict.fromkeys(RULES, "pass")


def test_an_unstaffed_half_hour_a_silent_device_and_a_day_without_log_fail(room):
    days = window()
    fill(room, {days[2]: {"unstaffed_minutes": 30}, days[4]: {"devices_heard": 9}})
    LogEntry.objects.filter(at__gte=day_bounds(days[5])[0], at__lt=day_bounds(days[5])[1]).delete()
    found = judged(room.compound)
    assert {k: v.status for k, v in found.items()} == dict.fromkeys(RULES, "fail")
    text = " ".join(str(e) for v in found.values() for e in v.evidence)
    assert "无人值班 30 分钟" in text and "1 台在用设备全天无通信" in text and "无值班记录" in text


def test_a_missing_record_means_not_recorded(room):
    days = window()
    fill(room)
    DailyRecord.objects.filter(day=days[0]).delete()
    found = judged(room.compound)
    assert found["art33_1.operation"].status == "fail" and found["art16.staffing"].status == "fail"
