"""Two duty operators at their consoles, in a real browser (Debian Chromium via Playwright), with the
live server's Server-Sent Events (issue 6 acceptance): a perimeter alarm is written through the
event writer; both consoles show it within a second; one operator acknowledges and the other's
page shows who did; the alarm is dispatched to a guard and closed with a cause; the duty log has
it. A console that loses its connection says so plainly and catches up when it is back.
Screenshots: docs/screenshots/console-calm.png, console-queue.png, console-alarm.png."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from pathlib import Path

import pytest
from django.utils import timezone

from anfang.alarms import services as alarm_services
from anfang.alarms.models import Alarm
from anfang.console import sse
from anfang.core.choices import Role
from anfang.devices import choices as dc
from anfang.devices.models import DeviceHealth
from anfang.duty import services as duty
from anfang.duty.models import LogEntry
from anfang.events import choices as ec
from anfang.events import writer
from anfang.events.ingest import normalise
from anfang.events.media import save_picture
from tests import factories as f
from tests.browser.test_manager_flow import CHROMIUM, CHROMIUM_ARGS, SHOTS
from tests.conftest import require_service
from tests.events.conftest import incoming

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def snapshot(text: str) -> bytes:
    """A night-time camera frame with a detection box, as an intrusion detector's camera sends."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (640, 360), (22, 28, 34))
    draw = ImageDraw.Draw(img)
    for y in range(360):  # sky to ground
        shade = 24 + y // 10
        draw.line([(0, y), (640, y)], fill=(shade - 6, shade, shade + 6))
    draw.rectangle([0, 200, 640, 214], fill=(92, 96, 98))  # the wall top
    for x in range(0, 640, 26):
        draw.line([(x, 150), (x, 200)], fill=(70, 74, 78), width=3)  # fence bars
    draw.line([(0, 152), (640, 152)], fill=(70, 74, 78), width=3)
    draw.ellipse([402, 118, 426, 142], fill=(58, 60, 62))  # a figure climbing over
    draw.rectangle([398, 140, 432, 205], fill=(52, 54, 56))
    draw.rectangle([384, 108, 446, 214], outline=(255, 64, 48), width=3)
    font = ImageFont.truetype(str(CJK_FONT), 18) if CJK_FONT.exists() else ImageFont.load_default()
    draw.text((12, 10), timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"), fill=(240, 240, 240), font=font)
    draw.text((470, 330), text, fill=(240, 240, 240), font=font)
    draw.text((388, 86), "周界入侵", fill=(255, 96, 80), font=font)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=82)
    return out.getvalue()


@pytest.fixture
def project_static(settings):
    from django.contrib.staticfiles import finders

    if finders.find("anfang/anfang.css") is None:
        settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, Path(settings.BASE_DIR) / "anfang" / "static"]


@pytest.fixture
def duty_room_site(settings, tmp_path):
    """安居花园 with its monitoring centre, 14 devices (two offline), two operators (王丽 on duty,
    李强), a guard 张伟, some ordinary traffic and three alarms already in the queue."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ANFANG_SPOOL_DIR = tmp_path / "spool"
    alarm_services.forget_rules()
    orgs = f.org_tree()
    home = f.CompoundFactory(
        name="安居花园",
        address="营口市站前区建设街88号",
        police_station=orgs["station_a"],
        property_company=orgs["company_x"],
    )
    room = f.DutyRoomFactory(compound=home, name="南门监控中心")
    names = [
        ("东侧围墙周界探测器", dc.DeviceType.PERIMETER_DETECTOR, "东墙3段"),
        ("南门出入口摄像机", dc.DeviceType.CAMERA, "南门岗亭外"),
        ("南门车牌识别", dc.DeviceType.ANPR_CAMERA, "南门车道"),
        ("北门摄像机", dc.DeviceType.CAMERA, "北门"),
        ("1号楼1单元门禁", dc.DeviceType.ACCESS_CONTROLLER, ""),
        ("1号楼2单元门禁", dc.DeviceType.ACCESS_CONTROLLER, ""),
        ("2号楼1单元门禁", dc.DeviceType.ACCESS_CONTROLLER, ""),
        ("3号楼1单元门禁", dc.DeviceType.ACCESS_CONTROLLER, ""),
        ("地下车库入口摄像机", dc.DeviceType.CAMERA, ""),
        ("中心广场摄像机", dc.DeviceType.CAMERA, ""),
        ("西侧围墙周界探测器", dc.DeviceType.PERIMETER_DETECTOR, "西墙1段"),
        ("监控中心硬盘录像机", dc.DeviceType.NVR, "监控中心"),
        ("2号楼电梯摄像机", dc.DeviceType.CAMERA, ""),
        ("3号楼电梯摄像机", dc.DeviceType.CAMERA, ""),
    ]
    devices = {
        name: f.DeviceFactory(compound=home, name=name, device_type=kind, location_note=where)
        for name, kind, where in names
    }
    now = timezone.now()
    for i, device in enumerate(devices.values()):
        offline = device.name in ("3号楼电梯摄像机", "西侧围墙周界探测器")
        DeviceHealth.objects.create(
            device=device,
            last_seen_at=now - dt.timedelta(minutes=42 if offline else 0, seconds=10 + i * 3),
            last_event_at=now - dt.timedelta(minutes=42 if offline else 0, seconds=20 + i * 13),
        )
    people = {}
    for username, name, role in [
        ("wang.li", "王丽", Role.DUTY_OPERATOR),
        ("li.qiang", "李强", Role.DUTY_OPERATOR),
        ("zhang.wei", "张伟", Role.GUARD),
        ("zhao.gang", "赵刚", Role.GUARD),
    ]:
        user = f.user_with(role, compound=home, username=username)
        user.first_name = name
        user.save()
        people[username] = user
    duty.sign_on(people["wang.li"], room, now=now - dt.timedelta(hours=3))
    traffic = [
        ("1号楼1单元门禁", ec.EventKind.ACCESS_GRANTED),
        ("南门车牌识别", ec.EventKind.ANPR_PASSAGE),
        ("北门摄像机", ec.EventKind.MOTION),
        ("2号楼1单元门禁", ec.EventKind.ACCESS_GRANTED),
        ("南门出入口摄像机", ec.EventKind.MOTION),
        ("1号楼2单元门禁", ec.EventKind.ACCESS_DENIED),
        ("南门车牌识别", ec.EventKind.ANPR_PASSAGE),
        ("3号楼1单元门禁", ec.EventKind.DOOR_OPEN),
    ]
    for i, (name, kind) in enumerate(traffic):
        at = now - dt.timedelta(seconds=400 - i * 45)
        writer.write([normalise(incoming(devices[name], kind, received_at=at, occurred_at=at), at)])
    # Already in the queue: a forced door being handled, a video loss waiting, a replayed tamper.
    at = now - dt.timedelta(minutes=14)
    writer.write(
        [normalise(incoming(devices["2号楼1单元门禁"], ec.EventKind.DOOR_FORCED, received_at=at, occurred_at=at), at)]
    )
    forced = Alarm.objects.get(kind=ec.EventKind.DOOR_FORCED)
    alarm_services.acknowledge(people["li.qiang"], forced, now=at + dt.timedelta(seconds=20))
    alarm_services.dispatch(people["li.qiang"], forced, people["zhao.gang"], now=at + dt.timedelta(seconds=70))
    at = now - dt.timedelta(minutes=1)
    writer.write(
        [
            normalise(
                incoming(devices["地下车库入口摄像机"], ec.EventKind.VIDEO_LOSS, received_at=at, occurred_at=at), at
            )
        ]
    )
    at = now - dt.timedelta(minutes=6)
    old = at - dt.timedelta(hours=5)
    writer.write([normalise(incoming(devices["北门摄像机"], ec.EventKind.TAMPER, received_at=at, occurred_at=old), at)])
    return {"home": home, "room": room, "devices": devices, **people}


@pytest.fixture
def chromium(monkeypatch, project_static):
    if not os.path.exists(CHROMIUM):
        require_service("chromium", False)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop
    monkeypatch.setattr(sse, "KEEPALIVE_SECONDS", 2.0)  # streams notice a closed browser quickly
    monkeypatch.setattr(sse, "TICK_SECONDS", 1.0)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    # The live server's streams end at their next ping to the closed browsers; let them, so none
    # ticks escalation against a database that is being torn down.
    deadline = time.monotonic() + 3 * sse.KEEPALIVE_SECONDS
    while sse.open_streams() and time.monotonic() < deadline:
        time.sleep(0.1)


def console_of(browser, live_server, user, compound):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "anfang-demo")
    page.click("form[action$='/login/'] button[type=submit]")
    page.goto(f"{live_server.url}/console/")
    page.wait_for_url(f"**/console/{compound.pk}/")
    page.wait_for_selector("[data-console][data-conn=connected]")
    return context, page


def row(alarm_id: int) -> str:
    return f'#queue .q-row[data-alarm="{alarm_id}"]'


def test_two_operators_handle_a_perimeter_alarm(live_server, duty_room_site, chromium):
    site = duty_room_site
    SHOTS.mkdir(parents=True, exist_ok=True)
    home = site["home"]
    _ctx_a, wang = console_of(chromium, live_server, site["wang.li"], home)
    ctx_b, li = console_of(chromium, live_server, site["li.qiang"], home)
    assert wang.title().startswith("(1) 值班台 · 安居花园")  # the video loss waits
    assert wang.locator("#count-open").inner_text() == "3"

    # A perimeter alarm, with the camera's picture, written the way every adapter writes.
    detector = site["devices"]["东侧围墙周界探测器"]
    picture = save_picture(snapshot("东侧围墙 CH03"), name="detection.jpg")
    now = timezone.now()
    written = time.monotonic()
    written_at = time.time() * 1000
    writer.write(
        [
            normalise(
                incoming(detector, ec.EventKind.PERIMETER_INTRUSION, received_at=now, media=[picture], channel=3),
                now,
            )
        ]
    )
    alarm = Alarm.objects.get(kind=ec.EventKind.PERIMETER_INTRUSION)
    wang.wait_for_selector(f'#queue .q-waiting .q-row[data-alarm="{alarm.pk}"]', timeout=2_000)
    seen_by_wang = time.monotonic() - written
    li.wait_for_selector(row(alarm.pk), timeout=2_000)
    seen_by_li = time.monotonic() - written
    heard = [p.evaluate("window.anfangConsole.alarmHeardAt") - written_at for p in (wang, li)]
    shown = [p.evaluate("window.anfangConsole.queueShownAt") - written_at for p in (wang, li)]
    print(
        f"\nalarm heard over SSE after {heard[0]:.0f} / {heard[1]:.0f} ms, in the queue after {shown[0]:.0f} / {shown[1]:.0f} ms"
    )
    assert max(shown) < 1000  # in each browser's own clock: written → row in the queue
    assert seen_by_wang < 2.0 and seen_by_li < 2.0  # and as Playwright polls it, on a busy machine
    for page in (wang, li):
        assert page.locator("#count-waiting").inner_text() == "2"
        assert page.title().startswith("(2) 值班台")
        assert page.eval_on_selector("[data-console]", "e => e.dataset.sounding") == "1"
        # Urgent first: the new perimeter alarm heads the queue, above the older video loss.
        assert page.locator("#queue .q-waiting .q-row").first.get_attribute("data-alarm") == str(alarm.pk)
    wang.click("#sound-btn")  # the operator switches the alarm sound on (browsers require a click)
    wang.wait_for_function("window.anfangConsole.beeps > 0", timeout=5_000)
    wang.screenshot(path=str(SHOTS / "console-queue.png"))

    # Both open it; 王丽 acknowledges; 李强's panel shows who did, without a reload.
    li.click(row(alarm.pk))
    li.wait_for_selector(f'.alarm-panel[data-alarm-id="{alarm.pk}"] .btn-ack')
    wang.click(row(alarm.pk))
    wang.wait_for_selector(f'.alarm-panel[data-alarm-id="{alarm.pk}"] .ap-pic img')
    wang.click(".btn-ack")
    wang.wait_for_selector('.alarm-panel[data-status="acknowledged"] .ap-ok')
    li.wait_for_selector('.alarm-panel[data-status="acknowledged"]', timeout=3_000)
    assert "王丽" in li.locator(".ap-times").inner_text()
    assert li.locator(".btn-ack").count() == 0
    assert "已确认 · 王丽" in li.locator(row(alarm.pk)).inner_text()
    assert li.eval_on_selector("[data-console]", "e => e.dataset.sounding") == "1"  # the video loss still waits
    assert (
        wang.eval_on_selector(
            f'.ap-pic img[src*="/events/{alarm.first_event_id}/pictures/0/"]', "img => img.naturalWidth"
        )
        == 640
    )
    wang.screenshot(path=str(SHOTS / "console-alarm.png"))

    # Dispatch to 张伟, then close with a cause; the duty log has every step.
    wang.select_option(f"#dispatch-guard-{alarm.pk}", label="张伟")
    wang.fill(".act-dispatch input[name=note]", "东墙3段，带手电")
    wang.click(".act-dispatch button[type=submit]")
    wang.wait_for_selector('.alarm-panel[data-status="dispatched"]')
    li.wait_for_selector(f'{row(alarm.pk)}:has-text("张伟")', timeout=3_000)
    wang.check(".act-close input[value=real_incident]")
    wang.fill(".act-close textarea[name=note]", "一名男子翻越东墙，保安到场劝离，已通知物业加装防攀爬设施。")
    wang.click(".act-close button[type=submit]")
    wang.wait_for_selector('.alarm-panel[data-status="closed"]')
    assert "真实警情" in wang.locator(".ap-closed").inner_text()
    li.wait_for_selector(row(alarm.pk), state="detached", timeout=3_000)
    assert li.locator("#count-open").inner_text() == "3"

    alarm.refresh_from_db()
    assert (alarm.status, alarm.close_cause, alarm.dispatched_to) == ("closed", "real_incident", site["zhang.wei"])
    log = list(LogEntry.objects.filter(alarm=alarm).order_by("at", "id").values_list("text", flat=True))
    assert [t.split("：")[-1].split(" ")[0] for t in log] == ["报警产生", "确认", "派警", "关闭"]
    wang.click("[data-close-panel]")
    wang.wait_for_selector(f'.log-list:has-text("报警 #{alarm.pk} 周界入侵：关闭")')

    # 李强's connection drops: the page says so plainly; an alarm raised meanwhile appears on return.
    ctx_b.set_offline(True)
    li.wait_for_selector("#conn-banner:not([hidden])", timeout=6_000)
    assert "连接已中断" in li.locator("#conn-banner").inner_text()
    door = site["devices"]["1号楼1单元门禁"]
    now = timezone.now()
    writer.write([normalise(incoming(door, ec.EventKind.DOOR_FORCED, received_at=now), now)])
    missed = Alarm.objects.get(kind=ec.EventKind.DOOR_FORCED, device=door)
    ctx_b.set_offline(False)
    li.wait_for_selector("[data-console][data-conn=connected]", timeout=10_000)
    li.wait_for_selector(row(missed.pk), timeout=3_000)
    assert li.locator("#conn-banner").is_hidden()


def test_a_quiet_console_is_calm(live_server, chromium, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    orgs = f.org_tree()
    home = f.CompoundFactory(name="滨海名苑", police_station=orgs["station_a"], property_company=orgs["company_x"])
    room = f.DutyRoomFactory(compound=home, name="监控中心")
    operator = f.user_with(Role.DUTY_OPERATOR, compound=home, username="sun.duty")
    operator.first_name = "孙敏"
    operator.save()
    now = timezone.now()
    traffic = [
        ("南门摄像机", ec.EventKind.MOTION),
        ("北门摄像机", ec.EventKind.MOTION),
        ("1号楼门禁", ec.EventKind.ACCESS_GRANTED),
        ("2号楼门禁", ec.EventKind.ACCESS_GRANTED),
        ("周界探测器", ec.EventKind.HEARTBEAT),  # not shown: heartbeats are not news
        ("车库摄像机", ec.EventKind.MOTION),
    ]
    for i, (name, kind) in enumerate(traffic):
        device = f.DeviceFactory(compound=home, name=name)
        at = now - dt.timedelta(seconds=300 - i * 37)
        DeviceHealth.objects.create(device=device, last_seen_at=now - dt.timedelta(seconds=i * 9), last_event_at=at)
        writer.write([normalise(incoming(device, kind, received_at=at, occurred_at=at), at)])
    duty.sign_on(operator, room, now=now - dt.timedelta(hours=1))
    duty.add_note(operator, room, "交接班：设备运行正常，北门道闸已报修。", at=now - dt.timedelta(minutes=50))
    _ctx, page = console_of(chromium, live_server, operator, home)
    assert page.locator(".calm").is_visible() and page.title().startswith("值班台 · 滨海名苑")
    assert page.eval_on_selector("[data-console]", "e => e.dataset.sounding") == "0"
    assert page.locator("#count-waiting").inner_text() == "0"
    assert page.locator("#events .ev").count() == 5
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "console-calm.png"))
