"""The daily operating record as a PDF: A4, the Chinese font embedded, the figures of the page,
the download name; the same scope as the page."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from urllib.parse import quote

import pytest
from django.urls import reverse

from anfang.alarms import choices as ac
from anfang.alarms.models import PoliceReport
from anfang.core.choices import Role
from anfang.duty import services as s
from tests import factories as f
from tests.conftest import require_service
from tests.duty.test_records import AFTER, DAY, alarm, at, event, minutes, registered_long_ago

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def weasyprint_ready():
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:  # OSError: Pango / HarfBuzz not installed
        require_service("weasyprint", False, str(exc))


def tool(name: str) -> str:
    require_service(name, shutil.which(name) is not None, "apt install poppler-utils")
    return name


@pytest.fixture
def site(world):
    cx = world["cx"]
    room = f.DutyRoomFactory(compound=cx, name="东门值班室")
    operator = f.user_with(Role.DUTY_OPERATOR, compound=cx, username="zhang.yi")
    cameras = [f.DeviceFactory(compound=cx, name=f"东门摄像机{i}") for i in range(4)]
    registered_long_ago()
    for camera in cameras[:3]:
        event(camera, at(6))
    session = s.sign_on(operator, room, now=at(-4))
    s.sign_off(operator, session, "无异常", now=at(20))
    s.sign_on(operator, room, now=at(21))
    a = alarm(cameras[0], at(9), ack=minutes(at(9), 2), close=minutes(at(9), 30), cause=ac.CloseCause.REAL_INCIDENT)
    PoliceReport.objects.create(
        alarm=a,
        reported_at=minutes(at(9), 5),
        means=ac.ReportMeans.PHONE_110,
        report_number="YK-0001",
        reported_by=operator,
    )
    return {**world, "operator": operator}


def fetch(client, site, tmp_path):
    client.force_login(site["operator"])
    response = client.get(reverse("duty:record_pdf", args=[site["cx"].pk, DAY.isoformat()]))
    path = tmp_path / "record.pdf"
    path.write_bytes(response.content)
    return response, path


def test_the_pdf_says_what_the_page_says(client, site, tmp_path, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: AFTER)
    response, path = fetch(client, site, tmp_path)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = re.sub(
        r"\s+", "", subprocess.run([tool("pdftotext"), path, "-"], capture_output=True, check=True).stdout.decode()
    )
    for phrase in (
        "安居花园",
        "监控运行记录",
        "第33条第1项",
        "2026年11月24日",
        "75.0%",
        "3/4",
        "YK-0001",
        "拨打110",
        "东门摄像机3",
        "真实警情",
        "1小时0分",
        "20:00–21:00",
    ):
        assert phrase in text, phrase
    assert re.search(r"第1页/共\d+页", text)


def test_a4_with_the_chinese_font_embedded_and_a_readable_name(client, site, tmp_path):
    response, path = fetch(client, site, tmp_path)
    info = subprocess.run([tool("pdfinfo"), path], capture_output=True, check=True).stdout.decode()
    assert "(A4)" in info
    fonts = subprocess.run([tool("pdffonts"), path], capture_output=True, check=True).stdout.decode()
    cjk = [line for line in fonts.splitlines() if "Noto-Sans-CJK-SC" in line]
    assert cjk and all(" yes yes yes " in line for line in cjk)  # embedded, subset, unicode map
    header = response["Content-Disposition"]
    assert f'filename="daily-record-{site["cx"].pk}-20261124.pdf"' in header
    assert f"filename*=UTF-8''{quote('监控运行记录-安居花园-20261124.pdf')}" in header


def test_the_pdf_of_another_compound_is_not_found(client, site):
    client.force_login(f.user_with(Role.DUTY_OPERATOR, compound=site["cy"]))
    assert client.get(reverse("duty:record_pdf", args=[site["cx"].pk, DAY.isoformat()])).status_code == 404
    assert (
        client.get(
            reverse("duty:record_pdf", args=[site["cx"].pk, (DAY + dt.timedelta(days=9999)).isoformat()])
        ).status_code
        == 404
    )
