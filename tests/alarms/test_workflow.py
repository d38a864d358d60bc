"""Alarms (issue 6 §1–2): raised from events, correlated, handled step by step, escalated."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from anfang.alarms import choices as c
from anfang.alarms import services as s
from anfang.alarms.models import Alarm, AlarmRule, AlarmStep
from anfang.core.choices import Role
from anfang.events import choices as ec
from anfang.events import writer
from anfang.events.ingest import normalise
from tests import factories as f
from tests.events.conftest import incoming

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rules():
    s.forget_rules()


@pytest.fixture
def site(world):
    detector = f.DeviceFactory(compound=world["cx"], name="东侧周界探测器")
    operator = f.user_with(Role.DUTY_OPERATOR, compound=world["cx"])
    guard = f.user_with(Role.GUARD, compound=world["cx"])
    outsider = f.user_with(Role.DUTY_OPERATOR, compound=world["cy"])
    return {**world, "detector": detector, "operator": operator, "guard": guard, "outsider": outsider}


def ingest(device, kind=ec.EventKind.PERIMETER_INTRUSION, *, at=None, **kwargs):
    at = at or timezone.now()
    e = normalise(incoming(device, kind, received_at=at, occurred_at=at - dt.timedelta(seconds=1), **kwargs), at)
    return writer.write([e])[0]


def test_alarm_class_event_raises_an_alarm_and_others_do_not(site):
    ingest(site["detector"], ec.EventKind.MOTION)
    assert not Alarm.objects.exists()
    outcome = ingest(site["detector"])
    alarm = Alarm.objects.get()
    assert (alarm.kind, alarm.priority, alarm.status) == ("perimeter_intrusion", c.Priority.URGENT, c.Status.NEW)
    assert alarm.first_event_id == outcome.event_id and not alarm.stale
    assert AlarmStep.objects.get(alarm=alarm).step == c.Step.RAISED


def test_events_within_the_window_join_the_open_alarm_and_later_ones_open_a_new_one(site):
    t0 = timezone.now()
    ingest(site["detector"], at=t0)
    ingest(site["detector"], at=t0 + dt.timedelta(seconds=30))
    ingest(site["detector"], at=t0 + dt.timedelta(seconds=60), state=ec.EventState.STOP)
    alarm = Alarm.objects.get()
    assert alarm.event_count == 2 and alarm.event_links.count() == 2
    ingest(site["detector"], at=t0 + dt.timedelta(seconds=30 + c.DEFAULT_CORRELATION_SECONDS + 1))
    assert Alarm.objects.count() == 2


def test_a_compound_rule_overrides_the_default(site):
    AlarmRule.objects.create(compound=site["cx"], kind=ec.EventKind.PERIMETER_INTRUSION, raises_alarm=False)
    AlarmRule.objects.create(compound=site["cx"], kind=ec.EventKind.MOTION, priority=c.Priority.LOW)
    ingest(site["detector"])
    ingest(site["detector"], ec.EventKind.MOTION)
    assert list(Alarm.objects.values_list("kind", "priority")) == [("motion", c.Priority.LOW)]


def test_a_late_event_raises_a_stale_alarm(site):
    now = timezone.now()
    e = normalise(
        incoming(site["detector"], ec.EventKind.PERIMETER_INTRUSION, occurred_at=now - dt.timedelta(hours=3)), now
    )
    writer.write([e])
    assert Alarm.objects.get().stale


def test_the_whole_workflow_is_timed(site):
    ingest(site["detector"], at=timezone.now() - dt.timedelta(hours=1))
    alarm = Alarm.objects.get()
    t = alarm.raised_at
    alarm = s.acknowledge(site["operator"], alarm, now=t + dt.timedelta(seconds=12))
    alarm = s.dispatch(site["operator"], alarm, site["guard"], now=t + dt.timedelta(seconds=40))
    alarm = s.arrive(site["guard"], alarm, now=t + dt.timedelta(seconds=200))
    s.report_to_police(
        site["operator"],
        alarm,
        means=c.ReportMeans.PHONE_110,
        reported_at=t + dt.timedelta(seconds=210),
        report_number="110-1",
    )
    alarm = s.close(
        site["operator"], alarm, c.CloseCause.REAL_INCIDENT, "翻墙人员已被控制", now=t + dt.timedelta(seconds=900)
    )
    assert (alarm.seconds_to_acknowledge, alarm.seconds_to_close) == (12, 900)
    assert alarm.dispatched_to == site["guard"] and alarm.police_report.report_number == "110-1"
    assert list(alarm.steps.values_list("step", flat=True)) == [
        "raised",
        "acknowledged",
        "dispatched",
        "on_site",
        "reported",
        "closed",
    ]


@pytest.mark.parametrize(
    "step",
    [
        lambda site, a: s.dispatch(site["operator"], a, site["guard"]),
        lambda site, a: s.arrive(site["operator"], a),
        lambda site, a: s.close(site["operator"], a, c.CloseCause.TEST, "测试"),
    ],
)
def test_steps_out_of_order_are_refused_with_the_current_status(site, step):
    ingest(site["detector"])
    alarm = Alarm.objects.get()
    with pytest.raises(s.AlarmConflict, match="待确认"):
        step(site, alarm)
    assert Alarm.objects.get().status == c.Status.NEW


def test_the_second_of_two_operators_acknowledging_is_told_who_did(site):
    ingest(site["detector"])
    other = f.user_with(Role.DUTY_OPERATOR, compound=site["cx"], username="李值班")
    seen_by_first = Alarm.objects.get()
    seen_by_second = Alarm.objects.get()
    s.acknowledge(other, seen_by_first)
    with pytest.raises(s.AlarmConflict, match="李值班"):
        s.acknowledge(site["operator"], seen_by_second)
    assert Alarm.objects.get().acknowledged_by == other
    assert AlarmStep.objects.filter(step=c.Step.ACKNOWLEDGED).count() == 1


def test_closing_needs_a_cause_and_a_note(site):
    ingest(site["detector"])
    alarm = s.acknowledge(site["operator"], Alarm.objects.get())
    with pytest.raises(ValidationError) as err:
        s.close(site["operator"], alarm, "", " ")
    assert set(err.value.message_dict) == {"cause", "note"}


def test_only_a_guard_of_the_compound_can_be_dispatched(site):
    ingest(site["detector"])
    alarm = s.acknowledge(site["operator"], Alarm.objects.get())
    with pytest.raises(ValidationError):
        s.dispatch(site["operator"], alarm, site["outsider"])


def test_operators_of_other_compounds_are_refused(site):
    ingest(site["detector"])
    alarm = Alarm.objects.get()
    with pytest.raises(PermissionDenied):
        s.acknowledge(site["outsider"], alarm)
    with pytest.raises(PermissionDenied):
        s.acknowledge(site["guard"], alarm)  # a guard is sent, but does not run the queue
    assert Alarm.objects.get().status == c.Status.NEW


def test_police_report_is_validated_and_recorded_once(site):
    ingest(site["detector"])
    alarm = Alarm.objects.get()
    with pytest.raises(s.AlarmConflict):
        s.report_to_police(site["operator"], alarm, means=c.ReportMeans.PHONE_110, reported_at=timezone.now())
    alarm = s.acknowledge(site["operator"], alarm)
    with pytest.raises(ValidationError) as err:
        s.report_to_police(site["operator"], alarm, means="fax", reported_at=timezone.now() + dt.timedelta(hours=1))
    assert set(err.value.message_dict) == {"means", "reported_at"}
    s.report_to_police(site["operator"], alarm, means=c.ReportMeans.PHONE_110, reported_at=timezone.now())
    with pytest.raises(s.AlarmConflict):
        s.report_to_police(site["operator"], alarm, means=c.ReportMeans.PHONE_110, reported_at=timezone.now())


def test_unacknowledged_alarms_escalate_once_per_interval(site):
    ingest(site["detector"])
    alarm = Alarm.objects.get()
    t = alarm.raised_at
    step = dt.timedelta(seconds=c.DEFAULT_ESCALATE_AFTER_SECONDS)
    assert s.escalate_due(now=t + step - dt.timedelta(seconds=1)) == []
    assert [a.escalation_level for a in s.escalate_due(now=t + step)] == [1]
    assert s.escalate_due(now=t + step + dt.timedelta(seconds=5)) == []
    assert [a.escalation_level for a in s.escalate_due(now=t + 2 * step)] == [2]
    s.acknowledge(site["operator"], alarm)
    assert s.escalate_due(now=t + 5 * step) == []
