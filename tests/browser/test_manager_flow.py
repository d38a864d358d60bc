"""A property manager's day in the registry, in a real browser (Debian Chromium via Playwright):
log in, see only their own compounds, open one, add a building, find it in the history.
Screenshots of the list, detail and history pages go to docs/screenshots/."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.conf import settings

from anfang.compounds import models as cm
from anfang.compounds import services
from anfang.core.choices import Role
from anfang.devices import choices as dc
from tests import factories as f
from tests.conftest import require_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"


@pytest.fixture
def registry():
    """Company X runs two compounds, company Y one; X's first compound is filled in."""
    orgs = f.org_tree()
    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=orgs["company_x"], username="wang.li")
    manager.first_name = "王丽"
    manager.save()
    f.user_with(Role.POLICE_STATION, organisation=orgs["station_a"], username="zhao.police")
    home = services.save(
        manager,
        cm.Compound(
            name="安居花园",
            address="营口市站前区建设街88号",
            police_station=orgs["station_a"],
            community=orgs["community"],
            property_company=orgs["company_x"],
            property_contract_ref="AJWY-2023-017",
            households=864,
            year_built=2012,
        ),
    )
    for name, company, address in [
        ("滨海名苑", orgs["company_x"], "营口市站前区渤海大街16号"),
        ("乐家小区", orgs["company_y"], "营口市站前区跃进街3号"),
    ]:
        f.CompoundFactory(name=name, address=address, police_station=orgs["station_b"], property_company=company)
    for i in (1, 2, 3):
        building = services.save(manager, cm.Building(compound=home, name=f"{i}号楼", floors=18))
        for u in (1, 2):
            services.save(
                manager,
                cm.Unit(compound=home, building=building, name=f"{u}单元", households=72, entrance_door_standard=True),
            )
    main_gate = services.save(
        manager, cm.Entrance(compound=home, name="南门", role="main", traffic="mixed", gate_type="electric_sliding")
    )
    services.save(manager, cm.Entrance(compound=home, name="北门", role="secondary", traffic="pedestrian"))
    services.save(
        manager, cm.DutyRoom(compound=home, name="南门值班室", entrance=main_gate, area_m2=24, relation="merged")
    )
    services.save(manager, cm.SecurityTeam(compound=home, name="安居保安队", kind="guard_force", headcount=12))
    services.save(
        manager,
        cm.HouseholdDoorSurvey(
            compound=home,
            name="2024年户门调查",
            surveyed_on=dt.date(2024, 5, 1),
            households_surveyed=864,
            standard_doors=801,
        ),
    )
    f.DeviceFactory(compound=home, name="南门车牌识别", device_type=dc.DeviceType.ANPR_CAMERA, entrance=main_gate)
    return {"home": home, "manager": manager}


@pytest.fixture
def project_static(settings):
    """The project-wide stylesheet lives in anfang/static/, which settings.py must list in
    STATICFILES_DIRS; add it here if it does not yet, so the screenshots show the real look."""
    from django.contrib.staticfiles import finders

    if finders.find("anfang/anfang.css") is None:
        settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, Path(settings.BASE_DIR) / "anfang" / "static"]


@pytest.fixture
def browser_page(monkeypatch, project_static):
    if not os.path.exists(CHROMIUM):
        require_service("chromium", False)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        browser.close()


def test_manager_adds_building_and_finds_it_in_history(live_server, registry, browser_page):
    page = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{live_server.url}/compounds/")
    page.fill("#id_username", "wang.li")
    page.fill("#id_password", "anfang-demo")
    page.click(".login-card button[type=submit]")

    page.wait_for_url(re.compile(r"^[^?]*/compounds/$"))
    # The stylesheet is served and applied (dark top bar).
    assert page.eval_on_selector(".topbar", "e => getComputedStyle(e).backgroundColor") == "rgb(22, 32, 46)"
    table = page.locator("table.table")
    assert table.get_by_text("安居花园").count() == 1
    assert table.get_by_text("滨海名苑").count() == 1
    assert page.get_by_text("乐家小区").count() == 0
    assert page.locator(".who-name").inner_text() == "王丽"
    page.screenshot(path=str(SHOTS / "compound-list.png"), full_page=True)

    page.click("text=安居花园")
    page.wait_for_selector("h1:has-text('安居花园')")
    page.screenshot(path=str(SHOTS / "compound-detail.png"), full_page=True)

    page.click("#building >> text=新增楼栋")
    page.fill("#id_name", "9号楼")
    page.fill("#id_floors", "26")
    page.click("button:has-text('保存')")
    page.wait_for_selector(".alert-success")
    assert page.locator("#building").get_by_text("9号楼").count() == 1

    page.click(".tabs >> text=变更记录")
    page.wait_for_selector("table.history")
    first_row = page.locator("table.history tbody tr").first
    assert "9号楼" in first_row.inner_text()
    assert "wang.li" in first_row.inner_text()
    assert "26" in first_row.inner_text()
    page.screenshot(path=str(SHOTS / "compound-history.png"), full_page=True)
    assert cm.Building.objects.filter(compound=registry["home"], name="9号楼", floors=26).exists()
