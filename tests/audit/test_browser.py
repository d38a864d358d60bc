"""In a real browser (Debian Chromium via Playwright): a property manager requests a passage export,
a colleague approves it from the queue, the requester downloads the watermarked workbook once, and
the audit page shows the whole story. Screenshots: docs/screenshots/audit-*.png."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from anfang.audit.choices import AuditAction
from anfang.audit.services import record, verify_and_log
from tests.browser import test_manager_flow as flow

SHOTS = flow.SHOTS
# The Chromium launch fixtures of the manager flow (Debian Chromium, zh-CN, project stylesheet).
browser_page = flow.browser_page
project_static = flow.project_static

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, url: str, username: str) -> None:
    page.goto(f"{url}/audit/exports/")
    page.fill("#id_username", username)
    page.fill("#id_password", "anfang-demo")
    page.click(".login-card button[type=submit]")
    page.wait_for_url(re.compile(r"/audit/exports/$"))


def test_request_approve_download_and_audit(live_server, world, people, browser_page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    SHOTS.mkdir(parents=True, exist_ok=True)
    record(
        people["police_a"],
        AuditAction.SEARCH,
        "vehicles.search",
        purpose="案件 2026-118 嫌疑车辆",
        detail={"plate": "辽H1*"},
    )
    page = browser_page
    page.set_default_timeout(30_000)  # a shared, loaded machine
    login(page, live_server.url, "pm-x")
    page.click("text=申请导出")
    page.select_option("#id_kind", "vehicle_data")
    page.select_option("#id_compounds", str(world["cx"].pk))
    page.fill("#id_purpose", "配合建设派出所调取 11 月出入记录")
    page.screenshot(path=str(SHOTS / "audit-export-request.png"), full_page=True)
    page.click("button[type=submit]:has-text('提交申请')")
    page.wait_for_url(re.compile(r"/audit/exports/\d+/$"))
    assert "您不能审批自己的申请" in page.content()

    other = page.context.browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900}).new_page()
    other.set_default_timeout(30_000)
    login(other, live_server.url, "pm-x2")
    other.click("text=待我审批")
    other.click("table a.strong")
    other.fill("#id_note", "同意，限本案使用")
    other.screenshot(path=str(SHOTS / "audit-export-approve.png"), full_page=True)
    other.click("text=批准并生成文件")
    other.wait_for_selector("text=已批准，导出文件已生成")

    page.reload()
    with page.expect_download() as info:
        page.click("text=下载导出文件")
    data = Path(info.value.path()).read_bytes()
    mark = load_workbook(io.BytesIO(data)).active["A1"].value
    assert "申请人 pm-x " in mark and "审批人 pm-x2" in mark
    page.reload()
    assert "下载导出文件" not in page.content()

    verify_and_log()
    other.goto(f"{live_server.url}/audit/?date_from={timezone.localdate():%Y-%m-%d}")
    rows = other.locator("table.table tbody tr")
    assert rows.count() == 3  # requested, approved, downloaded (the police search is not in pm-x2's scope)
    assert "审计链完整" in other.content()
    other.screenshot(path=str(SHOTS / "audit-entries.png"), full_page=True)
