"""Compound report pages: the advisory part apart from the articles, re-assessing runs every pack,
the history with its trend, the diff of two assessments — each scoped both ways."""

from __future__ import annotations

import pytest
from django.urls import reverse

from anfang.compliance.engine import get_pack
from anfang.compliance.models import Assessment, CompoundAssessment
from anfang.compliance.services import assess, history
from anfang.compounds.models import Compound, DutyRoom
from anfang.core.choices import Role
from tests import factories as f

from .builders import exemplary

pytestmark = pytest.mark.django_db

ADVISORY_HEADING = "参考性评估（国家标准，不计入违规）"
NA_REMEDY = "由社区建立专职巡防队伍"  # remedy of art6.patrol_team, not applicable on a managed compound
ADVISORY_FAIL_REMEDY = "在监控中心安装紧急报警装置"  # remedy of the failing jgj16.centre_alarm


@pytest.fixture
def site(world):
    s = exemplary(world, "示范小区")
    set_duty_area(s, "19.9")  # Art 15 fails
    return s


def set_duty_area(site, area: str) -> CompoundAssessment:
    DutyRoom.objects.filter(compound=site.compound).update(area_m2=area)
    assess(None, Compound.objects.filter(pk=site.compound.pk))
    return history(site.compound).first()


def assess_advisory(site) -> None:
    assess(None, Compound.objects.filter(pk=site.compound.pk), get_pack("gb_advisory"))


def login(client, role, **scope):
    user = f.user_with(role, **scope)
    client.force_login(user)
    return user


def page(client, name: str, compound, query: str = "") -> tuple[int, str]:
    response = client.get(reverse(f"compliance:{name}", args=[compound.pk]) + query)
    return response.status_code, response.content.decode()


# ---------------------------------------------------------------- advisory part


def test_advisory_findings_are_shown_after_the_articles_and_not_counted(client, site, world):
    assess_advisory(site)
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_x"])
    status, html = page(client, "compound_report", site.compound)
    assert status == 200
    assert html.index(ADVISORY_HEADING) > html.index('id="art-33')  # after the last article block
    advisory = html[html.index(ADVISORY_HEADING) :]
    assert "JGJ 16-2008 第" in advisory and "GB 55029-2022 第" in advisory  # the standard's clause
    assert ADVISORY_FAIL_REMEDY in advisory
    assert "监控中心" in advisory  # excerpt / evidence of the advisory rules
    articles = html[: html.index(ADVISORY_HEADING)]
    assert ADVISORY_FAIL_REMEDY not in articles
    # The summary counts only the mandatory pack's single failure (Art 15), not the advisory one.
    assert '<span class="finding-badge finding-fail">不符合 1</span>' in articles


def test_no_advisory_part_without_an_advisory_assessment(client, site, world):
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_x"])
    assert ADVISORY_HEADING not in page(client, "compound_report", site.compound)[1]


def test_no_remedy_for_not_applicable_findings_but_for_failures(client, site, world):
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_x"])
    html = page(client, "compound_report", site.compound)[1]
    assert NA_REMEDY not in html
    assert "在主出入口设立不少于20平方米的治安值班室" in html


def test_json_lists_advisory_apart(client, site, world):
    assess_advisory(site)
    login(client, Role.POLICE_STATION, organisation=world["station_a"])
    data = client.get(reverse("compliance:compound_json", args=[site.compound.pk])).json()
    assert data["assessment"]["counts"]["fail"] == 1
    assert data["assessment"]["pack"]["advisory"] is False
    [advisory] = data["advisory"]
    assert advisory["pack"]["name"] == "gb_advisory" and advisory["pack"]["advisory"] is True
    alarm = next(x for x in advisory["findings"] if x["rule_id"].endswith("centre_alarm"))
    assert alarm["status"] == "fail" and alarm["citation_zh"].startswith("JGJ 16-2008 第")
    assert ADVISORY_FAIL_REMEDY in alarm["remedy"]
    assert all(x["remedy"] == "" for x in advisory["findings"] if x["status"] == "pass")


def test_reassess_runs_the_advisory_pack_too(client, site, world):
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_x"])
    response = client.post(reverse("compliance:compound_assess", args=[site.compound.pk]))
    assert response.status_code == 302
    assert set(Assessment.objects.values_list("pack_name", "advisory")) == {
        ("yingkou_2015", False),
        ("gb_advisory", True),
    }
    assert ADVISORY_HEADING in page(client, "compound_report", site.compound)[1]


def test_guard_sees_the_report_but_may_not_reassess(client, site, world):
    login(client, Role.GUARD, organisation=world["company_x"])
    status, html = page(client, "compound_report", site.compound)
    assert status == 200 and "重新评估" not in html
    before = Assessment.objects.count()
    assert client.post(reverse("compliance:compound_assess", args=[site.compound.pk])).status_code == 403
    assert Assessment.objects.count() == before


def test_guard_grant_elsewhere_does_not_let_a_manager_reassess(client, world):
    user = login(client, Role.PROPERTY_MANAGER, organisation=world["company_x"])
    user.grants.create(role=Role.GUARD, organisation=world["company_y"])
    status, html = page(client, "compound_report", world["cy"])
    assert status == 200 and "重新评估" not in html
    assert client.post(reverse("compliance:compound_assess", args=[world["cy"].pk])).status_code == 403
    assert client.post(reverse("compliance:compound_assess", args=[world["cx"].pk])).status_code == 302
    assert set(CompoundAssessment.objects.values_list("compound_id", flat=True)) == {world["cx"].pk}


# ---------------------------------------------------------------- history


def test_history_lists_assessments_with_counts_and_trend(client, site, world):
    first = history(site.compound).first()
    second = set_duty_area(site, "20.0")
    assess_advisory(site)  # advisory results are not part of the mandatory history
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_x"])
    status, html = page(client, "compound_history", site.compound)
    assert status == 200
    assert html.count("yingkou_2015 1.0") == 2 and "gb_advisory" not in html
    assert second.snapshot_hash[:12] in html and first.snapshot_hash[:12] in html
    assert "<svg" in html and "<polyline" in html
    diff_url = reverse("compliance:compound_diff", args=[site.compound.pk]) + f"?a={first.pk}&amp;b={second.pk}"
    assert diff_url in html


def test_history_without_assessments_and_with_one(client, world):
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_x"])
    status, html = page(client, "compound_history", world["cx"])
    assert status == 200 and "尚未进行合规评估" in html
    assess(None, Compound.objects.filter(pk=world["cx"].pk))
    html = page(client, "compound_history", world["cx"])[1]
    assert "yingkou_2015 1.0" in html and "<svg" not in html  # one point is no trend


def test_report_links_history_and_diff(client, site, world):
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_x"])
    html = page(client, "compound_report", site.compound)[1]
    assert reverse("compliance:compound_history", args=[site.compound.pk]) in html
    assert reverse("compliance:compound_diff", args=[site.compound.pk]) not in html  # one assessment
    set_duty_area(site, "20.0")
    html = page(client, "compound_report", site.compound)[1]
    assert reverse("compliance:compound_diff", args=[site.compound.pk]) in html


# ---------------------------------------------------------------- diff


def test_diff_defaults_to_the_last_two_and_shows_fixed_with_evidence(client, site, world):
    set_duty_area(site, "20.0")
    login(client, Role.POLICE_STATION, organisation=world["station_a"])
    status, html = page(client, "compound_diff", site.compound)
    assert status == 200
    fixed = html[html.index('id="diff-fixed"') : html.index('id="diff-still"')]
    assert "第15条" in fixed and "南门值班室" in fixed
    new = html[html.index('id="diff-new"') : html.index('id="diff-fixed"')]
    assert "第15条" not in new


def test_diff_by_ids_new_and_still_failing(client, site, world):
    ok = set_duty_area(site, "20.0")
    bad = set_duty_area(site, "19.9")
    again = set_duty_area(site, "19.9")
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_x"])
    html = page(client, "compound_diff", site.compound, f"?a={ok.pk}&b={bad.pk}")[1]
    new = html[html.index('id="diff-new"') : html.index('id="diff-fixed"')]
    assert "第15条" in new and "面积19.9㎡，不足20㎡" in new and "在主出入口设立" in new
    html = page(client, "compound_diff", site.compound, f"?a={bad.pk}&b={again.pk}")[1]
    still = html[html.index('id="diff-still"') :]
    assert "第15条" in still and "面积19.9㎡，不足20㎡" in still


def test_diff_needs_two_and_own_ids(client, site, world):
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_x"])
    status, html = page(client, "compound_diff", site.compound)
    assert status == 200 and "至少需要两次评估" in html
    other = exemplary(world, "另一小区")
    assess(None, Compound.objects.filter(pk=other.compound.pk))
    foreign = history(other.compound).first()
    own = history(site.compound).first()
    assert page(client, "compound_diff", site.compound, f"?a={foreign.pk}&b={own.pk}")[0] == 404
    assert page(client, "compound_diff", site.compound, "?a=x&b=1")[0] == 404
    assess_advisory(site)
    advisory = CompoundAssessment.objects.get(assessment__advisory=True)
    assert page(client, "compound_diff", site.compound, f"?a={advisory.pk}&b={own.pk}")[0] == 404


# ---------------------------------------------------------------- scope, both ways


@pytest.mark.parametrize("name", ["compound_report", "compound_history", "compound_diff"])
def test_login_required(client, site, name):
    response = client.get(reverse(f"compliance:{name}", args=[site.compound.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("name", ["compound_report", "compound_history", "compound_diff"])
@pytest.mark.parametrize(
    ("role", "org", "allowed"),
    [
        (Role.PROPERTY_MANAGER, "company_x", True),
        (Role.PROPERTY_MANAGER, "company_y", False),
        (Role.POLICE_STATION, "station_a", True),
        (Role.POLICE_STATION, "station_b", False),
        (Role.POLICE_DISTRICT, "district", True),
    ],
)
def test_scope_both_ways(client, site, world, name, role, org, allowed):
    login(client, role, organisation=world[org])
    assert page(client, name, site.compound)[0] == (200 if allowed else 404)


def test_manager_of_another_company_cannot_reassess(client, site, world):
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_y"])
    assert client.post(reverse("compliance:compound_assess", args=[site.compound.pk])).status_code == 404
