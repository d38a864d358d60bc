"""Importing a workbook: everything or nothing, every problem reported with its cell."""

from __future__ import annotations

from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied

from anfang.compounds import models as m
from anfang.compounds.importexport import build_workbook, import_workbook, to_bytes
from anfang.core.choices import ChangeAction, Role
from anfang.core.models import ChangeRecord
from anfang.devices.models import Device
from tests import factories as f

from .helpers import column_letter, upload, valid_sheets, workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(world):
    return f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x")


def registry_size() -> int:
    return sum(model.objects.count() for model in (m.Compound, *m.PART_MODELS, Device))


def test_valid_workbook_creates_compound_with_everything(manager):
    result = import_workbook(manager, upload(workbook(valid_sheets())))
    assert result.ok, result.issues
    compound = result.compound
    assert compound.name == "新华小区"
    assert compound.property_company.name == "安居物业"
    assert compound.area_m2 == Decimal("35000.50")
    assert result.counts["单元"].created == 3
    assert result.counts["设备"].created == 5
    assert result.created == 1 + 2 + 3 + 2 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 5
    unit1, unit2 = m.Unit.objects.filter(compound=compound, building__name="1号楼").order_by("name")
    assert unit1.entrance_door_standard is True
    assert unit2.entrance_door_standard is None  # blank: not surveyed, compliance reads unknown
    assert unit2.intercom == "standalone"
    elevator = m.Elevator.objects.get(compound=compound)
    assert elevator.unit == unit1
    plate = Device.objects.get(compound=compound, name="南门车牌机")
    assert plate.subsystem == "video"  # blank: the device type's default
    assert plate.entrance.name == "南门" and plate.anpr and plate.police_linked
    assert str(plate.certificate_valid_until) == "2027-12-31"
    assert Device.objects.get(name="1号梯摄像机").elevator == elevator
    assert Device.objects.get(name="东口摄像机").parking_entrance.name == "东口"
    assert Device.objects.get(name="值班室大屏").duty_room.name == "南门值班室"
    assert m.SecurityTeam.objects.get(compound=compound).phone == "13800000000"


def test_import_history_is_recorded_as_import(manager):
    result = import_workbook(manager, upload(workbook(valid_sheets())))
    records = ChangeRecord.objects.filter(compound=result.compound)
    assert records.count() == result.created
    assert set(records.values_list("action", flat=True)) == {ChangeAction.IMPORT}
    assert set(records.values_list("note", flat=True)) == {"Excel 导入"}
    assert set(records.values_list("actor", flat=True)) == {manager.pk}


def test_three_bad_cells_on_three_sheets_import_nothing_and_report_all(manager):
    sheets = valid_sheets()
    sheets["单元"][1]["单元门为国标防盗门"] = "也许"  # row 3
    sheets["出入口"][1]["类别"] = "侧门"  # row 3
    sheets["设备"][2]["分辨率宽"] = "高清"  # row 4
    content = workbook(sheets)
    before = registry_size()
    result = import_workbook(manager, upload(content))
    assert not result.ok
    assert registry_size() == before
    assert not ChangeRecord.objects.exists()
    found = {(i.sheet, i.row, i.column, i.header) for i in result.issues}
    assert found == {
        ("单元", 3, column_letter(content, "单元", "单元门为国标防盗门"), "单元门为国标防盗门"),
        ("出入口", 3, column_letter(content, "出入口", "类别"), "类别*"),
        ("设备", 4, column_letter(content, "设备", "分辨率宽"), "分辨率宽"),
    }
    messages = {i.sheet: i.message for i in result.issues}
    assert "也许" in messages["单元"] and "是" in messages["单元"]
    assert "主出入口" in messages["出入口"]  # lists the allowed values
    assert "整数" in messages["设备"]


def test_device_naming_a_missing_place_is_a_row_error(manager):
    sheets = valid_sheets()
    sheets["设备"][1]["位置名称"] = "9号楼1单元"
    content = workbook(sheets)
    result = import_workbook(manager, upload(content))
    assert [(i.sheet, i.row, i.column) for i in result.issues] == [
        ("设备", 3, column_letter(content, "设备", "位置名称"))
    ]
    assert "9号楼1单元" in result.issues[0].message and "单元" in result.issues[0].message
    assert not m.Compound.objects.filter(name="新华小区").exists()


def test_place_kind_without_name_is_an_error(manager):
    sheets = valid_sheets()
    sheets["设备"][1]["位置名称"] = None
    result = import_workbook(manager, upload(workbook(sheets)))
    assert [(i.sheet, i.row, i.header) for i in result.issues] == [("设备", 3, "位置名称")]


def test_duplicate_names_in_a_sheet_are_errors(manager):
    sheets = valid_sheets()
    sheets["楼栋"].append({"名称": "1号楼", "层数": 9})  # row 4 repeats row 2
    sheets["单元"].append({"楼栋": "2号楼", "名称": "2单元"})  # same unit name, other building: fine
    sheets["单元"].append({"楼栋": "2号楼", "名称": "2单元"})  # row 6 repeats row 5
    result = import_workbook(manager, upload(workbook(sheets)))
    found = [(i.sheet, i.row, i.header) for i in result.issues]
    assert found == [("楼栋", 4, "名称*"), ("单元", 6, "名称*")]
    assert "第 2 行" in result.issues[0].message and "第 5 行" in result.issues[1].message
    assert not m.Building.objects.exists()


def test_model_validation_maps_back_to_columns(manager, world):
    f.DeviceFactory(compound=world["cy"], vendor="hikvision", serial="DS-TCG-0001")  # another compound's device
    sheets = valid_sheets()
    sheets["户门调查"][0]["国标防盗门户数"] = 120  # more than surveyed: the model's clean refuses
    sheets["周界段"][0]["高度（米）"] = -1
    content = workbook(sheets)
    result = import_workbook(manager, upload(content))
    found = {(i.sheet, i.row, i.header) for i in result.issues}
    assert found == {("户门调查", 2, "国标防盗门户数*"), ("周界段", 2, "高度（米）"), ("设备", 2, "序列号")}
    serial = next(i for i in result.issues if i.sheet == "设备")
    assert serial.column == column_letter(content, "设备", "序列号")
    assert "序列号" in serial.message


def test_reference_to_a_failed_row_is_not_reported_twice(manager):
    sheets = valid_sheets()
    sheets["楼栋"][0]["层数"] = "十八"  # 1号楼 fails; its units and elevator name it
    result = import_workbook(manager, upload(workbook(sheets)))
    assert [(i.sheet, i.row) for i in result.issues] == [("楼栋", 2)]


def test_unknown_police_station_is_reported_on_its_cell(manager):
    sheets = valid_sheets()
    sheets["小区"][0]["属地派出所"] = "不存在派出所"
    sheets["楼栋"][0]["层数"] = "很多"
    result = import_workbook(manager, upload(workbook(sheets)))
    found = {(i.sheet, i.row, i.header) for i in result.issues}
    assert found == {("小区", 2, "属地派出所*"), ("楼栋", 2, "层数")}


def test_missing_compound_sheet_row_and_required_column(manager):
    sheets = valid_sheets()
    del sheets["小区"]
    result = import_workbook(manager, upload(workbook(sheets)))
    assert [i.sheet for i in result.issues] == ["小区"]
    assert "小区信息" in result.issues[0].message


def test_missing_required_column_is_reported(manager, world):
    wb = build_workbook()
    wb["楼栋"].delete_cols(1)  # no 名称 column
    result = import_workbook(manager, upload(to_bytes(wb)), world["cx"])
    assert [(i.sheet, i.row, i.header) for i in result.issues] == [("楼栋", 1, "名称*")]


def test_row_cap(manager, world, monkeypatch):
    from anfang.compounds.importexport import reader

    monkeypatch.setattr(reader, "MAX_ROWS", 3)
    rows = [{"名称": f"{n}号楼"} for n in range(1, 6)]
    result = import_workbook(manager, upload(workbook({"楼栋": rows})), world["cx"])
    assert [(i.sheet, i.row) for i in result.issues] == [("楼栋", 5)]
    assert "3 行" in result.issues[0].message
    assert not m.Building.objects.exists()


# --- into an existing compound ------------------------------------------------------------------


def test_import_into_existing_upserts_by_name_and_leaves_unchanged_rows_alone(manager, world):
    cx = world["cx"]
    old = f.BuildingFactory(compound=cx, name="1号楼", floors=6)
    same = f.BuildingFactory(compound=cx, name="3号楼", floors=11)
    sheets = {
        "楼栋": [{"名称": "1号楼", "层数": 18}, {"名称": "2号楼"}, {"名称": "3号楼", "层数": 11}],
        "单元": [{"楼栋": "3号楼", "名称": "1单元"}],
    }
    result = import_workbook(manager, upload(workbook(sheets)), cx)
    assert result.ok, result.issues
    assert (result.counts["楼栋"].created, result.counts["楼栋"].updated, result.counts["楼栋"].unchanged) == (1, 1, 1)
    old.refresh_from_db()
    assert old.floors == 18
    assert m.Unit.objects.get(compound=cx).building == same
    update = ChangeRecord.objects.get(object_id=str(old.pk), content_type__model="building")
    assert update.action == ChangeAction.UPDATE and update.note == "Excel 导入"
    assert update.changes == {"floors": [6, 18]}
    assert not ChangeRecord.objects.filter(object_id=str(same.pk), content_type__model="building").exists()


def test_import_into_existing_does_not_touch_missing_columns(manager, world):
    cx = world["cx"]
    unit = f.UnitFactory(building=f.BuildingFactory(compound=cx, name="1号楼"), name="1单元", households=40)
    wb = openpyxl.Workbook()
    wb.active.title = "单元"
    wb.active.append(["楼栋*", "名称*", "户数"])  # a clerk's own sheet with just three columns
    wb.active.append(["1号楼", "1单元", 42])
    result = import_workbook(manager, upload(to_bytes(wb)), cx)
    assert result.ok, result.issues
    unit.refresh_from_db()
    assert unit.households == 42
    assert unit.entrance_door_standard is True and unit.intercom == "networked"  # left as they were


def test_compound_sheet_must_name_the_target(manager, world):
    sheets = {"小区": valid_sheets()["小区"], "楼栋": [{"名称": "9号楼"}]}
    result = import_workbook(manager, upload(workbook(sheets)), world["cx"])
    assert [(i.sheet, i.header) for i in result.issues] == [("小区", "小区名称*")]
    assert not m.Building.objects.filter(name="9号楼").exists()


def test_out_of_scope_compound_is_refused(manager, world):
    with pytest.raises(PermissionDenied):
        import_workbook(manager, upload(workbook({"楼栋": [{"名称": "入侵楼"}]})), world["cy"])
    assert not m.Building.objects.filter(name="入侵楼").exists()


def test_police_cannot_import(world):
    officer = f.user_with(Role.POLICE_STATION, organisation=world["station_a"])
    with pytest.raises(PermissionDenied):
        import_workbook(officer, upload(workbook(valid_sheets())))
    with pytest.raises(PermissionDenied):
        import_workbook(officer, upload(workbook({"楼栋": [{"名称": "x"}]})), world["cx"])


def test_new_compound_for_another_company_is_refused(manager):
    sheets = valid_sheets()
    sheets["小区"][0]["物业服务企业"] = "乐家物业"
    with pytest.raises(PermissionDenied):
        import_workbook(manager, upload(workbook(sheets)))
    assert not m.Compound.objects.filter(name="新华小区").exists()
