"""Rule metadata: every rule cites an article and quotes the regulation verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from anfang.compliance.engine import Level, cite, cite_zh, get_pack

REGULATION = Path(__file__).resolve().parents[2] / "anfang" / "compliance" / "regulation" / "yingkou_2015.txt"
SEED = Path("/work/shared/seeds/000_08cc38e73686a3ff.txt")
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.mark.parametrize("rule", get_pack().rules, ids=lambda r: r.id)
def test_rule_metadata_is_complete_and_quoted_verbatim(rule):
    assert rule.title_zh and rule.title_en and rule.remedy and rule.remedy_en
    assert not CJK.search(rule.title_en) and not CJK.search(rule.remedy_en)
    if rule.article is not None:
        assert rule.excerpt and rule.excerpt in REGULATION.read_text(encoding="utf-8")
        assert f"第{_zh_number(rule.article)}条" in REGULATION.read_text(encoding="utf-8")


@pytest.mark.parametrize("rule", get_pack("gb_advisory").rules, ids=lambda r: r.id)
def test_advisory_rules_have_english_titles_and_remedies(rule):
    assert rule.title_en and rule.remedy_en and not CJK.search(rule.title_en + rule.remedy_en)


def test_pack_titles_in_both_languages():
    from django.utils import translation

    for name in ("yingkou_2015", "gb_advisory"):
        pack = get_pack(name)
        assert CJK.search(pack.localized_title) and pack.title_en
        with translation.override("en"):
            assert pack.localized_title == pack.title_en


def test_only_the_lock_grade_is_encouraged():
    assert [r.id for r in get_pack().rules if r.level == Level.ENCOURAGED] == ["yingkou_2015.art14.lock_grade"]


def test_regulation_copy_matches_the_seed():
    if SEED.exists():
        assert SEED.read_bytes() == REGULATION.read_bytes()


def test_citations():
    assert (cite(9), cite_zh(9)) == ("Art. 9", "第9条")
    assert (cite(33, "2"), cite_zh(33, "2")) == ("Art. 33(2)", "第33条第2项")
    assert cite_zh(None) == "数据质量"


def test_unknown_pack_and_version():
    with pytest.raises(KeyError):
        get_pack("nope")
    with pytest.raises(KeyError):
        get_pack("yingkou_2015", "0.0")


def _zh_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")
