"""A property manager follows the police uplink through an outage, in a real browser: the overview
shows the backlog and the platform's errors, the list finds the message given up on, the manager
re-queues it and, the platform back, sees it sent. Screenshots: docs/screenshots/uplink-*.png."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from django.utils import timezone

from anfang.core.choices import Role
from anfang.uplink import choices as c
from anfang.uplink.fakeplatform import FakePlatform
from anfang.uplink.models import OutboxMessage
from anfang.uplink.sender import HttpClient, send_due
from tests import factories as f
from tests.browser.test_manager_flow import SHOTS, browser_page, project_static  # noqa: F401 (fixtures)

from .factories import queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_requeues_a_message_after_an_outage(live_server, browser_page, settings):  # noqa: F811
    settings.ANFANG_UPLINK_MAX_ATTEMPTS = 1
    orgs = f.org_tree()
    f.user_with(Role.PROPERTY_MANAGER, organisation=orgs["company_x"], username="wang.li")
    home = f.CompoundFactory(name="安居花园", police_station=orgs["station_a"], property_company=orgs["company_x"])
    other = f.CompoundFactory(name="乐家小区", police_station=orgs["station_b"], property_company=orgs["company_y"])
    now = timezone.now()
    queue(home.pk, range(1, 13), now=now - dt.timedelta(hours=3))
    queue(other.pk, range(100, 104), now=now - dt.timedelta(hours=3))
    with FakePlatform(failure_rate=1.0) as fake:
        client = HttpClient(fake.url)
        send_due(now - dt.timedelta(hours=1), client, batch=1)  # given up on after one attempt
        settings.ANFANG_UPLINK_MAX_ATTEMPTS = 500
        send_due(now, client, batch=4)  # failed, will be retried
    dead = OutboxMessage.objects.get(status=c.Status.DEAD)

    # The live server's first request imports every view (seconds on a loaded machine): not the page's fault.
    httpx.get(f"{live_server.url}/uplink/", timeout=120)
    page = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{live_server.url}/uplink/")
    page.fill("#id_username", "wang.li")
    page.fill("#id_password", "anfang-demo")
    page.click(".login-card button[type=submit]")
    page.wait_for_url(re.compile(r"/uplink/$"))
    assert "HTTP 500" in page.locator("section:has-text('最近的错误')").inner_text()
    assert "乐家小区" not in page.content()
    page.screenshot(path=str(SHOTS / "uplink-overview.png"), full_page=True)

    page.click(".kpi:has-text('已放弃') a")
    page.wait_for_url(re.compile(r"status=dead"))
    rows = page.locator("table.table tbody tr")
    assert rows.count() == 1
    page.screenshot(path=str(SHOTS / "uplink-messages.png"), full_page=True)
    rows.first.locator("a").first.click()
    page.wait_for_selector("pre.uplink-payload")
    assert dead.external_id in page.locator("pre.uplink-payload").inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(".actions button:has-text('重新排队')")
    page.wait_for_selector(".alert-success")
    assert page.locator("h1 + p .badge").inner_text() == "待发送"

    with FakePlatform() as fake:
        send_due(timezone.now(), HttpClient(fake.url), batch=50)
    page.reload()
    assert page.locator("h1 + p .badge").inner_text() == "已发送"
    page.screenshot(path=str(SHOTS / "uplink-message.png"), full_page=True)
    assert dead.external_id in fake.received.objects
