"""Export → import → export gives the same cells; re-importing an export changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from anfang.compounds import models as m
from anfang.compounds import services
from anfang.compounds.importexport import build_workbook, export_compound, import_workbook, to_bytes
from anfang.core.choices import Role
from anfang.core.models import ChangeRecord
from anfang.devices.models import Device
from tests import factories as f

from .helpers import read_values, upload, valid_sheets, workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(world):
    return f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x")


def full_compound(world, manager) -> m.Compound:
    """A compound built through the services (not the importer), with every part and a device
    on every kind of place."""
    c = world["cx"]
    c.latitude, c.area_m2, c.year_built, c.note = Decimal("40.666667"), Decimal("1200.50"), 2012, "老小区\n二期"
    services.save(manager, c)
    b1 = services.save(manager, m.Building(compound=c, name="1号楼", floors=18))
    services.save(manager, m.Building(compound=c, name="10号楼"))
    u1 = services.save(manager, m.Unit(compound=c, building=b1, name="1单元", entrance_door_standard=False))
    services.save(manager, m.Unit(compound=c, building=b1, name="2单元", intercom="networked", households=30))
    gate = services.save(manager, m.Entrance(compound=c, name="南门", role="main", traffic="mixed", barrier="manual"))
    wall = services.save(
        manager, m.PerimeterSegment(compound=c, name="东墙", barrier="wall", length_m=Decimal("120.5"), height_m=2)
    )
    lot = services.save(manager, m.ParkingLot(compound=c, name="地面停车场", kind="surface", spaces=80))
    pe = services.save(manager, m.ParkingEntrance(compound=c, parking_lot=lot, name="西口", barrier="electric"))
    lift = services.save(manager, m.Elevator(compound=c, building=b1, unit=u1, name="A梯"))
    square = services.save(manager, m.PublicArea(compound=c, name="中心广场", kind="square"))
    room = services.save(
        manager,
        m.DutyRoom(compound=c, name="值班室", entrance=gate, area_m2=Decimal("22.5"), is_monitoring_centre=True),
    )
    services.save(
        manager,
        m.SecurityTeam(compound=c, name="保安队", kind="guard_force", provider=world["company_x"], full_time=False),
    )
    services.save(
        manager,
        m.HouseholdDoorSurvey(
            compound=c, name="2024调查", surveyed_on=dt.date(2024, 3, 1), households_surveyed=50, standard_doors=40
        ),
    )
    places = {"entrance": gate, "unit": u1, "parking_lot": lot, "parking_entrance": pe, "elevator": lift}
    places |= {"perimeter_segment": wall, "public_area": square, "duty_room": room}
    for n, (field, place) in enumerate(places.items()):
        services.save(
            manager,
            Device(
                compound=c,
                name=f"设备{n}",
                subsystem="video",
                device_type="camera",
                serial=f"SN{n}",
                ip_address=f"10.0.0.{n + 1}",
                mac_address=f"AA:BB:CC:DD:EE:{n:02d}",
                install_date=dt.date(2023, 5, n + 1),
                anpr=n % 2 == 0,
                **{field: place},
            ),
        )
    return c


def test_export_import_export_round_trips(world, manager):
    compound = full_compound(world, manager)
    first = to_bytes(export_compound(manager, compound))
    # A fresh registry: the original goes away, the same organisations stay.
    Device.objects.filter(compound=compound).delete()
    compound.delete()
    result = import_workbook(manager, upload(first))
    assert result.ok, result.issues
    second = to_bytes(export_compound(manager, result.compound))
    assert read_values(second) == read_values(first)
    assert Device.objects.get(name="设备4").elevator.name == "A梯"


def test_reimporting_an_export_changes_nothing(world, manager):
    compound = full_compound(world, manager)
    records = ChangeRecord.objects.count()
    result = import_workbook(manager, upload(to_bytes(export_compound(manager, compound))), compound)
    assert result.ok, result.issues
    assert result.created == 0 and result.updated == 0
    assert sum(c.unchanged for c in result.counts.values()) == 1 + 13 + 8  # compound, parts, devices
    assert ChangeRecord.objects.count() == records


def test_imported_workbook_exports_what_was_typed(manager):
    result = import_workbook(manager, upload(workbook(valid_sheets())))
    values = read_values(to_bytes(export_compound(manager, result.compound)))
    header, *rows = values["设备"]
    plate = dict(zip(header, next(r for r in rows if r[0] == "南门车牌机"), strict=True))
    assert plate["子系统（第7条）"] == "视频安防监控系统"
    assert plate["位置类型"] == "出入口" and plate["位置名称"] == "南门"
    assert plate["车牌识别"] == "是" and plate["证书有效期至"] == dt.datetime(2027, 12, 31)
    lift_cam = dict(zip(header, next(r for r in rows if r[0] == "1号梯摄像机"), strict=True))
    assert lift_cam["位置名称"] == "1号楼1号梯"
    units = dict(zip(values["单元"][0], values["单元"][2], strict=True))
    assert units["单元门为国标防盗门"] is None  # not surveyed stays blank


def test_template_has_readme_dropdowns_and_no_data():
    wb = build_workbook()
    assert wb.sheetnames[0] == "说明" and "设备" in wb.sheetnames
    assert wb["选项"].sheet_state == "hidden"
    assert wb["楼栋"].max_row == 1
    assert [c.value for c in wb["出入口"][1]][:3] == ["名称*", "类别*", "通行方式*"]
    formulas = [dv.formula1 for dv in wb["出入口"].data_validations.dataValidation]
    assert formulas and all(fm.startswith("选项!") or fm.startswith("'选项'!") for fm in formulas)
    readme = "\n".join(str(r[0].value) for r in wb["说明"].iter_rows() if r[0].value)
    assert "全部不生效" in readme
