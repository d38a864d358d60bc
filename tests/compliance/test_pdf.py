"""PDF compound report: a real PDF with the compound, its articles and an embedded CJK font;
login and scope both ways; advisory packs apart; no assessment → back to the report page."""

from __future__ import annotations

import re
import shutil
import subprocess
from urllib.parse import quote

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from anfang.compliance import engine, pdf
from anfang.compliance.engine import Rule, RulePack, Status
from anfang.compliance.models import Assessment, CompoundAssessment
from anfang.compliance.services import assess
from anfang.compounds.models import Compound, DutyRoom
from anfang.core.choices import Role
from tests import factories as f
from tests.conftest import require_service

from .builders import exemplary

pytestmark = pytest.mark.django_db


def _weasyprint_error() -> str:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:  # OSError: Pango / HarfBuzz not installed
        return str(exc)
    return ""


@pytest.fixture(autouse=True)
def weasyprint_ready():
    error = _weasyprint_error()
    require_service("weasyprint", not error, error)


def pdf_text(data: bytes) -> str:
    """The text of the PDF without any whitespace: a Chinese phrase may wrap anywhere."""
    require_service("pdftotext", shutil.which("pdftotext") is not None, "apt install poppler-utils")
    text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    return re.sub(r"\s+", "", text)


@pytest.fixture
def site(world):
    s = exemplary(world, "示范小区")
    DutyRoom.objects.filter(compound=s.compound).update(area_m2="19.9")
    assess(None, Compound.objects.filter(pk=s.compound.pk))
    return s


def login(client, role, organisation):
    client.force_login(f.user_with(role, organisation=organisation))


def url(compound) -> str:
    return reverse("compliance:compound_pdf", args=[compound.pk])


def test_manager_downloads_a_pdf_with_the_findings(client, site, world):
    login(client, Role.PROPERTY_MANAGER, world["company_x"])
    response = client.get(url(site.compound))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    data = response.content
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    text = pdf_text(data)
    assert "示范小区" in text and "安居花园" not in text
    assert re.search(r"第1页/共\d+页", text)  # footer page counter
    assert "营口市居民住宅小区安全管理办法" in text
    for citation in ("第5条", "第9条", "第15条", "第33条第2项"):
        assert citation in text
    assert "不足20㎡" in text  # evidence of the failing duty-room rule
    assert "不少于20平方米的治安值班室" in text  # its remedy
    assert "不符合的条款：第15条" in text  # the summary names it
    assert "参考性评估" not in text  # no advisory pack was run


def test_pages_are_a4_and_the_cjk_font_is_embedded(client, site, world, tmp_path):
    require_service("pdffonts", shutil.which("pdffonts") is not None, "apt install poppler-utils")
    login(client, Role.PROPERTY_MANAGER, world["company_x"])
    path = tmp_path / "report.pdf"
    path.write_bytes(client.get(url(site.compound)).content)
    info = subprocess.run(["pdfinfo", path], capture_output=True, check=True).stdout.decode()
    assert "(A4)" in info
    assert int(next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1]) >= 2
    fonts = subprocess.run(["pdffonts", path], capture_output=True, check=True).stdout.decode()
    cjk = [line for line in fonts.splitlines() if "Noto-Sans-CJK-SC" in line]
    assert cjk and all(" yes yes yes " in line for line in cjk)  # embedded, subset, unicode map


def test_filename_is_rfc5987_encoded_with_an_ascii_fallback(client, site, world):
    login(client, Role.PROPERTY_MANAGER, world["company_x"])
    response = client.get(url(site.compound))
    result = CompoundAssessment.objects.get(compound=site.compound)
    day = pdf.timezone.localtime(result.assessed_at, pdf.REPORT_TZ).strftime("%Y%m%d")
    header = response["Content-Disposition"]
    assert header.startswith("attachment; ")
    assert f'filename="compliance-report-{site.compound.pk}-{day}.pdf"' in header
    assert f"filename*=UTF-8''{quote(f'合规报告-示范小区-{day}.pdf')}" in header


def test_anonymous_is_sent_to_login(client, site):
    response = client.get(url(site.compound))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_out_of_scope_answers_404(client, site, world):
    login(client, Role.PROPERTY_MANAGER, world["company_y"])
    assert client.get(url(site.compound)).status_code == 404
    client.logout()
    login(client, Role.POLICE_STATION, world["station_b"])
    assert client.get(url(site.compound)).status_code == 404
    assert client.get(reverse("compliance:compound_pdf", args=[999999])).status_code == 404


def test_police_of_the_station_gets_the_pdf(client, site, world):
    login(client, Role.POLICE_STATION, world["station_a"])
    response = client.get(url(site.compound))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_not_yet_assessed_goes_back_to_the_report_without_assessing(client, world):
    login(client, Role.PROPERTY_MANAGER, world["company_x"])
    response = client.get(url(world["cx"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("compliance:compound_report", args=[world["cx"].pk])
    assert any("尚未进行合规评估" in str(m) for m in get_messages(response.wsgi_request))
    assert not Assessment.objects.exists()  # a GET never writes


def test_report_page_links_the_pdf_once_assessed(client, world):
    login(client, Role.PROPERTY_MANAGER, world["company_x"])
    report = reverse("compliance:compound_report", args=[world["cx"].pk])
    assert url(world["cx"]) not in client.get(report).content.decode()
    assess(None, Compound.objects.filter(pk=world["cx"].pk))
    assert url(world["cx"]) in client.get(report).content.decode()


def _advisory_pack() -> RulePack:
    def check(snapshot):
        return Status.FAIL, ["测试依据：监控中心未设独立出入口"]

    rule = Rule(
        "pdf_test_advisory.r1",
        None,
        "",
        "监控中心宜设独立出入口（测试）",
        "Monitoring centre entrance (test)",
        "GB 50348-2018 测试条文摘录",
        "测试整改：增设独立出入口",
        check,
    )
    return RulePack("pdf_test_advisory", "0.1", True, (rule,), title="参考标准（测试包）")


def test_advisory_findings_are_shown_apart_and_not_counted(client, site, world, monkeypatch):
    pack = _advisory_pack()
    monkeypatch.setitem(engine._PACKS, (pack.name, pack.version), pack)
    for _ in range(2):  # only the newest result of the pack is printed
        assess(None, Compound.objects.filter(pk=site.compound.pk), pack=pack)
    login(client, Role.PROPERTY_MANAGER, world["company_x"])
    text = pdf_text(client.get(url(site.compound)).content)
    before, _, after = text.partition("参考性评估（国家标准）")
    assert after, "advisory heading missing"
    assert "不计入" in after and after.count("参考标准（测试包）") == 1
    assert "监控中心宜设独立出入口（测试）" in after and "测试整改：增设独立出入口" in after
    assert "测试依据" not in before  # the mandatory part is untouched
    assert "不符合的条款：第15条" in before  # still only the regulation's failure in the summary


def test_css_counter_content():
    assert (
        pdf.css_counter_content("第 {page} 页 / 共 {pages} 页")
        == '"第 " counter(page) " 页 / 共 " counter(pages) " 页"'
    )
    assert (
        pdf.css_counter_content('Page {page} of {pages} "x"')
        == '"Page " counter(page) " of " counter(pages) " \\"x\\""'
    )
