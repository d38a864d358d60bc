"""The retention pages in a real browser (Debian Chromium via Playwright): the policies with their
floors, a refused setting naming Art 33(2), a legal hold placed from the page, the video retention
evidence, and a dry run with its report. Screenshots: docs/screenshots/retention-*.png."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anfang.devices import choices as dc
from anfang.retention import services
from anfang.retention.models import LegalHold, VideoRetentionReport
from tests import factories as f
from tests.browser.test_manager_flow import SHOTS, browser_page, project_static  # noqa: F401

from .factories import days_ago, event, picture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(world, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    admin = f.UserFactory(username="li.admin", is_superuser=True)
    nvr = f.DeviceFactory(compound=world["cx"], name="监控中心 NVR-1", device_type=dc.DeviceType.NVR)
    now = timezone.now()
    services.store_video_reports(
        nvr,
        [{"channel": ch, "earliest": now - dt.timedelta(days=days)} for ch, days in ((1, 41), (2, 38), (3, 22))],
    )
    cam = f.DeviceFactory(compound=world["cx"], name="东门摄像机")
    for n in range(3):
        event(cam, days_ago(120 + n), [picture(f"b{n}")])
    services.set_policy(admin, "vehicle_passages", 365, compound=world["cx"], note="派出所要求保留一年")
    return {**world, "admin": admin, "cam": cam}


def login(page, url, username):
    page.goto(f"{url}/retention/")
    page.fill("#id_username", username)
    page.fill("#id_password", "anfang-demo")
    page.click(".login-card button[type=submit]")
    page.wait_for_url("**/retention/")


def test_retention_pages(live_server, site, browser_page):  # noqa: F811
    page = browser_page
    page.set_default_timeout(60_000)  # the machine may be busy
    SHOTS.mkdir(parents=True, exist_ok=True)
    login(page, live_server.url, "li.admin")
    assert "第33条第2项" in page.content()
    page.select_option("#id_data_class", "vehicle_passages")
    page.fill("#id_days", "60")
    page.click("form.form-card button[type=submit]")
    page.wait_for_selector(".field.has-error")
    assert "低于法定下限 90 天" in page.locator(".field.has-error").inner_text()
    page.screenshot(path=str(SHOTS / "retention-policies.png"), full_page=True)

    page.goto(f"{live_server.url}/retention/holds/")
    page.fill("#id_case_number", "营公(建)刑字〔2026〕118号")
    page.fill("#id_reason", "入室盗窃案：保全东门摄像机的事件与照片")
    page.select_option("#id_device", str(site["cam"].pk))
    page.click("form.form-card button[type=submit]")
    page.wait_for_selector("text=法律保全已设置")
    assert LegalHold.objects.filter(device=site["cam"]).exists()
    page.screenshot(path=str(SHOTS / "retention-holds.png"), full_page=True)

    page.goto(f"{live_server.url}/retention/video/")
    assert "不足 30 天" in page.content() and VideoRetentionReport.objects.count() == 3
    page.screenshot(path=str(SHOTS / "retention-video.png"), full_page=True)

    page.goto(f"{live_server.url}/retention/runs/")
    page.click("text=演练（不删除）")
    page.wait_for_selector("text=下载报告（Excel）")
    body = page.content()
    assert "设备事件" in body and "访问审计" in body
    page.screenshot(path=str(SHOTS / "retention-run.png"), full_page=True)
