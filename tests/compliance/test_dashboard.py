"""City / district / station dashboard: scope both ways in every table, drill-down, the run
button's permissions, the Excel export and a query count that does not grow with the city."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from anfang.compliance import dashboard as d
from anfang.compliance.engine import get_pack
from anfang.compliance.models import Assessment, CompoundAssessment
from anfang.compliance.services import assess
from anfang.compounds.models import Compound, DutyRoom
from anfang.core.choices import Role
from tests import factories as f

from .builders import exemplary

pytestmark = pytest.mark.django_db
URL = reverse("compliance:dashboard")
EXPORT = reverse("compliance:dashboard_export")
RUN = reverse("compliance:dashboard_run")


@pytest.fixture
def city(world):
    """The world's three compounds plus an exemplary one at station A (company X) whose duty
    room is 19.9 m² (fails Art 15 only), all assessed once; and one never assessed at station B."""
    site = exemplary(world, "示范小区")
    DutyRoom.objects.filter(compound=site.compound).update(area_m2="19.9")
    assess(None, Compound.objects.all())
    never = f.CompoundFactory(name="未评小区", police_station=world["station_b"], property_company=world["company_y"])
    return {**world, "demo": site.compound, "never": never}


def page(client, user, **params) -> str:
    client.force_login(user)
    response = client.get(URL, params)
    assert response.status_code == 200
    return response.content.decode()


def names(data: d.Dashboard) -> set[str]:
    return {c.name for c in data.compounds}


def test_anonymous_is_sent_to_login(client, city):
    for url in (URL, EXPORT):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(RUN).status_code == 302
    assert Assessment.objects.count() == 1


def test_station_officer_sees_only_their_station(client, city):
    officer_a = f.user_with(Role.POLICE_STATION, organisation=city["station_a"])
    html = page(client, officer_a)
    for name in ("安居花园", "老街小区", "示范小区"):
        assert name in html
    for name in ("乐家小区", "未评小区", "跃进派出所", "站前分局"):
        assert name not in html
    scope = d.scope_of(officer_a)
    assert scope.current.id == city["station_a"].pk and list(scope.nodes) == [city["station_a"].pk]
    data = d.build(officer_a, scope)
    assert names(data) == {"安居花园", "老街小区", "示范小区"}
    assert [s.name for s in data.stations] == ["建设派出所"]
    assert data.never_assessed == 0
    assert sum(a.passed + a.failed + a.unknown + a.not_applicable for a in data.articles if a.article == 15) == 3

    officer_b = f.user_with(Role.POLICE_STATION, organisation=city["station_b"])
    client.logout()
    html = page(client, officer_b)
    assert "乐家小区" in html and "未评小区" in html
    for name in ("安居花园", "老街小区", "示范小区", "建设派出所"):
        assert name not in html
    data = d.build(officer_b, d.scope_of(officer_b))
    assert names(data) == {"乐家小区", "未评小区"} and data.never_assessed == 1


def test_officer_cannot_pick_another_station_or_the_district(client, city):
    client.force_login(f.user_with(Role.POLICE_STATION, organisation=city["station_a"]))
    for org in (city["station_b"], city["district"], city["city"]):
        assert client.get(URL, {"org": org.pk}).status_code == 404
        assert client.get(EXPORT, {"org": org.pk}).status_code == 404
    assert client.get(URL, {"org": "x"}).status_code == 404


def test_property_manager_sees_only_their_company(client, city):
    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=city["company_x"])
    html = page(client, manager)
    assert "安居花园" in html and "示范小区" in html
    assert "老街小区" not in html and "乐家小区" not in html and "未评小区" not in html
    data = d.build(manager, d.scope_of(manager))
    assert names(data) == {"安居花园", "示范小区"}
    assert {s.name for s in data.stations} == {"建设派出所"}
    # stations of their compounds are a filter, the district above is not theirs
    assert client.get(URL, {"org": city["district"].pk}).status_code == 404


def test_district_officer_drills_down(client, city):
    officer = f.user_with(Role.POLICE_DISTRICT, organisation=city["district"])
    html = page(client, officer)
    assert "站前分局" in html and "建设派出所" in html and "跃进派出所" in html
    data = d.build(officer, d.scope_of(officer))
    assert len(data.compounds) == 5 and data.never_assessed == 1
    assert {s.name for s in data.stations} == {"建设派出所", "跃进派出所"}
    html = page(client, officer, org=city["station_b"].pk)
    assert "乐家小区" in html and "安居花园" not in html
    assert f'href="?org={city["district"].pk}"' in html  # the trail leads back up
    data = d.build(officer, d.scope_of(officer, city["station_b"].pk))
    assert names(data) == {"乐家小区", "未评小区"}


def test_figures_per_article_station_and_worst(city):
    admin = f.admin_user()
    data = d.build(admin, d.scope_of(admin, city["station_a"].pk))
    art15 = next(a for a in data.articles if a.article == 15)
    assert art15.citation_zh == "第15条"
    demo = next(c for c in data.compounds if c.name == "示范小区")
    assert demo.failed_articles == ["第15条"]
    assert "第16条" in demo.unknown_articles  # no duty module yet: unknown, never a pass
    assert art15.failed >= 1
    station = data.stations[0]
    assert (station.compounds, station.assessed, station.never_assessed) == (3, 3, 0)
    assert station.rate is not None and 0 < station.rate < 1
    assert all(
        len(a.failed_articles) >= len(b.failed_articles) for a, b in zip(data.worst, data.worst[1:], strict=False)
    )
    assert {"第33条第1项", "第33条第4项"} <= {a.citation_zh for a in data.articles}


def test_advisory_runs_are_not_counted(city):
    admin = f.admin_user()
    before = d.build(admin, d.scope_of(admin))
    assess(None, Compound.objects.all(), get_pack("gb_advisory"))
    after = d.build(admin, d.scope_of(admin))
    assert [(a.citation_zh, a.counts) for a in after.articles] == [(a.citation_zh, a.counts) for a in before.articles]


def test_links_to_compound_report(client, city):
    html = page(client, f.admin_user())
    assert reverse("compliance:compound_report", args=[city["demo"].pk]) in html
    assert "第15条" in html and "<svg" in html


def test_stations_sorted_worst_first(city):
    admin = f.admin_user()
    stations = d.build(admin, d.scope_of(admin)).stations
    rates = [s.rate for s in stations if s.rate is not None]
    assert rates == sorted(rates)


def test_empty_state_with_run_button(client, world):
    officer = f.user_with(Role.POLICE_STATION, organisation=world["station_a"])
    html = page(client, officer)
    assert "尚未进行合规评估" in html and "评估本辖区" in html
    assert "各条款符合率" not in html
    guard = f.user_with(Role.GUARD, organisation=world["company_x"])
    client.logout()
    html = page(client, guard)
    assert "尚未进行合规评估" in html and "评估本辖区" not in html


def test_run_button_assesses_the_scope_and_reports(client, world):
    officer = f.user_with(Role.POLICE_STATION, organisation=world["station_a"])
    client.force_login(officer)
    response = client.post(RUN, {"org": world["station_a"].pk}, follow=True)
    assert response.redirect_chain[-1][0] == f"{URL}?org={world['station_a'].pk}"
    html = response.content.decode()
    assert "已评估 2 个小区" in html and "秒" in html
    run = Assessment.objects.get()
    assert (run.pack_name, run.advisory, run.actor, run.scope_label) == ("yingkou_2015", False, officer, "建设派出所")
    assert set(CompoundAssessment.objects.values_list("compound__name", flat=True)) == {"安居花园", "老街小区"}


def test_manager_runs_for_their_compounds_only(client, world):
    client.force_login(f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_y"]))
    assert client.post(RUN).status_code == 302
    assert list(CompoundAssessment.objects.values_list("compound__name", flat=True)) == ["乐家小区"]
    assert client.post(RUN, {"org": world["station_a"].pk}).status_code == 404


@pytest.mark.parametrize("role", [Role.GUARD, Role.DUTY_OPERATOR])
def test_guards_and_operators_may_not_run(client, world, role):
    client.force_login(f.user_with(role, organisation=world["company_x"]))
    assert client.get(URL).status_code == 200
    assert client.post(RUN).status_code == 403
    assert not Assessment.objects.exists()


def test_run_is_post_only(client, world):
    client.force_login(f.admin_user())
    assert client.get(RUN).status_code == 405


def test_export_workbook(client, city):
    officer = f.user_with(Role.POLICE_STATION, organisation=city["station_a"])
    client.force_login(officer)
    response = client.get(EXPORT)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(BytesIO(response.content))
    assert wb.sheetnames == ["条款符合率", "派出所", "问题小区", "全部小区"]
    articles = [r for r in wb["条款符合率"].iter_rows(min_row=2, values_only=True)]
    assert ("第15条" in {r[0] for r in articles}) and all(r[1] + r[2] + r[3] + r[4] == 3 for r in articles)
    assert [r[0] for r in wb["派出所"].iter_rows(min_row=2, values_only=True)] == ["建设派出所"]
    worst = {r[0]: r for r in wb["问题小区"].iter_rows(min_row=2, values_only=True)}
    assert worst["示范小区"][2] == "第15条" and "乐家小区" not in worst
    everything = list(wb["全部小区"].iter_rows(values_only=True))
    header, rows = everything[0], everything[1:]
    assert sorted(r[0] for r in rows) == ["安居花园", "示范小区", "老街小区"]
    demo = dict(zip(header, next(r for r in rows if r[0] == "示范小区"), strict=True))
    assert demo["第15条"] == "不符合" and demo["第16条"] == "无法判断" and demo["第5条"] == "符合"


def test_export_lists_never_assessed(client, city):
    client.force_login(f.user_with(Role.POLICE_STATION, organisation=city["station_b"]))
    wb = load_workbook(BytesIO(client.get(EXPORT).content))
    rows = {r[0]: r for r in wb["全部小区"].iter_rows(min_row=2, values_only=True)}
    assert rows["未评小区"][2] is None and rows["未评小区"][4] == "未评估"


def _count(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_compounds(client, orgs):
    client.force_login(f.admin_user())
    for i in range(3):
        f.CompoundFactory(name=f"甲{i}", police_station=orgs["station_a"], property_company=orgs["company_x"])
    assess(None, Compound.objects.all())
    three = _count(client)
    for i in range(9):
        f.CompoundFactory(name=f"乙{i}", police_station=orgs["station_b"], property_company=orgs["company_y"])
    assess(None, Compound.objects.all())
    assert Compound.objects.count() == 12
    twelve = _count(client)
    assert three == twelve


def test_nav_link_only_for_users_who_see_a_compound(client, world):
    client.force_login(f.user_with(Role.POLICE_STATION, organisation=world["station_a"]))
    assert f'href="{URL}"' in client.get(reverse("compounds:list")).content.decode()
    lonely = f.OrganisationFactory(name="空物业")
    client.force_login(f.user_with(Role.PROPERTY_MANAGER, organisation=lonely))
    assert f'href="{URL}"' not in client.get(reverse("compounds:list")).content.decode()


def test_run_reaches_only_compounds_of_the_running_role(world):
    """A guard grant on another compound must not let a manager assess it."""
    from anfang.compliance.models import CompoundAssessment
    from anfang.core.choices import Role
    from anfang.core.models import RoleGrant
    from tests import factories as f

    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-guard")
    RoleGrant.objects.create(user=manager, role=Role.GUARD, compound=world["cy"])
    from django.test import Client

    client = Client()
    client.force_login(manager)
    client.post("/compliance/run/")
    assessed = set(CompoundAssessment.objects.values_list("compound__name", flat=True))
    assert assessed == {"安居花园"}
