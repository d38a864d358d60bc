"""Compound report page and JSON: login, scope both ways, content per article."""

from __future__ import annotations

import pytest
from django.urls import reverse

from anfang.compliance.models import Assessment
from anfang.compliance.services import assess
from anfang.compounds.models import Compound, DutyRoom
from anfang.core.choices import Role
from tests import factories as f

from .builders import exemplary

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(world):
    s = exemplary(world, "示范小区")
    DutyRoom.objects.filter(compound=s.compound).update(area_m2="19.9")
    assess(None, Compound.objects.filter(pk=s.compound.pk))
    return s


def login(client, role, **scope):
    user = f.user_with(role, **scope)
    client.force_login(user)
    return user


def test_login_required(client, site):
    url = reverse("compliance:compound_report", args=[site.compound.pk])
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get(reverse("compliance:compound_json", args=[site.compound.pk])).status_code == 302


def test_manager_sees_report_with_articles_evidence_and_remedy(client, site, world):
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_x"])
    html = client.get(reverse("compliance:compound_report", args=[site.compound.pk])).content.decode()
    assert "第15条" in html and "Art. 15" in html and "第33条第2项" in html
    assert "南门值班室 面积19.9㎡，不足20㎡" in html
    assert "在主出入口设立不少于20平方米的治安值班室" in html  # remedy of the failing rule
    assert "finding-fail" in html
    assert "值班/维护模块尚未建立" in html


def test_other_company_and_other_station_get_404(client, site, world):
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_y"])
    assert client.get(reverse("compliance:compound_report", args=[site.compound.pk])).status_code == 404
    assert client.get(reverse("compliance:compound_json", args=[site.compound.pk])).status_code == 404
    assert client.post(reverse("compliance:compound_assess", args=[site.compound.pk])).status_code == 404
    client.logout()
    login(client, Role.POLICE_STATION, organisation=world["station_b"])
    assert client.get(reverse("compliance:compound_report", args=[site.compound.pk])).status_code == 404


def test_police_of_the_station_sees_it(client, site, world):
    login(client, Role.POLICE_STATION, organisation=world["station_a"])
    assert client.get(reverse("compliance:compound_report", args=[site.compound.pk])).status_code == 200


def test_json_report(client, site, world):
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_x"])
    data = client.get(reverse("compliance:compound_json", args=[site.compound.pk])).json()
    assert data["compound"]["name"] == "示范小区"
    a = data["assessment"]
    assert a["pack"] == {"name": "yingkou_2015", "version": "1.0", "advisory": False}
    assert len(a["snapshot_hash"]) == 64
    by_rule = {x["rule_id"]: x for x in a["findings"]}
    duty = by_rule["yingkou_2015.art15.duty_room"]
    assert (duty["status"], duty["citation"], duty["citation_zh"]) == ("fail", "Art. 15", "第15条")
    assert a["counts"]["fail"] == 1


def test_not_yet_assessed_then_assess_button(client, world):
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_x"])
    url = reverse("compliance:compound_report", args=[world["cx"].pk])
    assert "尚未进行合规评估" in client.get(url).content.decode()
    assert client.get(reverse("compliance:compound_json", args=[world["cx"].pk])).json()["assessment"] is None
    assess_url = reverse("compliance:compound_assess", args=[world["cx"].pk])
    assert client.get(assess_url).status_code == 405
    response = client.post(assess_url)
    assert response.status_code == 302 and response["Location"] == url
    assert Assessment.objects.get(advisory=False).actor.grants.get().role == Role.PROPERTY_MANAGER
    assert "第9条" in client.get(url).content.decode()


def test_second_assessment_shows_what_changed(client, site, world):
    DutyRoom.objects.filter(compound=site.compound).update(area_m2="20.0")
    assess(None, Compound.objects.filter(pk=site.compound.pk))
    login(client, Role.PROPERTY_MANAGER, organisation=world["company_x"])
    html = client.get(reverse("compliance:compound_report", args=[site.compound.pk])).content.decode()
    assert "已整改 1 项" in html and "新增不符合 0 项" in html
