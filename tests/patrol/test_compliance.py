"""Art 10 in the compliance engine: the patrol system in place and in use (30-day completion rate)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anfang.compliance.rulepacks.yingkou_2015 import PATROL_MIN_COMPLETION
from anfang.patrol.compliance_facts import patrol_facts
from anfang.patrol.models import PatrolRun
from anfang.patrol.services import evaluate_due, phone_checkins
from tests.compliance.builders import findings

from .factories import site
from .test_checkins import item

pytestmark = pytest.mark.django_db


def art10(compound):
    found = findings(compound)["art10.patrol"]
    return str(found.status), [str(line) for line in found.evidence]


def walk(s, hours_ago: int, visit: int) -> PatrolRun:
    start = timezone.now() - dt.timedelta(hours=hours_ago)
    run = s.run(start)
    items = [
        item(cp.code, start + dt.timedelta(minutes=5 + 6 * i), run.pk) for i, cp in enumerate(s.checkpoints[:visit])
    ]
    if items:
        phone_checkins(s.guard, items, now=start + dt.timedelta(minutes=40))
    return run


def test_in_place_but_not_used_fails():
    s = site()
    status, evidence = art10(s.compound)
    assert status == "fail"
    assert evidence == ["巡查点4个，路线1条，计划1个", "近30日无巡查任务执行记录"]


def test_used_with_a_good_completion_rate_passes():
    s = site()
    for hours in (30, 50, 70, 90, 110):
        walk(s, hours, 4)
    walk(s, 130, 3)
    evaluate_due()
    facts = patrol_facts([s.compound.pk])[s.compound.pk]
    assert (facts["runs_30d"], facts["closed_30d"], facts["completed_runs_30d"]) == (6, 6, 5)
    assert facts["completion_rate"] == round(23 / 24, 4)
    status, evidence = art10(s.compound)
    assert status == "pass"
    assert evidence[1] == "近30日巡查6次（已结束6次，全部完成5次），巡查点完成率95.8%"


def test_low_completion_rate_fails_with_the_threshold():
    s = site()
    walk(s, 30, 4)
    walk(s, 50, 1)
    walk(s, 70, 0)
    evaluate_due()
    status, evidence = art10(s.compound)
    assert status == "fail" and PATROL_MIN_COMPLETION == 0.8
    assert evidence[-1] == "完成率低于80%" and "巡查点完成率41.7%" in evidence[1]


def test_only_open_runs_is_unknown():
    s = site()
    s.run(timezone.now() - dt.timedelta(minutes=5))
    status, evidence = art10(s.compound)
    assert status == "unknown" and "完成率暂无" in evidence[1]


def test_runs_older_than_30_days_do_not_count():
    s = site()
    walk(s, 24 * 31, 4)
    evaluate_due()
    assert art10(s.compound)[0] == "fail"


def test_no_patrol_module_data_falls_back_to_the_device_registry():
    from tests import factories as f

    compound = f.CompoundFactory()
    assert patrol_facts([compound.pk]) == {}
    assert art10(compound)[0] == "unknown"
