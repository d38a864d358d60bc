"""Uploads are refused before parsing unless they are a small .xlsx zip with a workbook part."""

from __future__ import annotations

import io
import zipfile

import pytest

from anfang.compounds import models as m
from anfang.compounds.importexport import import_workbook, reader
from anfang.core.choices import Role
from tests import factories as f

from .helpers import upload, valid_sheets, workbook

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.fixture
def manager(world):
    return f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x")


@pytest.fixture
def no_parsing(monkeypatch):
    """Fail the test if openpyxl is ever asked to open the file."""

    def refuse(*args, **kwargs):
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(reader.openpyxl, "load_workbook", refuse)


def refused(manager, content: bytes, name: str) -> str:
    result = import_workbook(manager, upload(content, name))
    assert not result.ok
    assert len(result.issues) == 1 and result.issues[0].sheet == "" and result.issues[0].row is None
    assert not m.Compound.objects.filter(name="新华小区").exists()
    return result.issues[0].message


def test_oversized_upload_refused(manager, settings, no_parsing):
    content = workbook(valid_sheets())
    settings.ANFANG_MAX_UPLOAD_BYTES = len(content) - 1
    assert "过大" in refused(manager, content, "登记表.xlsx")


def test_wrong_extension_refused(manager, no_parsing):
    assert ".xlsx" in refused(manager, workbook(valid_sheets()), "登记表.xls")


@pytest.mark.parametrize(
    "content",
    [
        b"\xe5\x90\x8d\xe7\xa7\xb0,\xe5\xb1\x82\xe6\x95\xb0\n1\xe5\x8f\xb7\xe6\xa5\xbc,6\n",
        PNG,
        b"",
        b"PK\x03\x04garbage",
    ],
    ids=["csv", "png", "empty", "broken-zip"],
)
def test_not_a_workbook_refused_before_parsing(manager, no_parsing, content):
    assert "不是有效的 Excel" in refused(manager, content, "登记表.xlsx")


def test_zip_without_workbook_part_refused(manager, no_parsing):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert "不是有效的 Excel" in refused(manager, buffer.getvalue(), "登记表.xlsx")


def test_zip_bomb_refused(manager, no_parsing, monkeypatch):
    monkeypatch.setattr(reader, "MAX_UNCOMPRESSED_BYTES", 1000)
    assert "解压后过大" in refused(manager, workbook(valid_sheets()), "登记表.xlsx")


def test_workbook_openpyxl_cannot_read_is_refused(manager):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not-a-workbook")
    assert "无法读取" in refused(manager, buffer.getvalue(), "登记表.xlsx")


def test_a_path_is_accepted(manager, tmp_path):
    path = tmp_path / "登记表.xlsx"
    path.write_bytes(workbook(valid_sheets()))
    assert import_workbook(manager, str(path)).ok
