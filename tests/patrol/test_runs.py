"""Plans → runs, closing due runs, and the alarms on the duty console (Art 10)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from anfang.alarms.choices import PlatformKind
from anfang.alarms.models import Alarm
from anfang.core.choices import Role
from anfang.patrol import choices as c
from anfang.patrol.models import PatrolRun, Plan
from anfang.patrol.services import evaluate_due, generate_runs, phone_checkins, start_run
from tests import factories as f

from .factories import local, site
from .test_checkins import item

pytestmark = pytest.mark.django_db


def test_generation_is_idempotent_and_windows_cross_midnight():
    s = site()
    s.plan.start_times = ["08:00", "23:30"]
    s.plan.weekdays = [0, 2]  # Mon, Wed
    s.plan.save()
    first, last = dt.date(2026, 11, 23), dt.date(2026, 11, 29)  # Mon..Sun
    assert generate_runs(first, last) == 4
    assert generate_runs(first, last) == 0
    runs = list(PatrolRun.objects.order_by("window_start"))
    assert [r.day for r in runs] == [dt.date(2026, 11, 23)] * 2 + [dt.date(2026, 11, 25)] * 2
    night = runs[1]
    assert night.window_start == local(2026, 11, 23, 23, 30) and night.window_end == local(2026, 11, 24, 0, 30)
    assert all(r.guard_id == s.guard.pk and r.expected_count == 4 for r in runs)


def test_generation_respects_validity_and_duty_room_roster():
    from anfang.duty.models import Shift

    s = site()
    room = f.DutyRoomFactory(compound=s.compound)
    operator = f.user_with(Role.GUARD, compound=s.compound)
    Shift.objects.create(
        duty_room=room, operator=operator, starts_at=local(2026, 11, 25, 20), ends_at=local(2026, 11, 26, 8)
    )
    Plan.objects.filter(pk=s.plan.pk).update(
        guard=None, duty_room=room, valid_from=dt.date(2026, 11, 25), valid_to=dt.date(2026, 11, 26)
    )
    assert generate_runs(dt.date(2026, 11, 20), dt.date(2026, 11, 30)) == 2
    runs = list(PatrolRun.objects.order_by("window_start"))
    assert runs[0].guard_id == operator.pk  # on shift at 22:00 on the 25th
    assert runs[1].guard_id is None  # nobody rostered on the 26th: anyone in the compound may take it


def test_start_run_takes_an_unassigned_run_and_refuses_others():
    s = site()
    run = s.run(local(2026, 11, 25, 8, 0), guard=None)
    assert start_run(run, s.guard).guard_id == s.guard.pk
    stranger = f.user_with(Role.GUARD, compound=f.CompoundFactory())
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        start_run(run, stranger)


def test_not_started_then_missed_alarms_each_once_with_a_link():
    s = site()
    run = s.run(local(2026, 11, 25, 8, 0))
    assert evaluate_due(now=local(2026, 11, 25, 8, 10)).not_started_alarms == 0  # still in grace
    summary = evaluate_due(now=local(2026, 11, 25, 8, 20))
    assert summary.not_started_alarms == 1
    assert evaluate_due(now=local(2026, 11, 25, 8, 25)).not_started_alarms == 0  # once
    alarm = Alarm.objects.get(kind=PlatformKind.PATROL_NOT_STARTED)
    assert alarm.compound_id == s.compound.pk and str(run.pk) in alarm.link and s.route.name in alarm.subject
    summary = evaluate_due(now=local(2026, 11, 25, 9, 31))
    assert (summary.closed, summary.missed_alarms) == (1, 1)
    run.refresh_from_db()
    assert run.status == c.RunStatus.MISSED and run.closed_at and run.missed_alarm_id
    missed = Alarm.objects.get(kind=PlatformKind.PATROL_MISSED)
    assert missed.link == alarm.link
    assert evaluate_due(now=local(2026, 11, 25, 9, 45)).closed == 0


def test_incomplete_run_alarm_names_the_missed_count_and_completed_raises_none():
    s = site()
    done = s.run(local(2026, 11, 25, 8, 0))
    half = s.run(local(2026, 11, 25, 10, 0))
    for run, cps, base in ((done, s.checkpoints, 8), (half, s.checkpoints[:3], 10)):
        items = [item(cp.code, local(2026, 11, 25, base, 5 + 6 * i), run.pk) for i, cp in enumerate(cps)]
        phone_checkins(s.guard, items, now=local(2026, 11, 25, base, 40))
    summary = evaluate_due(now=local(2026, 11, 25, 12, 0))
    assert (summary.closed, summary.missed_alarms) == (2, 1)
    done.refresh_from_db()
    half.refresh_from_db()
    assert (done.status, done.score, done.missed_alarm_id) == (c.RunStatus.COMPLETED, 100, None)
    assert (half.status, half.missed_checkpoints, half.score) == (c.RunStatus.INCOMPLETE, [s.checkpoints[3].pk], 75)
    assert "1/4" in Alarm.objects.get(kind=PlatformKind.PATROL_MISSED).subject


def test_command_generates_and_closes(capsys):
    s = site()
    s.plan.start_times = ["00:00"]
    s.plan.save()
    call_command("patrol_evaluate", "--once")
    assert PatrolRun.objects.filter(plan=s.plan).count() == 2  # today and tomorrow
