"""Reports in English: rule titles, remedies and evidence follow the active language; the stored
findings are language-neutral, so one stored assessment reads in either language, and the
zh-Hans default reads exactly as before."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import translation

from anfang.compliance import evidence
from anfang.compliance.dashboard import article_statuses
from anfang.compliance.engine import get_pack
from anfang.compliance.models import CompoundAssessment
from anfang.compliance.services import assess, tally
from anfang.compounds.models import PART_MODELS, Compound, DutyRoom
from anfang.core.choices import Role
from anfang.core.models import Organisation
from anfang.devices.models import Device
from tests import factories as f

from .builders import bare, exemplary, findings

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u3400-\u9fff\u3001-\u303f\uff01-\uff5e]")
DUTY_TITLE_EN = "Duty room at the main entrance, joined with the monitoring centre, at least 20 m²"
DUTY_TITLE_ZH = "主出入口治安值班室，与监控中心连通或合一，不少于20㎡"
DUTY_REMEDY_EN = "Set up a duty room of at least 20 m² at the main entrance"
DUTY_REMEDY_ZH = "在主出入口设立不少于20平方米的治安值班室"
DUTY_EVIDENCE_EN = "南门值班室: area 19.9 m², less than 20 m²"
DUTY_EVIDENCE_ZH = "南门值班室 面积19.9㎡，不足20㎡"


@pytest.fixture(autouse=True)
def _restore_language():
    yield  # LocaleMiddleware leaves the request language active in this thread
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def site(world):
    s = exemplary(world, "示范小区")
    DutyRoom.objects.filter(compound=s.compound).update(area_m2="19.9")  # Art 15 fails
    qs = Compound.objects.filter(pk=s.compound.pk)
    assess(None, qs)
    assess(None, qs, get_pack("gb_advisory"))
    return s


def client_for(world, language: str | None) -> Client:
    client = Client(headers={"Accept-Language": language} if language else {})
    client.force_login(f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"]))
    return client


def typed_data() -> list[str]:
    """Every name a user typed (or a factory invented), longest first."""
    values = [o.name for o in Organisation.objects.all()] + [c.name for c in Compound.objects.all()]
    models: tuple[type[Model], ...] = (*PART_MODELS, Device)
    for model in models:
        values += [str(getattr(o, "name", "")) for o in model._default_manager.all()]
    return sorted({v for v in values if v}, key=len, reverse=True)


def cells(html: str) -> list[str]:
    """The text of the findings tables' cells, without the regulation's verbatim excerpts."""
    html = re.sub(r'<blockquote class="excerpt">.*?</blockquote>', "", html, flags=re.S)
    return [re.sub(r"<[^>]+>", " ", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", html, flags=re.S)]


def test_report_in_english_shows_english_titles_remedies_and_evidence(world, site):
    html = client_for(world, "en").get(reverse("compliance:compound_report", args=[site.compound.pk])).content.decode()
    assert DUTY_TITLE_EN in html and DUTY_REMEDY_EN in html and DUTY_EVIDENCE_EN in html
    assert DUTY_TITLE_ZH not in html and DUTY_REMEDY_ZH not in html and DUTY_EVIDENCE_ZH not in html
    assert "Art. 15" in html and "第15条" not in html
    assert "Yingkou Regulation on the Security of Residential Compounds" in html
    advisory = html[html.index('id="advisory"') :]
    assert "Monitoring centre has an emergency alarm device" in advisory  # advisory rule title
    assert "JGJ 16-2008 §14.9.4" in advisory
    data = typed_data()
    left = []
    for cell in cells(html):
        for value in data:
            cell = cell.replace(value, "")
        if CJK.search(cell):
            left.append(cell.strip())
    assert left == []


def test_report_in_chinese_by_default_is_unchanged(world, site):
    html = client_for(world, None).get(reverse("compliance:compound_report", args=[site.compound.pk])).content.decode()
    assert DUTY_TITLE_ZH in html and DUTY_REMEDY_ZH in html and DUTY_EVIDENCE_ZH in html
    assert DUTY_TITLE_EN not in html and DUTY_EVIDENCE_EN not in html
    assert "第15条" in html and "JGJ 16-2008 第14.9.4条" in html


def test_json_report_follows_the_language(world, site):
    url = reverse("compliance:compound_json", args=[site.compound.pk])
    for language, title, remedy, line in (
        ("en", DUTY_TITLE_EN, DUTY_REMEDY_EN, DUTY_EVIDENCE_EN),
        (None, DUTY_TITLE_ZH, DUTY_REMEDY_ZH, DUTY_EVIDENCE_ZH),
    ):
        data = client_for(world, language).get(url).json()
        duty = next(x for x in data["assessment"]["findings"] if x["rule_id"].endswith("art15.duty_room"))
        assert duty["title"] == title and duty["remedy"].startswith(remedy) and duty["evidence"] == [line]


def test_pdf_html_in_english(world, site):
    from anfang.compliance.pdf import render_html
    from anfang.compliance.services import latest

    with translation.override("en"):
        html = render_html(site.compound, latest(site.compound))
    assert DUTY_TITLE_EN in html and DUTY_EVIDENCE_EN in html
    assert '<span class="label">Remedy: </span>' + DUTY_REMEDY_EN in html
    assert DUTY_EVIDENCE_ZH not in html


def templates_of(line: evidence.Line) -> list[str]:
    """The translatable texts of a line: its template and those of its nested messages."""
    if isinstance(line, str):
        return [line]
    template, params = line
    found = [template]
    for value in params.values():
        if evidence.is_message(value):
            found += templates_of(value)
        elif isinstance(value, list | tuple):
            found += [t for v in value if evidence.is_message(v) for t in templates_of(v)]
    return found


def test_every_evidence_line_of_the_golden_sites_has_an_english_translation(world):
    sites = [bare(world, "空白小区").compound, exemplary(world, "示范小区").compound]
    broken = exemplary(world, "问题小区")
    DutyRoom.objects.filter(compound=broken.compound).update(area_m2="0", entrance=None)
    broken.places["u21"].__class__.objects.filter(pk=broken.places["u21"].pk).update(
        intercom="standalone", entrance_door_standard=None
    )
    sites.append(broken.compound)
    seen = set()
    for compound in sites:
        for pack in (get_pack(), get_pack("gb_advisory")):
            for finding in findings(compound, pack).values():
                for line in finding.lines:
                    seen.update(templates_of(line))
    with translation.override("en"):
        untranslated = sorted(t for t in seen if translation.gettext(t) == t or CJK.search(translation.gettext(t)))
    assert len(seen) > 60
    assert untranslated == []


def test_render_keeps_data_and_survives_a_broken_translation():
    line = evidence._("{room} 面积{area}㎡，不足{minimum}㎡", room="南门值班室", area="19.9", minimum=20)
    assert evidence.zh(line) == DUTY_EVIDENCE_ZH
    with translation.override("en"):
        assert evidence.render(line) == DUTY_EVIDENCE_EN
        assert evidence.render(list(line)) == DUTY_EVIDENCE_EN  # as read back from JSON
        listed = evidence._("本小区登记了{n}个主出入口：{entrances}", n=2, entrances=["南门", "东门"])
        assert evidence.render(listed) == "This compound has 2 main entrances registered: 南门, 东门"
    assert evidence.render(listed) == "本小区登记了2个主出入口：南门、东门"
    broken = ("{room} 面积", {"room": "甲"})
    assert evidence.render(broken, translate=lambda t: "{nope} area") == "甲 面积"  # falls back to zh-Hans
    assert evidence.render("") == "" and evidence.render(12) == "12"


def test_results_stored_in_the_earlier_form_still_read(world, site):
    """Before the positional form, findings were objects with zh-Hans evidence text."""
    result = CompoundAssessment.objects.filter(assessment__pack_name="yingkou_2015").get()
    counted = tally(CompoundAssessment.objects.filter(pk=result.pk))
    old = [
        {"rule_id": r[0], "article": r[1], "clause": r[2], "status": r[3], "evidence": evidence.render_all(r[4])}
        for r in result.findings
    ]
    CompoundAssessment.objects.filter(pk=result.pk).update(findings=old)
    again = CompoundAssessment.objects.get(pk=result.pk)
    duty = again.finding("yingkou_2015.art15.duty_room")
    assert (duty.status, duty.evidence, duty.citation) == ("fail", [DUTY_EVIDENCE_ZH], "Art. 15")
    assert duty.remedy.startswith(DUTY_REMEDY_ZH)
    assert article_statuses(again.findings) == article_statuses(result.findings)
    assert tally(CompoundAssessment.objects.filter(pk=result.pk)) == counted
