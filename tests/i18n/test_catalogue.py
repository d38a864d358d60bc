"""The English catalogue is complete and compiled: every msgid in the committed en .po has a
translation, none is fuzzy, the committed .mo says the same as the .po, and (where GNU gettext
is installed) the source holds no string missing from the .po — so a new string cannot be
forgotten silently. To fix a failure: `make messages`, translate the new entries in
anfang/locale/en/LC_MESSAGES/django.po, `make messages` again (it compiles), commit .po and .mo."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from tests.conftest import require_service

LOCALE = Path(settings.LOCALE_PATHS[0])
EN_PO = LOCALE / "en" / "LC_MESSAGES" / "django.po"
ZH_PO = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[-+ #0]*[\d.]*[sdf]|%[sd]|\{\w*\}")


@dataclass
class Entry:
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    fuzzy: bool = False
    obsolete: bool = False

    @property
    def translations(self) -> list[str]:
        return [self.msgstr[k] for k in sorted(self.msgstr)]


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: enough for what makemessages writes (no polib at runtime)."""
    entries: list[Entry] = []
    current, target, index = Entry(), "", 0

    def flush() -> None:
        nonlocal current
        if current.msgid or current.msgstr:
            entries.append(current)
        current = Entry()

    for raw in path.read_text(encoding="utf-8").splitlines():
        line, obsolete = raw.strip(), raw.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        starts_entry = line.startswith(("#", "msgctxt", "msgid ")) or (obsolete and not current.obsolete)
        if starts_entry and current.msgstr:
            flush()
        current.obsolete = current.obsolete or obsolete
        if line.startswith("#") or not line:
            current.fuzzy = current.fuzzy or (line.startswith("#,") and "fuzzy" in line)
            continue
        if line.startswith('"'):  # continuation of the previous keyword
            value = ast.literal_eval(line)
        else:
            keyword, _, rest = line.partition(" ")
            value, target = ast.literal_eval(rest), keyword.split("[")[0]
            index = int(keyword[7:-1]) if "[" in keyword else 0
            if target == "msgstr":
                current.msgstr[index] = ""
            elif target != "msgid":
                setattr(current, target, "")
        if target == "msgstr":
            current.msgstr[index] += value
        else:
            setattr(current, target, getattr(current, target) + value)
    flush()
    return [e for e in entries if e.msgid and not e.obsolete]


@pytest.fixture(scope="module")
def english() -> list[Entry]:
    return parse_po(EN_PO)


def test_parser_reads_plurals_context_and_continuations(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: en\\n"\n\n'
        '#, fuzzy, python-format\nmsgctxt "c"\nmsgid "a"\n"b"\nmsgstr "x"\n\n'
        'msgid "%(n)s 个"\nmsgid_plural "%(n)s 个"\nmsgstr[0] "%(n)s one"\nmsgstr[1] "%(n)s many"\n\n'
        '#~ msgid "old"\n#~ msgstr ""\n',
        encoding="utf-8",
    )
    first, second = parse_po(po)
    assert (first.msgctxt, first.msgid, first.translations, first.fuzzy) == ("c", "ab", ["x"], True)
    assert second.msgid_plural == "%(n)s 个" and second.translations == ["%(n)s one", "%(n)s many"]
    assert not second.fuzzy


def test_catalogue_is_not_empty(english):
    assert len(english) > 400


def test_every_msgid_is_translated(english):
    untranslated = [e.msgid for e in english if not all(e.translations)]
    assert untranslated == []


def test_no_fuzzy_entries(english):
    header = EN_PO.read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert "#, fuzzy" not in header
    assert [e.msgid for e in english if e.fuzzy] == []


def test_plurals_have_both_english_forms(english):
    plurals = [e for e in english if e.msgid_plural is not None]
    assert plurals
    assert [e.msgid for e in plurals if sorted(e.msgstr) != [0, 1]] == []


def test_placeholders_are_kept(english):
    wrong = []
    for e in english:
        expected = sorted(PLACEHOLDER.findall(e.msgid_plural or e.msgid))
        wrong += [(e.msgid, t) for t in e.translations[-1:] if sorted(PLACEHOLDER.findall(t)) != expected]
        if e.msgid_plural is None:
            wrong += [(e.msgid, t) for t in e.translations if sorted(PLACEHOLDER.findall(t)) != expected]
    assert wrong == []


def test_nothing_left_in_chinese(english):
    # The regulation's own wording may be quoted (e.g. sheet names “小区”), but never alone.
    cjk = re.compile(r"[\u3400-\u9fff]")
    assert [
        e.msgid for e in english if any(cjk.search(t) and not re.search(r"[A-Za-z]", t) for t in e.translations)
    ] == []


def test_compiled_catalogue_matches_the_po(english):
    """Django's own gettext answers with the .po's translation: the committed .mo is current."""
    stale = []
    with translation.override("en"):
        for e in english:
            if e.msgid_plural is None:
                got = [translation.pgettext(e.msgctxt, e.msgid) if e.msgctxt else translation.gettext(e.msgid)]
            else:
                got = [translation.ngettext(e.msgid, e.msgid_plural, n) for n in (1, 2)]
            if got != e.translations:
                stale.append((e.msgid, got, e.translations))
    assert stale == []


def test_zh_hans_catalogue_documents_the_same_msgids(english):
    zh = parse_po(ZH_PO)
    assert {(e.msgctxt, e.msgid) for e in zh} == {(e.msgctxt, e.msgid) for e in english}


def _fresh_msgids(tmp_path: Path) -> set[tuple[str | None, str]]:
    """Run makemessages on a copy of the source tree, so the committed catalogue is untouched."""
    root = Path(settings.BASE_DIR)
    copy = tmp_path / "src"
    shutil.copytree(root / "anfang", copy / "anfang", ignore=shutil.ignore_patterns("__pycache__", "locale"))
    shutil.copy(root / "manage.py", copy / "manage.py")
    (copy / "anfang" / "locale").mkdir()
    env = {**os.environ, "ANFANG_VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "anfang.settings"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "en", "--no-location"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    return {(e.msgctxt, e.msgid) for e in parse_po(copy / "anfang" / "locale" / "en" / "LC_MESSAGES" / "django.po")}


def test_source_has_no_string_missing_from_the_catalogue(english, tmp_path):
    require_service("gettext", shutil.which("xgettext") is not None and shutil.which("msgmerge") is not None)
    known = {(e.msgctxt, e.msgid) for e in english}
    missing = sorted(m for _, m in _fresh_msgids(tmp_path) - known)
    assert missing == [], "run `make messages`, translate the new entries, `make messages` again"
