"""The Excel pages: scope (404 out of sight, 403 visible but read-only), police export only."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.urls import reverse

from anfang.compounds import models as m
from anfang.core.choices import Role
from tests import factories as f

from .helpers import upload, valid_sheets, workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(world):
    return f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x")


@pytest.fixture
def officer(world):
    return f.user_with(Role.POLICE_STATION, organisation=world["station_a"], username="officer-a")


def as_user(client, user):
    client.force_login(user)
    return client


def test_urls():
    assert reverse("compounds:import") == "/compounds/import/"
    assert reverse("compounds:import_template") == "/compounds/import/template.xlsx"
    assert reverse("compounds:import_into", args=[3]) == "/compounds/3/import/"
    assert reverse("compounds:export", args=[3]) == "/compounds/3/export.xlsx"


def test_pages_need_login(client, world):
    for url in (reverse("compounds:import_template"), reverse("compounds:export", args=[world["cx"].pk])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_template_download(client, manager):
    response = as_user(client, manager).get(reverse("compounds:import_template"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"] and ".xlsx" in response["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    assert "小区" in wb.sheetnames and "设备" in wb.sheetnames


def test_police_can_export_a_compound_they_see(client, world, officer):
    f.BuildingFactory(compound=world["cx"], name="1号楼")
    response = as_user(client, officer).get(reverse("compounds:export", args=[world["cx"].pk]))
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    assert wb["楼栋"]["A2"].value == "1号楼"
    assert wb["小区"]["A2"].value == world["cx"].name


def test_police_cannot_import(client, world, officer):
    client = as_user(client, officer)
    assert client.get(reverse("compounds:import")).status_code == 403
    assert client.get(reverse("compounds:import_into", args=[world["cx"].pk])).status_code == 403
    content = workbook({"楼栋": [{"名称": "警察楼"}]})
    response = client.post(reverse("compounds:import_into", args=[world["cx"].pk]), {"file": upload(content)})
    assert response.status_code == 403
    assert not m.Building.objects.filter(name="警察楼").exists()


def test_out_of_scope_compound_is_404(client, world, manager, officer):
    cy = world["cy"]  # company Y, station B: neither sees it
    for user in (manager, officer):
        client = as_user(client, user)
        assert client.get(reverse("compounds:export", args=[cy.pk])).status_code == 404
        assert client.get(reverse("compounds:import_into", args=[cy.pk])).status_code == 404
        response = client.post(reverse("compounds:import_into", args=[cy.pk]), {"file": upload(b"x")})
        assert response.status_code == 404


def test_upload_with_errors_lists_every_cell(client, manager):
    sheets = valid_sheets()
    sheets["楼栋"][1]["层数"] = "六层"
    sheets["设备"][0]["车牌识别"] = "可以"
    response = as_user(client, manager).post(reverse("compounds:import"), {"file": upload(workbook(sheets))})
    assert response.status_code == 200
    page = response.content.decode()
    assert "未导入任何内容" in page
    for text in ("工作表", "原因", "楼栋", "层数", "六层", "设备", "车牌识别", "可以"):
        assert text in page
    assert len(response.context["result"].issues) == 2
    assert not m.Compound.objects.filter(name="新华小区").exists()


def test_upload_creates_compound_and_shows_counts(client, manager):
    response = as_user(client, manager).post(reverse("compounds:import"), {"file": upload(workbook(valid_sheets()))})
    assert response.status_code == 200
    compound = m.Compound.objects.get(name="新华小区")
    page = response.content.decode()
    assert "导入成功" in page and compound.get_absolute_url() in page
    assert response.context["result"].counts["楼栋"].created == 2


def test_upload_into_compound(client, world, manager):
    url = reverse("compounds:import_into", args=[world["cx"].pk])
    client = as_user(client, manager)
    assert client.get(url).status_code == 200
    response = client.post(url, {"file": upload(workbook({"楼栋": [{"名称": "5号楼", "层数": 5}]}))})
    assert response.status_code == 200 and "导入成功" in response.content.decode()
    assert m.Building.objects.get(compound=world["cx"], name="5号楼").floors == 5


def test_non_xlsx_upload_is_refused_on_the_page(client, manager):
    response = as_user(client, manager).post(reverse("compounds:import"), {"file": upload(b"a,b\n1,2\n", "x.csv")})
    assert response.status_code == 200
    assert ".xlsx" in response.content.decode()
    assert not response.context["result"].ok


def test_new_compound_for_another_company_is_403_on_the_page(client, manager):
    sheets = valid_sheets()
    sheets["小区"][0]["物业服务企业"] = "乐家物业"
    response = as_user(client, manager).post(reverse("compounds:import"), {"file": upload(workbook(sheets))})
    assert response.status_code == 403
    assert "负责的组织范围" in response.content.decode()
    assert not m.Compound.objects.filter(name="新华小区").exists()
