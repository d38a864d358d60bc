"""A police officer searches a partial plate in a real browser (Debian Chromium via Playwright), with
the purpose the page requires, sees the passage with its plate and scene pictures, and finds that
search in the access audit (issue 8 acceptance; Art 33(5)).
Screenshots: docs/screenshots/vehicles-search-form.png, vehicles-search-results.png,
vehicles-search-refused.png, vehicles-search-audit.png."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from anfang.audit.models import AuditEntry
from anfang.core.choices import Role
from anfang.events.media import save_picture
from tests import factories as f
from tests.browser.test_manager_flow import CHROMIUM, CHROMIUM_ARGS, SHOTS
from tests.conftest import require_service
from tests.vehicles.test_search import jpeg, make_passage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PURPOSE = "案件编号 YK2026-0456：协查肇事逃逸车辆"


@pytest.fixture
def chromium(monkeypatch, settings, tmp_path):
    if not os.path.exists(CHROMIUM):
        require_service("chromium", False)
    from django.contrib.staticfiles import finders

    if finders.find("anfang/anfang.css") is None:
        from pathlib import Path

        settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, Path(settings.BASE_DIR) / "anfang" / "static"]
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(settings, tmp_path):
    """Station A's officer 赵刚; 安居花园 (station A) saw 辽H8K216 twice, 乐家小区 (station B) once."""
    settings.MEDIA_ROOT = tmp_path / "media"
    orgs = f.org_tree()
    home = f.CompoundFactory(name="安居花园", police_station=orgs["station_a"], property_company=orgs["company_x"])
    other = f.CompoundFactory(name="乐家小区", police_station=orgs["station_b"], property_company=orgs["company_y"])
    gate = f.EntranceFactory(compound=home, name="南门")
    officer = f.user_with(Role.POLICE_STATION, orgs["station_a"], username="zhao.gang")
    officer.first_name = "赵刚"
    officer.save()

    def pictures(plate: str) -> list[dict]:
        return [
            {**save_picture(jpeg(plate, (240, 80)), name="plate.jpg"), "role": "plate"},
            {**save_picture(jpeg(f"scene {plate}", (480, 270)), name="scene.jpg"), "role": "scene"},
        ]

    make_passage(home, "辽H8K216", ago=dt.timedelta(hours=3), entrance=gate, pictures=pictures("辽H8K216"))
    make_passage(
        home, "辽H8K216", ago=dt.timedelta(hours=1), entrance=gate, direction="out", pictures=pictures("辽H8K216 out")
    )
    make_passage(home, "辽B55321", ago=dt.timedelta(hours=2), entrance=gate, pictures=pictures("辽B55321"))
    make_passage(other, "辽H8K216", ago=dt.timedelta(hours=2), pictures=pictures("辽H8K216 B"))
    return {"officer": officer, "home": home, "other": other}


def test_officer_searches_a_partial_plate_and_the_search_is_audited(live_server, site, chromium):
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)  # the shared machine can be slow; the assertions are not about speed
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "zhao.gang")
    page.fill("input[name=password]", "anfang-demo")
    page.click("form[action$='/login/'] button[type=submit]")

    page.goto(f"{live_server.url}/vehicles/search/")
    assert "民警查询须填写查询事由" in page.inner_text("main")
    page.fill("input[name=q]", "8K21")
    page.select_option("select[name=mode]", "contains")
    page.screenshot(path=str(SHOTS / "vehicles-search-form.png"), full_page=True)

    # without a purpose the search is refused and nothing is audited
    page.click("form button[type=submit].btn-primary")
    page.wait_for_selector(".field.has-error input[name=purpose]")
    assert not page.query_selector("#search-results")
    page.screenshot(path=str(SHOTS / "vehicles-search-refused.png"), full_page=True)
    assert not AuditEntry.objects.exists()

    page.fill("input[name=purpose]", PURPOSE)
    page.click("form button[type=submit].btn-primary")
    page.wait_for_selector("#search-results")
    rows = page.query_selector_all("#search-results tbody tr")
    assert len(rows) == 2  # both passages at 安居花园; 乐家小区 is station B's
    text = page.inner_text("#search-results")
    assert "辽H8K216" in text and "安居花园" in text and "南门" in text
    assert "乐家小区" not in text and "辽B55321" not in text
    # every thumbnail is an image the browser could decode, served through the scoped view
    page.wait_for_function(
        "() => [...document.querySelectorAll('#search-results img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    images = page.query_selector_all("#search-results img")
    assert len(images) == 4
    assert all("/vehicles/search/picture/" in (img.get_attribute("src") or "") for img in images)
    page.screenshot(path=str(SHOTS / "vehicles-search-results.png"), full_page=True)

    entry = AuditEntry.objects.get()
    assert (entry.actor_name, entry.action, entry.object_type) == ("zhao.gang", "search", "vehicles.search")
    assert entry.purpose == PURPOSE
    assert entry.detail["query"] == "8K21" and entry.detail["filters"]["mode"] == "contains"
    assert entry.detail["count"] == 2

    # the officer finds the search in the access audit
    page.goto(f"{live_server.url}/audit/")
    main = page.inner_text("main")
    assert PURPOSE in main
    page.screenshot(path=str(SHOTS / "vehicles-search-audit.png"), full_page=True)
    context.close()
