"""A guard's patrol on a phone-sized screen (375 × 667) in a real browser (Debian Chromium via
Playwright) — issue 7 acceptance: the guard logs in, picks the running patrol and reads its
checkpoints by typing their codes, skipping one; the patrol ticker evaluates the run; the manager
opens it and sees the missed checkpoint flagged. And the poor connection: a check-in made offline
waits on the phone (also across a reload), and arrives once, with its original time, when the
network is back. Screenshots: docs/screenshots/patrol-*.png."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from pathlib import Path

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from anfang.core.choices import Role
from anfang.patrol import services
from anfang.patrol.choices import RunStatus
from anfang.patrol.models import Checkin, Checkpoint, PatrolException, PatrolRun, Plan, Route
from tests import factories as f
from tests.browser.test_manager_flow import CHROMIUM, CHROMIUM_ARGS, SHOTS
from tests.conftest import require_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 667}
POINTS = [
    ("南门岗亭", "南门外侧立柱", "AJ-01"),
    ("1号楼北侧", "消防通道入口", "AJ-02"),
    ("地下车库入口", "B1 坡道旁", "AJ-03"),
    ("东侧围墙", "东墙3段监控杆", "AJ-04"),
    ("北门", "北门值守亭", "AJ-05"),
]


def picture() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1200, 900), (70, 76, 84))
    ImageDraw.Draw(img).rectangle([300, 200, 900, 800], fill=(150, 150, 150), outline=(230, 60, 40), width=12)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def project_static(settings):
    from django.contrib.staticfiles import finders

    if finders.find("anfang/anfang.css") is None:
        settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, Path(settings.BASE_DIR) / "anfang" / "static"]


@pytest.fixture
def chromium(monkeypatch, project_static):
    if not os.path.exists(CHROMIUM):
        require_service("chromium", False)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def patrol_site(settings, tmp_path):
    """安居花园: a property manager 王丽, a guard 张伟, five checkpoints on the ordered night round,
    and tonight's run of it, open since five minutes ago."""
    settings.MEDIA_ROOT = tmp_path / "media"
    orgs = f.org_tree()
    home = f.CompoundFactory(
        name="安居花园",
        address="营口市站前区建设街88号",
        police_station=orgs["station_a"],
        property_company=orgs["company_x"],
    )
    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=orgs["company_x"], username="wang.li")
    guard = f.user_with(Role.GUARD, compound=home, username="zhang.wei")
    for user, name in ((manager, "王丽"), (guard, "张伟")):
        user.first_name = name
        user.save()
    points = [Checkpoint.objects.create(compound=home, name=n, location=loc, code=code) for n, loc, code in POINTS]
    route = Route.objects.create(compound=home, name="夜间巡查一号线", ordered=True, min_minutes=1, max_minutes=90)
    services.set_route_stops(route, [(cp.pk, 0 if i == 0 else 6) for i, cp in enumerate(points)])
    plan = Plan.objects.create(
        route=route, name="夜巡", start_times=["22:00"], window_minutes=60, valid_from=dt.date(2026, 1, 1), guard=guard
    )
    now = timezone.now().replace(microsecond=0)
    run = PatrolRun.objects.create(
        plan=plan,
        route=route,
        compound=home,
        day=timezone.localtime(now).date(),
        window_start=now - dt.timedelta(minutes=5),
        window_end=now + dt.timedelta(minutes=55),
        guard=guard,
        expected_count=len(points),
    )
    return {"home": home, "manager": manager, "guard": guard, "points": points, "route": route, "run": run}


def log_in(browser, live_server, user, next_url: str, viewport: dict):
    context = browser.new_context(
        locale="zh-CN",
        viewport=viewport,
        is_mobile=viewport is PHONE,
        has_touch=viewport is PHONE,
        device_scale_factor=2,
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "anfang-demo")
    page.click("form[action$='/login/'] button[type=submit]")
    page.wait_for_url(f"**{next_url}")
    return context, page


def check_in(page, code: str, done: int) -> None:
    page.fill("#pm-code", code)
    page.click("#pm-checkin button[type=submit]")
    page.wait_for_selector(f'#patrol-mobile[data-done="{done}"][data-queued="0"]')


def test_guard_walks_the_round_on_a_phone_and_the_manager_sees_the_missed_checkpoint(
    live_server, patrol_site, chromium
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    site, run = patrol_site, patrol_site["run"]
    _phone_ctx, phone = log_in(chromium, live_server, site["guard"], "/patrol/m/", PHONE)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    phone.screenshot(path=str(SHOTS / "patrol-phone-pick.png"))
    phone.click(f"form[action$='/patrol/m/runs/{run.pk}/start/'] button")
    phone.wait_for_url(f"**/patrol/m/runs/{run.pk}/")
    assert phone.locator("#pm-total").inner_text() == "5"

    codes = [code for _n, _l, code in POINTS]
    skipped = codes.pop(2)  # the car park entrance is not read
    for i, code in enumerate(codes, start=1):
        check_in(phone, f" {code} " if i == 2 else code, i)  # stray spaces of a typed code do not matter
    assert phone.locator("#pm-done").inner_text() == "4"
    assert phone.locator(".pm-route li.pm-read").count() == 4
    assert (
        skipped == "AJ-03"
        and phone.locator(f'.pm-route li[data-checkpoint="{site["points"][2].pk}"].pm-read').count() == 0
    )
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=str(SHOTS / "patrol-phone-run.png"), full_page=True)
    assert Checkin.objects.filter(run_id=run.pk, eligible=True).count() == 4

    # The window closes; the patrol ticker judges the run and raises the missed-patrol alarm.
    summary = services.evaluate_due(now=run.window_end + services.CLOSE_GRACE + dt.timedelta(seconds=1))
    assert summary.closed == 1
    run.refresh_from_db()
    assert run.status == RunStatus.INCOMPLETE and run.missed_checkpoints == [site["points"][2].pk]

    _mctx, desk = log_in(chromium, live_server, site["manager"], "/patrol/runs/", {"width": 1440, "height": 900})
    row = desk.locator(f"a[href='/patrol/runs/{run.pk}/']")
    assert "漏检 1 点" in desk.locator("tbody tr").first.inner_text()
    row.click()
    desk.wait_for_url(f"**/patrol/runs/{run.pk}/")
    alert = desk.locator("#missed-alert").inner_text()
    assert "漏检 1 个巡查点" in alert and "地下车库入口" in alert
    missed = desk.locator(f'tr[data-checkpoint="{site["points"][2].pk}"]')
    assert missed.get_attribute("data-state") == "missed" and "漏检" in missed.inner_text()
    assert desk.locator('tr[data-state="read"]').count() == 4
    desk.screenshot(path=str(SHOTS / "patrol-run-missed.png"), full_page=True)

    # The month at a glance, and the manager's other pages.
    desk.goto(f"{live_server.url}/patrol/calendar/?month={run.day:%Y-%m}")
    chip = desk.locator(f"a.chip[href='/patrol/runs/{run.pk}/']")
    assert "run-incomplete" in (chip.get_attribute("class") or "")
    desk.screenshot(path=str(SHOTS / "patrol-calendar.png"), full_page=True)
    desk.click("nav.tabs a[href='/patrol/reports/']")
    assert (
        "张伟" in desk.locator("#report-table").inner_text() and "80.0%" in desk.locator("#report-table").inner_text()
    )
    desk.screenshot(path=str(SHOTS / "patrol-report.png"), full_page=True)
    desk.click("nav.tabs a[href='/patrol/checkpoints/']")
    assert desk.locator("tbody tr").count() == 5
    desk.screenshot(path=str(SHOTS / "patrol-checkpoints.png"), full_page=True)
    desk.goto(f"{live_server.url}/patrol/routes/{site['route'].pk}/")
    desk.screenshot(path=str(SHOTS / "patrol-route-editor.png"), full_page=True)
    desk.goto(f"{live_server.url}/patrol/plans/new/?route={site['route'].pk}")
    desk.click("form.form-card button[type=submit]")
    assert "请指定巡查人员、巡防队伍或值班室之一。" in desk.locator("form.form-card").inner_text()
    desk.screenshot(path=str(SHOTS / "patrol-plan-form.png"), full_page=True)
    for page in (phone, desk):
        page.wait_for_load_state("networkidle")
        page.context.close()


def test_offline_check_in_survives_a_reload_and_arrives_once_with_its_time(live_server, patrol_site, chromium):
    SHOTS.mkdir(parents=True, exist_ok=True)
    site, run = patrol_site, patrol_site["run"]
    context, phone = log_in(chromium, live_server, site["guard"], f"/patrol/m/runs/{run.pk}/", PHONE)
    phone.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null || true")
    check_in(phone, "AJ-01", 1)  # online: sent at once
    phone.wait_for_function("caches.has('anfang-patrol-v1')")  # the page is in the offline cache

    context.set_offline(True)
    phone.wait_for_selector("#pm-net.pm-pill-bad")
    phone.fill("#pm-code", "AJ-02")
    phone.fill("#pm-note", "北侧消防通道畅通")
    phone.click("#pm-checkin button[type=submit]")
    phone.wait_for_selector('#patrol-mobile[data-queued="1"]')
    item = phone.evaluate("window.anfangPatrol.outbox.all().then(function (items) { return items[0]; })")
    original = parse_datetime(item["at"])
    assert item["code"] == "AJ-02" and original is not None
    assert "1 条待发送" in phone.locator("#pm-queued").inner_text()
    phone.screenshot(path=str(SHOTS / "patrol-phone-offline.png"), full_page=True)
    assert not Checkin.objects.filter(code="AJ-02").exists()

    time.sleep(2)  # the phone stays without signal for a while
    phone.reload()  # still offline: the page comes from the service worker's cache
    phone.wait_for_selector('#patrol-mobile[data-queued="1"]')
    assert phone.locator("#pm-log .pm-item-what").inner_text() == "AJ-02"
    assert not Checkin.objects.filter(code="AJ-02").exists()

    context.set_offline(False)
    phone.wait_for_selector('#patrol-mobile[data-queued="0"][data-done="2"]', timeout=15_000)
    phone.evaluate("window.anfangPatrol.flush()")  # a second flush has nothing left to send
    stored = Checkin.objects.filter(code="AJ-02")
    assert stored.count() == 1
    checkin = stored.get()
    assert checkin.client_id == item["uuid"] and checkin.note == "北侧消防通道畅通"
    assert abs((checkin.occurred_at - original).total_seconds()) < 1  # the time of the read, not of the upload
    assert (checkin.received_at - checkin.occurred_at).total_seconds() >= 2
    assert checkin.run_id == run.pk and checkin.eligible

    # An exception with a picture goes the same way (the picture shrunk on the phone first).
    phone.click("details.pm-card summary")
    phone.select_option("#pm-ex-kind", "facility")
    phone.fill("#pm-ex-note", "地库入口卷帘门无法关闭")
    phone.set_input_files("#pm-ex-photo", files=[{"name": "door.png", "mimeType": "image/png", "buffer": picture()}])
    phone.click("#pm-exception button[type=submit]")
    phone.wait_for_selector('#pm-flash:has-text("异常已上报")')
    reported = PatrolException.objects.get(run=run)
    assert reported.kind == "facility" and reported.guard == site["guard"] and reported.photo["type"] == "image/jpeg"
    phone.wait_for_load_state("networkidle")  # no request of the page still on the live server
    context.close()
