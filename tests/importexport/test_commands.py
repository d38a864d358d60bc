"""manage.py import_compound / export_compound."""

from __future__ import annotations

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from anfang.compounds import models as m
from anfang.core.choices import Role
from tests import factories as f

from .helpers import valid_sheets, workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(world):
    return f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x")


def test_import_then_export(tmp_path, manager, capsys):
    source = tmp_path / "in.xlsx"
    source.write_bytes(workbook(valid_sheets()))
    call_command("import_compound", str(source), "--user", "mgr-x")
    compound = m.Compound.objects.get(name="新华小区")
    assert "imported compound" in capsys.readouterr().out
    target = tmp_path / "out.xlsx"
    call_command("export_compound", str(compound.pk), str(target), "--user", "mgr-x")
    assert openpyxl.load_workbook(target)["楼栋"]["A2"].value == "1号楼"


def test_import_into_and_errors(tmp_path, world, manager, capsys):
    source = tmp_path / "in.xlsx"
    source.write_bytes(workbook({"楼栋": [{"名称": "8号楼", "层数": "八"}]}))
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_compound", str(source), "--into", str(world["cx"].pk), "--user", "mgr-x")
    assert "层数" in capsys.readouterr().err
    assert not m.Building.objects.filter(name="8号楼").exists()


def test_import_refuses_out_of_scope_and_unknown_user(tmp_path, world, manager):
    source = tmp_path / "in.xlsx"
    source.write_bytes(workbook({"楼栋": [{"名称": "8号楼"}]}))
    with pytest.raises(CommandError):
        call_command("import_compound", str(source), "--into", str(world["cy"].pk), "--user", "mgr-x")
    with pytest.raises(CommandError):
        call_command("import_compound", str(source), "--user", "nobody")
    officer = f.user_with(Role.POLICE_STATION, organisation=world["station_a"], username="officer")
    with pytest.raises(CommandError):
        call_command("import_compound", str(source), "--into", str(world["cx"].pk), "--user", officer.username)
    assert not m.Building.objects.exists()


def test_export_respects_user_scope(tmp_path, world, manager):
    with pytest.raises(CommandError):
        call_command("export_compound", str(world["cy"].pk), str(tmp_path / "y.xlsx"), "--user", "mgr-x")
    assert not (tmp_path / "y.xlsx").exists()
    call_command("export_compound", str(world["cy"].pk), str(tmp_path / "y.xlsx"))  # system export
    assert (tmp_path / "y.xlsx").exists()
