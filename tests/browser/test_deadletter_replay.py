"""A property manager finds a payload the platform could not map in the dead-letter list, and
replays it once the mapping is fixed, in a real browser. Screenshots to docs/screenshots/."""

from __future__ import annotations

import re

import pytest

from anfang.core.choices import Role
from anfang.events import choices as c
from anfang.events import services
from anfang.events.models import DeadLetter, Event
from tests import factories as f
from tests.browser.test_manager_flow import SHOTS, browser_page, project_static  # noqa: F401 (fixtures)
from tests.events.test_deadletter_views import CodeAdapter, send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def letters(monkeypatch, settings, tmp_path):
    settings.ANFANG_SPOOL_DIR = tmp_path / "spool"
    orgs = f.org_tree()
    f.user_with(Role.PROPERTY_MANAGER, organisation=orgs["company_x"], username="wang.li")
    home = f.CompoundFactory(name="安居花园", police_station=orgs["station_a"], property_company=orgs["company_x"])
    gate = f.DeviceFactory(compound=home, name="南门枪机", ip_address="10.0.0.20")
    letter = send(gate, code="LineDetection", ext="ld-1")
    send(gate, body=b"\xff\xd8\xff\xe0 not a payload", ext="bin")
    fixed = CodeAdapter()
    fixed.known = {**CodeAdapter.known, "LineDetection": c.EventKind.LINE_CROSSING}
    monkeypatch.setattr(services, "adapter_for", lambda source: fixed)
    return letter


def test_manager_replays_a_dead_letter(live_server, letters, browser_page):  # noqa: F811
    page = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{live_server.url}/events/dead-letters/")
    page.fill("#id_username", "wang.li")
    page.fill("#id_password", "anfang-demo")
    page.click(".login-card button[type=submit]")
    page.wait_for_url(re.compile(r"/events/dead-letters/$"))
    rows = page.locator("table.table tbody tr")
    assert rows.count() == 2
    assert "重放这 2 封" in page.locator("#bulk-replay").inner_text()
    page.screenshot(path=str(SHOTS / "dead-letters.png"), full_page=True)

    page.click(f"a[href='/events/dead-letters/{letters.pk}/'] >> nth=0")
    page.wait_for_selector(f"h1:has-text('#{letters.pk}')")
    assert "LineDetection" in page.locator("pre.code").inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(".actions button:has-text('重放')")
    page.wait_for_selector(".alert-success")
    assert "得到 1 条事件" in page.locator(".alert-success").inner_text()
    assert page.locator("h1 .badge").inner_text() == "已重放"
    page.screenshot(path=str(SHOTS / "dead-letter-replayed.png"), full_page=True)

    page.click("nav.mainnav >> text=设备事件")
    page.wait_for_selector("table.table")
    assert "越界侦测" in page.locator("table.table tbody").inner_text()
    page.screenshot(path=str(SHOTS / "events.png"), full_page=True)
    page.click("table.table tbody >> text=南门枪机")
    page.wait_for_selector("#ingest")
    page.click("#ingest button:has-text('生成令牌')")
    page.wait_for_selector("#issued-secret")
    assert page.locator("#issued-secret").inner_text().startswith("afd_")
    page.click("text=返回设备")
    page.wait_for_selector("#ingest")
    page.locator("#ingest").screenshot(path=str(SHOTS / "device-ingest.png"))

    assert DeadLetter.objects.get(pk=letters.pk).status == c.DeadLetterStatus.REPLAYED
    assert Event.objects.get().kind == c.EventKind.LINE_CROSSING
