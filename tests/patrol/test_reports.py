"""Patrol reports (Art 10): the figures per guard / route / team / compound and per day / month,
and the downloads — a valid .xlsx and PDF, each export written to the access audit (the reports
name guards: personal data, Art 33(5)), scoped to what the user may see."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from anfang.audit.models import AuditEntry
from anfang.core.choices import Role
from anfang.patrol import reports, services
from anfang.patrol.models import PatrolException, PatrolRun
from anfang.patrol.schedule import LOCAL
from tests import factories as f
from tests.patrol.factories import site, team

pytestmark = pytest.mark.django_db


def walk(s, start: dt.datetime, codes: list[str], *, guard=None, minutes_apart: int = 6) -> PatrolRun:
    """A run of the site's route at `start` (local), walked by reading `codes` in order, then closed."""
    guard = guard or s.guard
    run = s.run(start, guard=guard)
    items = [
        {
            "client_id": f"{run.pk}-{i}",
            "code": code,
            "occurred_at": (start + dt.timedelta(minutes=2 + minutes_apart * i)).isoformat(),
            "run_id": run.pk,
        }
        for i, code in enumerate(codes)
    ]
    if items:
        services.phone_checkins(guard, items, now=start + dt.timedelta(minutes=50))
    services.evaluate_due(now=start + dt.timedelta(hours=2))
    run.refresh_from_db()
    return run


@pytest.fixture
def month(world):
    """In March 2026 at 安居花园: guard A walks two full rounds, guard B one with a checkpoint missed
    and one not at all; one exception reported; company Y's compound has a run of its own."""
    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr")
    a = f.user_with(Role.GUARD, compound=world["cx"], username="guard.a")
    a.first_name = "张伟"
    a.save()
    b = f.user_with(Role.GUARD, compound=world["cx"], username="guard.b")
    b.first_name = "李强"
    b.save()
    s = site(compound=world["cx"], guard=a, prefix="X")
    full = ["X-1", "X-2", "X-3", "X-4"]
    now = dt.datetime(2026, 3, 31, 12, tzinfo=LOCAL)
    runs = [
        walk(s, dt.datetime(2026, 3, 2, 22, tzinfo=LOCAL), full),
        walk(s, dt.datetime(2026, 3, 3, 22, tzinfo=LOCAL), full),
        walk(s, dt.datetime(2026, 3, 4, 22, tzinfo=LOCAL), ["X-1", "X-2", "X-4"], guard=b),
        walk(s, dt.datetime(2026, 3, 5, 22, tzinfo=LOCAL), [], guard=b),
    ]
    PatrolException.objects.create(
        run=runs[2],
        compound=world["cx"],
        guard=b,
        at=dt.datetime(2026, 3, 4, 22, 10, tzinfo=LOCAL),
        kind="facility",
        note="灯坏",
    )
    other = site(compound=world["cy"], prefix="Y")
    walk(other, dt.datetime(2026, 3, 2, 22, tzinfo=LOCAL), ["Y-1"])
    return {"manager": manager, "a": a, "b": b, "site": s, "runs": runs, "now": now, **world}


def test_statuses_of_the_month(month):
    assert [r.status for r in month["runs"]] == ["completed", "completed", "incomplete", "missed"]


def test_report_per_guard_per_month(month):
    compounds = [month["cx"].pk]
    built = reports.build(
        PatrolRun.objects.filter(compound_id__in=compounds),
        PatrolException.objects.filter(compound_id__in=compounds),
        by="guard",
        period="month",
        since=dt.date(2026, 3, 1),
        until=dt.date(2026, 3, 31),
    )
    by_name = {row.name: row for row in built.rows}
    a, b = by_name["张伟"], by_name["李强"]
    assert (a.runs, a.completed, a.read_points, a.expected_points, a.completion_rate) == (2, 2, 8, 8, 1.0)
    assert (b.runs, b.incomplete, b.missed, b.read_points, b.expected_points) == (2, 1, 1, 3, 8)
    assert b.completion_rate == 3 / 8 and b.run_completion_rate == 0.0 and b.exceptions == 1
    assert a.period == b.period == dt.date(2026, 3, 1)
    assert built.total.runs == 4 and built.total.completion_rate == 11 / 16


def test_report_per_day_and_per_route_and_team(month, world):
    runs = PatrolRun.objects.filter(compound=month["cx"])
    exceptions = PatrolException.objects.filter(compound=month["cx"])
    daily = reports.build(
        runs, exceptions, by="route", period="day", since=dt.date(2026, 3, 1), until=dt.date(2026, 3, 31)
    )
    assert [(r.period, r.completed, r.incomplete, r.missed) for r in daily.rows] == [
        (dt.date(2026, 3, 2), 1, 0, 0),
        (dt.date(2026, 3, 3), 1, 0, 0),
        (dt.date(2026, 3, 4), 0, 1, 0),
        (dt.date(2026, 3, 5), 0, 0, 1),
    ]
    assert daily.rows[2].exceptions == 1 and daily.rows[0].name.endswith("X线")
    patrol_team = team(world["company_x"], [month["cx"]], [month["a"]], name="安居保安队")
    runs.filter(guard=month["a"]).update(team=patrol_team)
    by_team = reports.build(
        runs, exceptions, by="team", period="month", since=dt.date(2026, 3, 1), until=dt.date(2026, 3, 31)
    )
    assert {r.name: r.runs for r in by_team.rows} == {"安居保安队": 2, "（未指定）": 2}


def test_report_page_is_scoped_and_has_an_empty_state(client, month):
    client.force_login(month["manager"])
    page = client.get(
        reverse("patrol:report"), {"by": "compound", "since": "2026-03-01", "until": "2026-03-31"}
    ).content.decode()
    assert "安居花园" in page and "乐家小区" not in page and "68.8%" in page  # 11 of 16 checkpoints
    page = client.get(reverse("patrol:report"), {"since": "2025-01-01", "until": "2025-01-31"}).content.decode()
    assert "所选期间没有巡查任务。" in page
    page = client.get(reverse("patrol:report"), {"since": "2026-03-31", "until": "2026-03-01"}).content.decode()
    assert "结束日期不能早于开始日期。" in page


def test_excel_download_is_a_workbook_and_is_audited(client, month):
    client.force_login(month["manager"])
    before = AuditEntry.objects.filter(action="export", object_type="patrol.report").count()
    response = client.get(reverse("patrol:report_xlsx"), {"by": "guard", "since": "2026-03-01", "until": "2026-03-31"})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    summary, detail = wb.worksheets
    names = [row[0] for row in summary.iter_rows(values_only=True)]
    assert "张伟" in names and "李强" in names and "合计" in names
    assert detail.max_row == 1 + 4  # header + the four runs of 安居花园, none of 乐家小区
    assert {row[4] for row in detail.iter_rows(min_row=2, values_only=True)} == {"张伟", "李强"}
    entry = AuditEntry.objects.filter(action="export", object_type="patrol.report").latest("seq")
    assert AuditEntry.objects.filter(action="export", object_type="patrol.report").count() == before + 1
    assert entry.actor_id == month["manager"].pk and entry.detail["format"] == "xlsx"


def test_pdf_download_is_a_pdf_and_is_audited(client, month):
    client.force_login(month["manager"])
    response = client.get(
        reverse("patrol:report_pdf"), {"by": "route", "period": "day", "since": "2026-03-01", "until": "2026-03-31"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    entry = AuditEntry.objects.filter(action="export", object_type="patrol.report").latest("seq")
    assert entry.detail["format"] == "pdf" and entry.detail["by"] == "route"


def test_downloads_refused_to_guards(client, month):
    client.force_login(month["a"])
    assert client.get(reverse("patrol:report_xlsx")).status_code == 403
    assert client.get(reverse("patrol:report_pdf")).status_code == 403
    assert not AuditEntry.objects.filter(object_type="patrol.report").exists()


def test_default_span_is_this_month(client, month):
    client.force_login(month["manager"])
    response = client.get(reverse("patrol:report"))
    today = timezone.now().astimezone(LOCAL).date()
    assert response.context["report"].since == today.replace(day=1) and response.context["report"].until == today
