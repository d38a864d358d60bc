"""The police view (Art 16, 34): only police (and platform admins), only their jurisdiction;
response-time figures per station and compound computed in the database; slow and missing
acknowledgements; drill-down; Excel export."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from anfang.alarms import choices as ac
from anfang.alarms import police as p
from anfang.alarms.models import PoliceReport
from anfang.core.choices import Role
from anfang.events import choices as ec
from tests import factories as f
from tests.duty.test_records import alarm, at, minutes

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 24)
NOW = at(30)  # the next day 06:00
PERIOD = p.Filters(DAY - dt.timedelta(days=6), DAY, ack_minutes=5)


@pytest.fixture
def city(world):
    """cx (station A): quick; cu (station A): one alarm never acknowledged, one slow; cy (station B): reported."""
    reporter = f.user_with(Role.DUTY_OPERATOR, compound=world["cy"], username="li.y")
    dx, du, dy = (f.DeviceFactory(compound=world[k]) for k in ("cx", "cu", "cy"))
    t = at(10)
    alarm(dx, t, ack=minutes(t, 1), close=minutes(t, 10), cause=ac.CloseCause.FALSE_ALARM)
    alarm(dx, t, ack=minutes(t, 2), close=minutes(t, 20), cause=ac.CloseCause.FALSE_ALARM)
    alarm(dx, t, ack=minutes(t, 3), close=minutes(t, 30), cause=ac.CloseCause.TEST, kind=ec.EventKind.TAMPER)
    alarm(du, t)  # never acknowledged: missing
    alarm(du, t, ack=minutes(t, 12))  # slow
    alarm(du, t, ack=minutes(t, 90), stale=True)  # replayed: counted, not timed, not slow
    real = alarm(dy, t, ack=minutes(t, 1), close=minutes(t, 40), cause=ac.CloseCause.REAL_INCIDENT)
    PoliceReport.objects.create(
        alarm=real,
        reported_at=minutes(t, 4),
        means=ac.ReportMeans.PHONE_110,
        report_number="JJ-77",
        reported_by=reporter,
    )
    alarm(dx, at(10, DAY - dt.timedelta(days=30)))  # outside the period
    return {
        **world,
        "police_a": f.user_with(Role.POLICE_STATION, world["station_a"], username="police.a"),
        "police_district": f.user_with(Role.POLICE_DISTRICT, world["district"], username="police.d"),
        "manager_x": f.user_with(Role.PROPERTY_MANAGER, world["company_x"], username="manager.x"),
        "operator_x": f.user_with(Role.DUTY_OPERATOR, compound=world["cx"], username="op.x"),
        "real": real,
    }


def test_station_police_see_their_stations_compounds_only(city):
    compounds = p.jurisdiction(city["police_a"])
    assert set(compounds) == {city["cx"], city["cu"]}
    assert set(p.jurisdiction(city["police_district"])) == {city["cx"], city["cu"], city["cy"]}
    assert not p.jurisdiction(city["manager_x"]).exists()  # a manager grant is not a police grant


def test_figures_per_station_and_compound(city):
    compounds = p.jurisdiction(city["police_district"])
    total = p.overall(compounds, PERIOD, NOW)
    assert (total.n_alarms, total.n_stale, total.n_reported, total.n_real) == (7, 1, 1, 1)
    assert (total.n_slow, total.n_missing) == (1, 1)
    # timed acknowledgements: 1, 2, 3, 12, 1 minutes (the stale one and the missing one left out)
    assert total.ack_median == pytest.approx(120) and total.ack_p90 == pytest.approx(180 + 0.6 * (720 - 180))
    assert total.report_median == pytest.approx(240)
    stations = {s.name: s for s in p.by_station(compounds, PERIOD, NOW)}
    assert stations[city["station_a"].name].n_alarms == 6 and stations[city["station_b"].name].n_reported == 1
    rows = p.by_compound(compounds, PERIOD, NOW)
    assert rows[0].name == city["cu"].name  # the late one first
    slow = p.slow_compounds(rows)
    assert [(r.name, r.n_slow, r.n_missing) for r in slow] == [(city["cu"].name, 1, 1)]
    assert slow[0].oldest_unacknowledged == at(10)


def test_a_longer_threshold_forgives_the_slow_one(city):
    compounds = p.jurisdiction(city["police_district"])
    relaxed = p.Filters(PERIOD.start, PERIOD.end, ack_minutes=15)
    total = p.overall(compounds, relaxed, NOW)
    assert (total.n_slow, total.n_missing) == (0, 1)


def test_kind_and_station_filters(city):
    compounds = p.jurisdiction(city["police_district"])
    tamper = p.Filters(PERIOD.start, PERIOD.end, kind=ec.EventKind.TAMPER)
    assert p.overall(compounds, tamper, NOW).n_alarms == 1
    station_b = p.Filters(PERIOD.start, PERIOD.end, station_id=city["station_b"].pk)
    assert p.overall(compounds, station_b, NOW).n_alarms == 1


def test_dashboard_page_for_police_and_forbidden_to_others(client, city):
    url = reverse("police_alarms:dashboard")
    query = {"start": PERIOD.start.isoformat(), "end": PERIOD.end.isoformat(), "ack_minutes": 5}
    client.force_login(city["police_a"])
    response = client.get(url, query)
    html = response.content.decode()
    assert response.status_code == 200
    assert city["cu"].name in html and city["cy"].name not in html and "JJ-77" not in html
    assert [s.name for s in response.context["slow"]] == [city["cu"].name]
    client.force_login(city["police_district"])
    assert "JJ-77" in client.get(url, query).content.decode()
    for who in ("manager_x", "operator_x"):
        client.force_login(city[who])
        for target in (url, reverse("police_alarms:export"), reverse("police_alarms:compound", args=[city["cx"].pk])):
            assert client.get(target).status_code == 403, (who, target)


def test_drill_down_to_a_compound_of_the_jurisdiction_only(client, city):
    client.force_login(city["police_a"])
    query = {"start": PERIOD.start.isoformat(), "end": PERIOD.end.isoformat()}
    response = client.get(reverse("police_alarms:compound", args=[city["cu"].pk]), query)
    assert response.status_code == 200
    assert response.context["total"].n_missing == 1
    assert sum(a.late for a in response.context["page"].object_list) == 2  # the missing and the slow one
    assert client.get(reverse("police_alarms:compound", args=[city["cy"].pk]), query).status_code == 404


def test_an_invalid_period_falls_back_with_a_message(client, city):
    client.force_login(city["police_a"])
    response = client.get(reverse("police_alarms:dashboard"), {"start": "2026-11-20", "end": "2026-11-01"})
    assert response.status_code == 200
    assert "截止日期不能早于起始日期。" in response.content.decode()
    assert response.context["f"].days == p.DEFAULT_DAYS


def test_excel_export_of_the_jurisdiction(client, city):
    client.force_login(city["police_a"])
    query = {"start": PERIOD.start.isoformat(), "end": PERIOD.end.isoformat()}
    response = client.get(reverse("police_alarms:export"), query)
    assert response.status_code == 200 and "police-alarms-20261118-20261124.xlsx" in response["Content-Disposition"]
    wb = load_workbook(BytesIO(response.content))
    assert wb.sheetnames == ["向公安报警", "派出所", "小区", "确认超时小区", "说明"]
    assert wb["向公安报警"].max_row == 1  # station B's report is not station A's business
    stations = [row[0] for row in wb["派出所"].iter_rows(min_row=2, values_only=True)]
    assert stations == [city["station_a"].name]
    slow = list(wb["确认超时小区"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[2], r[3]) for r in slow] == [(city["cu"].name, 1, 1)]
    client.force_login(city["police_district"])
    wb = load_workbook(BytesIO(client.get(reverse("police_alarms:export"), query).content))
    report = next(wb["向公安报警"].iter_rows(min_row=2, values_only=True))
    assert report[0] == city["real"].pk and report[7] == 240 and report[9] == "JJ-77"


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("police_alarms:dashboard")).status_code == 200
    return len(ctx.captured_queries)


def test_the_page_costs_the_same_queries_whatever_the_number_of_alarms(client, city):
    client.force_login(city["police_district"])
    few = _queries(client)
    reporter = f.user_with(Role.DUTY_OPERATOR, compound=city["cy"])
    for i in range(25):
        compound = f.CompoundFactory(police_station=city["station_b"])
        a = alarm(f.DeviceFactory(compound=compound), at(1), ack=minutes(at(1), i))
        PoliceReport.objects.create(alarm=a, reported_at=at(2), means=ac.ReportMeans.PHONE_110, reported_by=reporter)
    assert _queries(client) == few
