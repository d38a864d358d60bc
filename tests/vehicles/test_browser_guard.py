"""A guard at the duty console handles a visitor's car, in a real browser (Debian Chromium via
Playwright; issue 8 acceptance): the car's passage arrives through the event writer and the ANPR
hook and shows on the console's vehicles panel with its pictures; the read was unsure, so the
guard corrects and confirms the plate, then opens the barrier by hand with a reason; the open is
kept and written in the duty log. Screenshots: docs/screenshots/vehicles-console-arrival.png,
vehicles-console-opened.png, vehicles-passage.png, vehicles-visitors.png."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pytest
from django.utils import timezone

from anfang.core.choices import Role
from anfang.devices import choices as dc
from anfang.duty import services as duty
from anfang.duty.models import LogEntry
from anfang.events import writer
from anfang.events.media import save_picture
from anfang.vehicles import choices as c
from anfang.vehicles.barrier import WATCH_CACHE
from anfang.vehicles.models import BarrierOpen, Passage
from tests import factories as f
from tests.browser.test_manager_flow import CHROMIUM, CHROMIUM_ARGS, SHOTS
from tests.conftest import require_service
from tests.vehicles.factories import ResidentVehicleFactory, VisitorPassFactory, anpr_event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
VISITOR = "辽B5K728"
MISREAD = "辽B5K72B"


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.truetype(str(CJK_FONT), size) if CJK_FONT.exists() else ImageFont.load_default()


def plate_picture(text: str) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (240, 80), (24, 64, 176))
    draw = ImageDraw.Draw(img)
    draw.rectangle([4, 4, 235, 75], outline=(235, 235, 235), width=2)
    draw.text((16, 14), f"{text[:2]}·{text[2:]}", fill=(245, 245, 245), font=_font(38))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=85)
    return out.getvalue()


def scene_picture() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 360), (120, 124, 128))
    draw = ImageDraw.Draw(img)
    draw.polygon([(180, 360), (300, 120), (340, 120), (460, 360)], fill=(86, 88, 92))  # the lane
    draw.rectangle([250, 180, 390, 300], fill=(210, 210, 215))  # the car
    draw.rectangle([270, 200, 370, 240], fill=(60, 80, 100))  # windscreen
    draw.rectangle([290, 270, 350, 290], fill=(24, 64, 176))  # plate
    draw.rectangle([100, 150, 560, 158], fill=(230, 60, 40))  # the barrier arm
    draw.text(
        (12, 10), timezone.localtime().strftime("%Y-%m-%d %H:%M:%S") + " 南门入口", fill=(250, 250, 250), font=_font(18)
    )
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=80)
    return out.getvalue()


@pytest.fixture
def project_static(settings):
    from django.contrib.staticfiles import finders

    if finders.find("anfang/anfang.css") is None:
        settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, Path(settings.BASE_DIR) / "anfang" / "static"]


@pytest.fixture
def gate_site(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ANFANG_SPOOL_DIR = tmp_path / "spool"
    WATCH_CACHE.forget()
    orgs = f.org_tree()
    home = f.CompoundFactory(
        name="安居花园",
        address="营口市站前区建设街88号",
        police_station=orgs["station_a"],
        property_company=orgs["company_x"],
    )
    room = f.DutyRoomFactory(compound=home, name="南门监控中心")
    south = f.EntranceFactory(compound=home, name="南门")
    camera = f.DeviceFactory(
        compound=home, name="南门车牌识别", device_type=dc.DeviceType.ANPR_CAMERA, anpr=True, entrance=south
    )
    operator = f.user_with(Role.DUTY_OPERATOR, compound=home, username="wang.li")
    operator.first_name = "王丽"
    operator.save()
    duty.sign_on(operator, room, now=timezone.now() - dt.timedelta(hours=2))
    ResidentVehicleFactory(compound=home, plate="辽H3M861", owner_name="刘洋")
    VisitorPassFactory(compound=home, plate=VISITOR, visitor_name="陈静", host_name="刘洋")
    # Earlier traffic: a resident in and out.
    for i, (plate, way) in enumerate([("辽H3M861", "forward"), ("辽H3M861", "reverse")]):
        media = [
            save_picture(plate_picture(plate), name="licensePlatePicture.jpg"),
            save_picture(scene_picture(), name="detectionPicture.jpg"),
        ]
        writer.write(
            [anpr_event(camera, plate, direction=way, media=media, seconds_ago=600 - i * 200, external_id=f"early-{i}")]
        )
    return {"home": home, "camera": camera, "operator": operator, "south": south}


@pytest.fixture
def chromium(monkeypatch, project_static):
    if not os.path.exists(CHROMIUM):
        require_service("chromium", False)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_guard_confirms_a_visitor_and_opens_the_barrier(live_server, gate_site, chromium):
    site = gate_site
    SHOTS.mkdir(parents=True, exist_ok=True)
    home = site["home"]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "wang.li")
    page.fill("input[name=password]", "anfang-demo")
    page.click("form[action$='/login/'] button[type=submit]")
    page.goto(f"{live_server.url}/console/{home.pk}/")
    page.wait_for_selector("#vehicles-panel .vp-recent")

    # The visitor's car arrives; the camera is unsure of the last character (B for 8).
    media = [
        save_picture(plate_picture(VISITOR), name="licensePlatePicture.jpg"),
        save_picture(scene_picture(), name="detectionPicture.jpg"),
    ]
    writer.write([anpr_event(site["camera"], MISREAD, confidence="58", media=media, external_id="visitor")])
    passage = Passage.objects.get(plate_raw=MISREAD)
    assert passage.needs_confirmation and passage.decision == c.Decision.ASK
    pending = page.locator(f'#vehicles-panel .vp-pending[data-passage="{passage.pk}"]')
    pending.wait_for(timeout=12_000)  # the panel refreshes every 5 s
    page.locator(f'#vehicles-panel .vp-recent[data-passage="{passage.pk}"] img').first.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#vehicles-panel img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    page.locator(".side-vehicles").screenshot(path=str(SHOTS / "vehicles-console-arrival.png"))
    page.screenshot(path=str(SHOTS / "vehicles-console.png"))

    # The guard corrects the plate and confirms it.
    pending.locator("input[name=plate]").fill(VISITOR)
    pending.locator("button[type=submit]").click()
    page.locator(f'#vehicles-panel .vp-pending[data-passage="{passage.pk}"]').wait_for(state="detached")
    passage.refresh_from_db()
    assert passage.confirmed_plate == VISITOR and passage.confirmed_by == site["operator"]
    recent = page.locator(f'#vehicles-panel .vp-recent[data-passage="{passage.pk}"]')
    assert VISITOR in recent.inner_text()

    # A manual open needs a reason: without one it is refused, with one it is done and logged.
    recent.locator(".vp-open-for").click()
    page.locator("#vp-open-form button[type=submit]").click()
    page.wait_for_selector("#vehicles-panel .vp-error")
    assert "人工开闸必须填写原因" in page.locator("#vehicles-panel").inner_text()
    assert not BarrierOpen.objects.exists()
    page.locator(f'#vehicles-panel .vp-recent[data-passage="{passage.pk}"] .vp-open-for').click()
    page.fill("#vp-open-form input[name=reason]", "访客陈静，已电话联系业主刘洋核实")
    page.locator("#vp-open-form button[type=submit]").click()
    page.wait_for_selector(f'#vehicles-panel .vp-recent[data-passage="{passage.pk}"] .dec-allow')
    opened = BarrierOpen.objects.get()
    assert opened.passage_id == passage.pk and opened.plate == VISITOR and opened.entrance == site["south"]
    assert "业主刘洋核实" in LogEntry.objects.get(kind="manual").text
    page.locator(".side-vehicles").screenshot(path=str(SHOTS / "vehicles-console-opened.png"))

    # The passage page, with both pictures (audited).
    page.goto(f"{live_server.url}/vehicles/passages/{passage.pk}/")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.pictures-lg img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator(".pictures-lg img").count() == 2
    page.screenshot(path=str(SHOTS / "vehicles-passage.png"), full_page=True)
    page.goto(f"{live_server.url}/vehicles/{home.pk}/visitors/")
    assert VISITOR in page.locator("table").inner_text()
    page.screenshot(path=str(SHOTS / "vehicles-visitors.png"), full_page=True)
    context.close()
