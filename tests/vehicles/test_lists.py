"""The compound's vehicle lists: validation, Excel import (all or nothing, errors by row) and export."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from anfang.audit.models import AuditEntry
from anfang.core.choices import Role
from anfang.vehicles import lists, services
from anfang.vehicles.models import ResidentVehicle, VisitorPass, WatchEntry
from tests import factories as f
from tests.vehicles.factories import ResidentVehicleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cx(world):
    return world["cx"]


@pytest.fixture
def manager(world):
    return f.user_with(Role.PROPERTY_MANAGER, world["company_x"])


def workbook(rows: list[list], headers: list[str]) -> SimpleUploadedFile:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return SimpleUploadedFile("list.xlsx", buffer.getvalue())


RESIDENT_HEADERS = ["车牌号*", "车主姓名*", "车主电话", "单元/住户", "有效期起", "有效期止", "停车场"]


def test_plate_is_normalised_on_save(cx, manager):
    entry = services.save_entry(manager, ResidentVehicle(compound=cx, plate=" 辽ｈ·１２３４５ ", owner_name="张三"))
    assert entry.plate == "辽H12345"


def test_invalid_plate_is_refused_with_the_reason(cx, manager):
    with pytest.raises(ValidationError) as exc:
        services.save_entry(manager, ResidentVehicle(compound=cx, plate="辽H12", owner_name="张三"))
    assert "plate" in exc.value.message_dict
    assert "辽H12" in exc.value.message_dict["plate"][0]


def test_same_plate_twice_is_refused(cx, manager):
    services.save_entry(manager, ResidentVehicle(compound=cx, plate="辽H12345", owner_name="张三"))
    with pytest.raises(ValidationError) as exc:
        services.save_entry(manager, ResidentVehicle(compound=cx, plate="辽h12345", owner_name="李四"))
    assert "本小区已登记该车牌" in str(exc.value)


def test_validity_and_window_rules(cx, manager):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as exc:
        services.save_entry(
            manager,
            ResidentVehicle(
                compound=cx, plate="辽H12345", owner_name="张三", valid_from=today, valid_to=today - dt.timedelta(1)
            ),
        )
    assert "valid_to" in exc.value.message_dict
    now = timezone.now()
    with pytest.raises(ValidationError) as exc:
        services.save_entry(
            manager, VisitorPass(compound=cx, plate="辽H12345", valid_from=now, valid_to=now - dt.timedelta(hours=1))
        )
    assert "valid_to" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.save_entry(
            manager, VisitorPass(compound=cx, plate="辽H12345", valid_from=now, valid_to=now + dt.timedelta(days=40))
        )
    assert "valid_to" in exc.value.message_dict


def test_unit_of_another_compound_is_refused(cx, manager):
    other_unit = f.UnitFactory()
    with pytest.raises(ValidationError) as exc:
        services.save_entry(manager, ResidentVehicle(compound=cx, plate="辽H12345", owner_name="张", unit=other_unit))
    assert "unit" in exc.value.message_dict


@pytest.mark.parametrize(("pattern", "ok"), [("辽H*88", True), ("辽H1234?", True), ("*8", False), ("辽H$*", False)])
def test_watch_patterns(cx, manager, pattern, ok):
    entry = WatchEntry(compound=cx, plate=pattern, reason="x")
    if ok:
        assert services.save_entry(manager, entry).plate == pattern
    else:
        with pytest.raises(ValidationError):
            services.save_entry(manager, entry)


def test_guard_keeps_visitors_not_residents(world, cx):
    guard = f.user_with(Role.GUARD, world["company_x"])
    now = timezone.now()
    visitor = services.save_entry(
        guard, VisitorPass(compound=cx, plate="辽B12345", valid_from=now, valid_to=now + dt.timedelta(hours=2))
    )
    assert visitor.created_by == guard
    with pytest.raises(PermissionDenied):
        services.save_entry(guard, ResidentVehicle(compound=cx, plate="辽H12345", owner_name="张三"))


def test_police_keep_the_watch_list(world, cx):
    police = f.user_with(Role.POLICE_STATION, world["station_a"])
    entry = services.save_entry(police, WatchEntry(compound=cx, plate="辽H9999A", reason="协查"))
    assert entry.added_by == police
    other = f.user_with(Role.POLICE_STATION, world["station_b"])
    with pytest.raises(PermissionDenied):
        services.save_entry(other, WatchEntry(compound=cx, plate="辽H8888A", reason="协查"))


def test_import_with_bad_rows_imports_nothing(cx, manager):
    ResidentVehicleFactory(compound=cx, plate="辽H00001", owner_name="旧")
    upload = workbook(
        [
            ["辽H00001", "新车主", "13900000000", None, "2024-01-01", None, None],
            ["辽H12", "王五", None, None, None, None, None],
            ["辽H22222", None, None, None, None, None, None],
            ["辽H33333", "赵六", None, None, "2024-13-01", None, None],
            ["辽H44444", "孙七", None, None, None, None, "不存在的停车场"],
            ["辽h00001", "重复", None, None, None, None, None],
        ],
        RESIDENT_HEADERS,
    )
    result = lists.import_list(manager, cx, ResidentVehicle, upload, upload.name)
    assert not result.ok
    text = "\n".join(result.errors)
    assert "第 3 行 车牌号" in text and "辽H12" in text
    assert "第 4 行 车主姓名" in text
    assert "第 5 行 有效期起" in text
    assert "第 6 行 停车场" in text
    assert "第 7 行" in text and "第 2 行重复" in text
    assert ResidentVehicle.objects.get().owner_name == "旧"  # nothing half-imported
    assert ResidentVehicle.objects.count() == 1


def test_import_creates_and_updates(cx, manager):
    ResidentVehicleFactory(compound=cx, plate="辽H00001", owner_name="旧")
    unit = f.UnitFactory(building=f.BuildingFactory(compound=cx, name="3号楼"), name="2单元")
    lot = f.ParkingLotFactory(compound=cx, name="地下车库")
    upload = workbook(
        [
            ["辽H00001", "新车主", 13900000000, "3号楼 2单元", dt.datetime(2024, 1, 1), "2030年1月1日", "地下车库"],
            ["辽H55555", "周八", None, "3号楼2单元", None, None, None],
        ],
        RESIDENT_HEADERS,
    )
    result = lists.import_list(manager, cx, ResidentVehicle, upload, upload.name)
    assert result.ok, result.errors
    assert (result.created, result.updated) == (1, 1)
    updated = ResidentVehicle.objects.get(plate="辽H00001")
    assert updated.owner_name == "新车主" and updated.owner_phone == "13900000000"
    assert updated.unit == unit and updated.parking_lot == lot and updated.valid_to == dt.date(2030, 1, 1)


def test_import_missing_column_and_not_a_workbook(cx, manager):
    result = lists.import_list(manager, cx, ResidentVehicle, workbook([["辽H12345"]], ["车牌号"]), "a.xlsx")
    assert result.errors and "车主姓名" in result.errors[0]
    from anfang.compounds.importexport.reader import UploadRejected

    with pytest.raises(UploadRejected):
        lists.import_list(manager, cx, ResidentVehicle, SimpleUploadedFile("a.xlsx", b"not a zip"), "a.xlsx")


def test_visitor_import_reads_times_and_choices(cx, manager):
    upload = workbook(
        [["辽B12345", "访客甲", "业主", "张三", "2030-01-01 08:00", "2030-01-01 20:00", "多次"]],
        ["车牌号", "访客姓名", "登记方", "被访业主", "有效时间起", "有效时间止", "通行次数"],
    )
    result = lists.import_list(manager, cx, VisitorPass, upload, upload.name)
    assert result.ok, result.errors
    visitor = VisitorPass.objects.get()
    assert visitor.kind == "multiple" and visitor.issued_by == "resident"
    assert timezone.localtime(visitor.valid_from).hour == 8


def test_export_reads_back(cx, manager):
    ResidentVehicleFactory(compound=cx, plate="辽H00001", owner_name="甲")
    data = lists.export_list(ResidentVehicle, ResidentVehicle.objects.filter(compound=cx))
    ResidentVehicle.objects.all().delete()
    result = lists.import_list(manager, cx, ResidentVehicle, SimpleUploadedFile("e.xlsx", data), "e.xlsx")
    assert result.ok, result.errors
    assert ResidentVehicle.objects.get().owner_name == "甲"


def test_export_view_is_audited_and_scoped(client, world, cx, manager):
    ResidentVehicleFactory(compound=cx)
    client.force_login(manager)
    response = client.get(f"/vehicles/{cx.pk}/residents/export.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    entry = AuditEntry.objects.get(action="export")
    assert entry.object_type == "vehicles.residents" and entry.compound_id == cx.pk and entry.actor == manager
    assert client.get(f"/vehicles/{world['cy'].pk}/residents/export.xlsx").status_code == 404


def test_import_view_shows_row_errors(client, cx, manager):
    client.force_login(manager)
    upload = workbook([["辽H12", "王五"]], ["车牌号", "车主姓名"])
    response = client.post(f"/vehicles/{cx.pk}/residents/import/", {"file": upload})
    assert response.status_code == 400
    assert "第 2 行" in response.content.decode()
    assert not ResidentVehicle.objects.exists()
