"""Demo data for `manage.py seed_demo`: a small Yingkou city whose compounds differ per article,
so compliance findings visibly differ (Art 5–16, 24), and one login per role.

Everything is written through the registry services with actor None (system), so the change
history exists exactly as if the compounds had been registered by hand.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q

from anfang.compounds import choices as cc
from anfang.compounds import models as cm
from anfang.compounds import services
from anfang.core.choices import OrgKind, Role
from anfang.core.models import ChangeRecord, Organisation, RoleGrant
from anfang.devices import choices as dc
from anfang.devices.models import Device

DEMO_PASSWORD = "anfang-demo"

# key, kind, name, parent key, extra fields.
ORGS: tuple[tuple[str, str, str, str | None, dict[str, str]], ...] = (
    (
        "city",
        OrgKind.CITY_BUREAU,
        "营口市公安局",
        None,
        {"address": "营口市站前区市府路39号", "contact_phone": "0417-2832110"},
    ),
    ("zhanqian", OrgKind.DISTRICT_BUREAU, "站前分局", "city", {"address": "营口市站前区建设街东段12号"}),
    ("xishi", OrgKind.DISTRICT_BUREAU, "西市分局", "city", {"address": "营口市西市区渤海大街西段96号"}),
    (
        "jianshe",
        OrgKind.POLICE_STATION,
        "建设派出所",
        "zhanqian",
        {"jurisdiction": "建设街以南、渤海大街以北、学府路以东", "contact_phone": "0417-2825110"},
    ),
    (
        "batiandi",
        OrgKind.POLICE_STATION,
        "八田地派出所",
        "zhanqian",
        {"jurisdiction": "八田地街道全境", "contact_phone": "0417-2613110"},
    ),
    (
        "desheng",
        OrgKind.POLICE_STATION,
        "得胜派出所",
        "xishi",
        {"jurisdiction": "得胜街道及滨海街道辖区", "contact_phone": "0417-4822110"},
    ),
    ("st_batiandi", OrgKind.STREET, "八田地街道", None, {"address": "营口市站前区八田地路18号"}),
    ("st_desheng", OrgKind.STREET, "得胜街道", None, {"address": "营口市西市区得胜路56号"}),
    ("qingnian", OrgKind.COMMUNITY, "青年社区", "st_batiandi", {"contact_phone": "0417-2610231"}),
    ("minxing", OrgKind.COMMUNITY, "民兴社区", "st_batiandi", {"contact_phone": "0417-2610562"}),
    ("shengli", OrgKind.COMMUNITY, "胜利社区", "st_desheng", {"contact_phone": "0417-4860317"}),
    ("binhai", OrgKind.COMMUNITY, "滨海社区", "st_desheng", {"contact_phone": "0417-4860825"}),
    (
        "anju",
        OrgKind.PROPERTY_COMPANY,
        "营口安居物业服务有限公司",
        None,
        {"code": "91210800MA0QDEMO1A", "contact_phone": "0417-2881234"},
    ),
    (
        "liaohe",
        OrgKind.PROPERTY_COMPANY,
        "营口辽河物业管理有限公司",
        None,
        {"code": "91210800MA0QDEMO2B", "contact_phone": "0417-4855678"},
    ),
    (
        "binhai_pm",
        OrgKind.PROPERTY_COMPANY,
        "营口滨海物业服务有限公司",
        None,
        {"code": "91210800MA0QDEMO3C", "contact_phone": "0417-4877890"},
    ),
    ("developer", OrgKind.DEVELOPER, "营口鼎盛房地产开发有限公司", None, {"code": "91210800MA0QDEMO4D"}),
    ("designer", OrgKind.DESIGNER, "辽宁华安建筑设计研究院有限公司", None, {"code": "91210000MA0QDEMO5E"}),
    ("contractor", OrgKind.CONTRACTOR, "营口信诚安防工程有限公司", None, {"code": "91210800MA0QDEMO6F"}),
    ("supervisor", OrgKind.SUPERVISOR, "营口建科工程监理有限公司", None, {"code": "91210800MA0QDEMO7G"}),
    ("review", OrgKind.REVIEW_BODY, "营口市建设工程施工图审查中心", None, {"address": "营口市站前区公园路8号"}),
)


@dataclass(frozen=True)
class EntranceSpec:
    name: str
    role: str
    traffic: str
    gate: str = cc.GateType.ELECTRIC_SLIDING
    barrier: str = cc.BarrierKind.ELECTRIC


@dataclass(frozen=True)
class SegmentSpec:
    name: str
    barrier: str
    length_m: str | None
    height_m: str | None
    electronic: bool | None


@dataclass(frozen=True)
class DutyRoomSpec:
    at_entrance: str | None
    area_m2: str | None
    relation: str
    is_monitoring_centre: bool = True
    location: str = "主出入口东侧"


FULL_ENTRANCES = (
    EntranceSpec("南门（主出入口）", cc.EntranceRole.MAIN, cc.Traffic.MIXED),
    EntranceSpec("东门（次出入口）", cc.EntranceRole.SECONDARY, cc.Traffic.VEHICLE),
    EntranceSpec(
        "北门人行口",
        cc.EntranceRole.SECONDARY,
        cc.Traffic.PEDESTRIAN,
        cc.GateType.METAL_PROTECTIVE,
        cc.BarrierKind.NONE,
    ),
)
CLOSED_PERIMETER = (
    SegmentSpec("南侧围墙", cc.PerimeterBarrier.WALL, "210.0", "2.20", True),
    SegmentSpec("东侧栅栏", cc.PerimeterBarrier.FENCE, "180.5", "2.00", True),
    SegmentSpec("北侧围墙", cc.PerimeterBarrier.WALL, "205.0", "2.20", True),
    SegmentSpec("西侧护栏", cc.PerimeterBarrier.RAILING, "176.0", "1.80", True),
)
AREAS = (
    ("中心景观广场", cc.AreaKind.SQUARE),
    ("主干道（南北向）", cc.AreaKind.MAIN_ROAD),
    ("主干道（东西向）", cc.AreaKind.MAIN_ROAD),
)


@dataclass(frozen=True)
class CompoundSpec:
    """One demo compound. The defaults describe a compound that meets every article; each
    demo compound overrides what it lacks."""

    name: str
    address: str
    station: str
    community: str | None
    company: str | None
    lat: str
    lon: str
    year: int | None
    households: int | None
    area_m2: str | None
    status: str = cc.CompoundStatus.IN_USE
    contract: str = ""
    note: str = ""
    vendor: str = dc.Vendor.HIKVISION
    buildings: int = 4
    floors: int | None = 18
    units: int = 2
    elevators: bool = True
    unit_door: bool | None = True
    intercom: str = cc.IntercomKind.NETWORKED
    entrances: tuple[EntranceSpec, ...] = FULL_ENTRANCES
    perimeter: tuple[SegmentSpec, ...] = CLOSED_PERIMETER
    parking: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
        ("地下停车库", cc.ParkingKind.UNDERGROUND, 420, ("车库入口", "车库出口")),
    )
    areas: tuple[tuple[str, str], ...] = AREAS
    duty_room: DutyRoomSpec | None = DutyRoomSpec("南门（主出入口）", "25.0", cc.DutyRoomRelation.MERGED)
    team: bool = True  # Art 5 guard force (managed) or Art 6 community patrol team (unmanaged)
    team_headcount: int | None = 12
    door_survey: tuple[int, int, int | None] | None = (288, 288, 260)
    # Technical protection (Art 9–13, 24); "anpr": overview + ANPR police-linked; "basic": overview only.
    entrance_video: str = "anpr"
    police_linked: bool = True
    unit_cameras: bool = True
    elevators_without_camera: int = 0
    parking_video: bool = True
    barrier_controllers: bool = True
    area_cameras: bool = True
    patrol: tuple[int, int] | None = (2, 8)
    certificates: bool = True
    certificate_valid_until: dt.date = dt.date(2028, 12, 31)
    device_status: str = dc.DeviceStatus.ACTIVE
    install_date: dt.date | None = dt.date(2019, 6, 18)
    builders: bool = False  # construction parties and reviewers are granted this compound


COMPOUNDS: tuple[CompoundSpec, ...] = (
    CompoundSpec(
        "金域华府",
        "营口市站前区渤海大街东段88号",
        "jianshe",
        "qingnian",
        "anju",
        "40.664215",
        "122.258430",
        2018,
        576,
        "48600.00",
        contract="AJWY-2018-017",
        note="示范小区：各条款要求均已落实。",
        buildings=6,
        install_date=dt.date(2018, 9, 1),
    ),
    CompoundSpec(
        "滨海名都",
        "营口市西市区滨海路北段16号",
        "desheng",
        "binhai",
        "binhai_pm",
        "40.671502",
        "122.206774",
        2015,
        420,
        "36200.00",
        contract="BHWY-2015-004",
        vendor=dc.Vendor.DAHUA,
        note="西侧临河段未封闭。",
        perimeter=(*CLOSED_PERIMETER[:3], SegmentSpec("西侧临河段", cc.PerimeterBarrier.OPEN, "96.0", None, False)),
    ),
    CompoundSpec(
        "辽河湾小区",
        "营口市西市区辽河大街西段201号",
        "desheng",
        "shengli",
        "liaohe",
        "40.676930",
        "122.214105",
        2012,
        350,
        "29800.00",
        contract="LHWY-2012-031",
        vendor=dc.Vendor.DAHUA,
        note="治安值班室面积不足20平方米。",
        duty_room=DutyRoomSpec("南门（主出入口）", "19.0", cc.DutyRoomRelation.MERGED),
    ),
    CompoundSpec(
        "锦绣花园",
        "营口市站前区八田地路47号",
        "batiandi",
        "minxing",
        "anju",
        "40.659807",
        "122.247361",
        2016,
        312,
        "25400.00",
        contract="AJWY-2016-009",
        elevators_without_camera=1,
        note="1号楼1单元电梯轿厢未安装摄像机。",
    ),
    CompoundSpec(
        "学府佳苑",
        "营口市站前区学府路22号",
        "jianshe",
        "qingnian",
        "liaohe",
        "40.667742",
        "122.262915",
        2014,
        264,
        "21000.00",
        contract="LHWY-2014-012",
        intercom=cc.IntercomKind.STANDALONE,
        buildings=3,
        note="楼宇对讲为非联网型。",
    ),
    CompoundSpec(
        "机床厂宿舍",
        "营口市站前区东升路113号",
        "batiandi",
        "minxing",
        None,
        "40.655318",
        "122.251806",
        1988,
        180,
        "9800.00",
        note="老旧无物业小区，由民兴社区管理（第6条、第32条）。",
        buildings=5,
        floors=6,
        elevators=False,
        unit_door=False,
        intercom=cc.IntercomKind.NONE,
        vendor=dc.Vendor.DAHUA,
        entrances=(
            EntranceSpec("东门", cc.EntranceRole.MAIN, cc.Traffic.MIXED, cc.GateType.NONE, cc.BarrierKind.NONE),
        ),
        perimeter=(
            SegmentSpec("南侧旧围墙", cc.PerimeterBarrier.WALL, "120.0", "1.60", False),
            SegmentSpec("北侧", cc.PerimeterBarrier.OPEN, "118.0", None, False),
        ),
        parking=(),
        areas=(),
        duty_room=None,
        team_headcount=6,
        door_survey=(180, 47, 5),
        entrance_video="basic",
        police_linked=False,
        unit_cameras=False,
        parking_video=False,
        barrier_controllers=False,
        area_cameras=False,
        patrol=None,
        certificates=False,
        install_date=dt.date(2017, 4, 10),
    ),
    CompoundSpec(
        "新兴里小区",
        "营口市站前区新兴大街67号",
        "jianshe",
        "qingnian",
        None,
        "40.662054",
        "122.266480",
        None,
        None,
        None,
        note="尚未开展安防设施调查。",
        buildings=3,
        floors=None,
        unit_door=None,
        intercom="",
        entrances=(EntranceSpec("小区大门", cc.EntranceRole.MAIN, cc.Traffic.MIXED, "", ""),),
        perimeter=(SegmentSpec("小区周界", cc.PerimeterBarrier.WALL, None, None, None),),
        parking=(),
        areas=(),
        duty_room=DutyRoomSpec(None, None, "", False, ""),
        team_headcount=None,
        door_survey=None,
        entrance_video="none",
        unit_cameras=False,
        parking_video=False,
        barrier_controllers=False,
        area_cameras=False,
        patrol=None,
        elevators=False,
    ),
    CompoundSpec(
        "东升小区",
        "营口市西市区得胜路12号",
        "desheng",
        "shengli",
        None,
        "40.673615",
        "122.220947",
        2003,
        240,
        "15600.00",
        note="无物业小区，社区专职巡防队负责巡逻（第6条）。",
        buildings=4,
        floors=7,
        elevators=False,
        intercom=cc.IntercomKind.STANDALONE,
        vendor=dc.Vendor.DAHUA,
        entrances=(
            EntranceSpec(
                "正门", cc.EntranceRole.MAIN, cc.Traffic.MIXED, cc.GateType.ELECTRIC_SLIDING, cc.BarrierKind.MANUAL
            ),
            EntranceSpec(
                "西侧门",
                cc.EntranceRole.SECONDARY,
                cc.Traffic.PEDESTRIAN,
                cc.GateType.METAL_PROTECTIVE,
                cc.BarrierKind.NONE,
            ),
        ),
        perimeter=(
            SegmentSpec("东侧围墙", cc.PerimeterBarrier.WALL, "140.0", "2.00", True),
            SegmentSpec("西侧栅栏", cc.PerimeterBarrier.FENCE, "138.0", "1.80", False),
        ),
        parking=(("地面停车场", cc.ParkingKind.SURFACE, 80, ("停车场入口",)),),
        areas=(("中心广场", cc.AreaKind.SQUARE),),
        duty_room=DutyRoomSpec("正门", "16.0", cc.DutyRoomRelation.CONNECTED, False, "正门北侧"),
        team_headcount=8,
        door_survey=(240, 198, 61),
        entrance_video="basic",
        police_linked=False,
        unit_cameras=False,
        barrier_controllers=False,
        patrol=(1, 4),
        certificate_valid_until=dt.date(2024, 6, 30),
        install_date=dt.date(2016, 10, 20),
    ),
    CompoundSpec(
        "华府新天地",
        "营口市站前区金牛山大街中段155号",
        "batiandi",
        "minxing",
        "binhai_pm",
        "40.661247",
        "122.240529",
        2010,
        398,
        "31500.00",
        contract="BHWY-2010-022",
        note="未建电子巡查系统；停车场出入口无道闸控制。",
        parking=(("地面停车场", cc.ParkingKind.SURFACE, 150, ("停车场入口", "停车场出口")),),
        barrier_controllers=False,
        patrol=None,
        door_survey=None,
        install_date=dt.date(2017, 5, 8),
    ),
    CompoundSpec(
        "春江花园",
        "营口市西市区渤海大街西段58号",
        "desheng",
        "binhai",
        "liaohe",
        "40.669380",
        "122.211204",
        2013,
        330,
        "27300.00",
        contract="LHWY-2013-005",
        vendor=dc.Vendor.DAHUA,
        note="值班室设于北门、与监控中心分设；东门无门体；部分设备无产品证书。",
        entrances=(
            FULL_ENTRANCES[0],
            EntranceSpec(
                "东门（次出入口）",
                cc.EntranceRole.SECONDARY,
                cc.Traffic.VEHICLE,
                cc.GateType.NONE,
                cc.BarrierKind.ELECTRIC,
            ),
            FULL_ENTRANCES[2],
        ),
        duty_room=DutyRoomSpec("北门人行口", "22.0", cc.DutyRoomRelation.SEPARATE, False, "北门西侧"),
        police_linked=False,
        certificates=False,
    ),
    CompoundSpec(
        "御景湾",
        "营口市站前区盼盼路东段9号",
        "jianshe",
        "qingnian",
        "anju",
        "40.670811",
        "122.271637",
        None,
        640,
        "52000.00",
        status=cc.CompoundStatus.UNDER_CONSTRUCTION,
        contract="AJWY-2026-前期-003",
        note="在建：安防设施与主体工程同步施工（第17条）。",
        buildings=5,
        door_survey=None,
        device_status=dc.DeviceStatus.PLANNED,
        install_date=None,
        team=False,
        builders=True,
    ),
    CompoundSpec(
        "渤海明珠",
        "营口市西市区清华路北段30号",
        "desheng",
        "binhai",
        "binhai_pm",
        "40.679402",
        "122.203318",
        None,
        480,
        "40200.00",
        status=cc.CompoundStatus.PLANNED,
        contract="BHWY-2026-前期-001",
        note="规划中：设计文件待报审（第19条、第20条）。",
        buildings=4,
        units=2,
        unit_door=None,
        intercom="",
        entrances=(FULL_ENTRANCES[0],),
        perimeter=(),
        parking=(),
        areas=(),
        duty_room=None,
        team=False,
        door_survey=None,
        entrance_video="none",
        unit_cameras=False,
        parking_video=False,
        barrier_controllers=False,
        area_cameras=False,
        patrol=None,
        builders=True,
    ),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    label: str
    orgs: tuple[str, ...] = ()
    compounds: tuple[str, ...] = ()  # compound names
    staff: bool = False


BUILDER_COMPOUNDS = tuple(s.name for s in COMPOUNDS if s.builders)
USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", Role.PLATFORM_ADMIN, "平台管理员（含 /admin/）", staff=True),
    DemoUser("police-city", Role.POLICE_CITY, "营口市公安局", orgs=("city",)),
    DemoUser("police-district", Role.POLICE_DISTRICT, "站前分局", orgs=("zhanqian",)),
    DemoUser("police-station", Role.POLICE_STATION, "建设派出所", orgs=("jianshe",)),
    DemoUser("community", Role.COMMUNITY_MANAGER, "青年社区", orgs=("qingnian",)),
    DemoUser("property", Role.PROPERTY_MANAGER, "营口安居物业服务有限公司", orgs=("anju",)),
    DemoUser("operator", Role.DUTY_OPERATOR, "金域华府 值班室", compounds=("金域华府",)),
    DemoUser("guard", Role.GUARD, "民兴社区专职巡防队", orgs=("minxing",)),
    DemoUser(
        "builder",
        Role.CONSTRUCTION_PARTY,
        "营口信诚安防工程有限公司",
        orgs=("contractor",),
        compounds=BUILDER_COMPOUNDS,
    ),
    DemoUser("reviewer", Role.REVIEWER, "营口市建设工程施工图审查中心", orgs=("review",), compounds=BUILDER_COMPOUNDS),
)


def _org_q() -> Q:
    q = Q(pk__in=[])
    for _key, kind, name, _parent, _extra in ORGS:
        q |= Q(kind=kind, name=name)
    return q


def ensure_orgs() -> dict[str, Organisation]:
    orgs: dict[str, Organisation] = {}
    for key, kind, name, parent, extra in ORGS:
        org = Organisation.objects.filter(kind=kind, name=name).first()
        if org is None:
            org = services.save(None, Organisation(kind=kind, name=name, parent=orgs.get(parent or ""), **extra))
        orgs[key] = org
    return orgs


class _DeviceMaker:
    """Names, serials, IPs and MACs for one compound's devices, unique and realistic."""

    MODELS: dict[str, dict[str, tuple[str, int | None, int | None]]] = {
        dc.Vendor.HIKVISION: {
            dc.DeviceType.CAMERA: ("DS-2CD3T47WDV3-L", 2560, 1440),
            dc.DeviceType.ANPR_CAMERA: ("iDS-TCM403-GIR", 2560, 1440),
            dc.DeviceType.NVR: ("DS-9664NI-M8", None, None),
            dc.DeviceType.BARRIER_CONTROLLER: ("DS-TMG4B5", None, None),
            dc.DeviceType.ACCESS_CONTROLLER: ("DS-K1T671M", None, None),
            dc.DeviceType.INTERCOM_OUTDOOR: ("DS-KD8003-IME1", None, None),
            dc.DeviceType.ALARM_HOST: ("DS-PHA64-P", None, None),
            dc.DeviceType.HOUSEHOLD_PANEL: ("DS-PWA64-L-WE", None, None),
            dc.DeviceType.VIDEO_WALL: ("DS-D2055NL-B", None, None),
            dc.DeviceType.WORKSTATION: ("DS-VM11S-B", None, None),
            dc.DeviceType.GATE: ("DS-TMG033", None, None),
        },
        dc.Vendor.DAHUA: {
            dc.DeviceType.CAMERA: ("DH-IPC-HFW3441M-AS-I2", 2688, 1520),
            dc.DeviceType.ANPR_CAMERA: ("DH-ITC237-PW6M-IRLZF", 1920, 1080),
            dc.DeviceType.NVR: ("DH-NVR5464-EI", None, None),
            dc.DeviceType.BARRIER_CONTROLLER: ("DH-IPMECS-2201C", None, None),
            dc.DeviceType.ACCESS_CONTROLLER: ("DH-ASI7213Y-V3", None, None),
            dc.DeviceType.INTERCOM_OUTDOOR: ("DH-VTO6221E-P", None, None),
            dc.DeviceType.ALARM_HOST: ("DH-ARC3008C", None, None),
            dc.DeviceType.HOUSEHOLD_PANEL: ("DHI-ARC3008H-W2", None, None),
            dc.DeviceType.VIDEO_WALL: ("DH-LM55-F200", None, None),
            dc.DeviceType.WORKSTATION: ("DH-IVSS7008", None, None),
            dc.DeviceType.GATE: ("DH-IPMECD-3011", None, None),
        },
    }
    # Perimeter detectors and patrol devices come from specialist makers.
    OTHER_MODELS: dict[str, str] = {
        dc.DeviceType.PERIMETER_DETECTOR: "ABT-100 红外对射探测器",
        dc.DeviceType.ELECTRIC_FENCE: "JD-4DB 脉冲电子围栏主机",
        dc.DeviceType.PATROL_READER: "Z-6200C 巡更棒",
        dc.DeviceType.PATROL_CHECKPOINT: "ID-80 巡查点",
    }
    OUI: dict[str, str] = {dc.Vendor.HIKVISION: "44:19:B6", dc.Vendor.DAHUA: "3C:EF:8C", dc.Vendor.OTHER: "00:1E:C0"}

    def __init__(self, spec: CompoundSpec, number: int) -> None:
        self.spec, self.number, self.seq = spec, number, 0

    def make(self, compound: cm.Compound, name: str, device_type: str, **place: Any) -> Device:
        self.seq += 1
        vendor = self.spec.vendor if device_type not in self.OTHER_MODELS else dc.Vendor.OTHER
        model, width, height = self.MODELS.get(vendor, {}).get(device_type) or (
            self.OTHER_MODELS[device_type],
            None,
            None,
        )
        networked = device_type not in {dc.DeviceType.PATROL_CHECKPOINT, dc.DeviceType.PATROL_READER}
        is_video = device_type in {dc.DeviceType.CAMERA, dc.DeviceType.ANPR_CAMERA}
        prefixes: dict[str, str] = {dc.Vendor.HIKVISION: "K", dc.Vendor.DAHUA: "7F0A", dc.Vendor.OTHER: "XG"}
        prefix = prefixes[vendor]
        device = Device(
            compound=compound,
            name=name,
            device_type=device_type,
            subsystem=dc.DEFAULT_SUBSYSTEM.get(device_type, dc.Subsystem.PHYSICAL),
            vendor=vendor,
            model=model,
            serial=f"{prefix}{2015 + self.number:04d}{self.number:02d}{self.seq:05d}",
            ip_address=f"10.86.{self.number}.{self.seq + 10}" if networked else None,
            mac_address=f"{self.OUI[vendor]}:{self.number:02X}:{self.seq // 256:02X}:{self.seq % 256:02X}"
            if networked
            else "",
            resolution_width=width,
            resolution_height=height,
            anpr=device_type == dc.DeviceType.ANPR_CAMERA,
            police_linked=is_video and self.spec.police_linked and "entrance" in place,  # Art 9
            status=self.spec.device_status,
            install_date=self.spec.install_date,
            **place,
        )
        if self.spec.certificates:
            self._certify(device)
        return device

    def _certify(self, device: Device) -> None:
        """Art 24: production registration approval for police-scope products, else a test report."""
        if device.subsystem in {dc.Subsystem.PERIMETER, dc.Subsystem.HOUSEHOLD_ALARM}:
            device.certificate_kind = dc.CertificateKind.PRODUCTION_APPROVAL
            device.certificate_number = f"辽公技防准字〔2018〕{self.number:02d}{self.seq:03d}号"
            device.certificate_issuer = "辽宁省公安厅"
        else:
            device.certificate_kind = dc.CertificateKind.TEST_REPORT
            device.certificate_number = f"GA-TR-2018-{self.number:02d}{self.seq:04d}"
            device.certificate_issuer = "公安部安全与警用电子产品质量检测中心"
        device.certificate_valid_until = self.spec.certificate_valid_until


def _parts_and_devices(spec: CompoundSpec, compound: cm.Compound, number: int) -> Iterator[models.Model]:
    """Yield every part, then its devices, in the order they must be saved."""
    mk = _DeviceMaker(spec, number)
    entrances: dict[str, cm.Entrance] = {}
    for e in spec.entrances:
        entrance = cm.Entrance(
            compound=compound, name=e.name, role=e.role, traffic=e.traffic, gate_type=e.gate, barrier=e.barrier
        )
        entrances[e.name] = entrance
        yield entrance
        if spec.entrance_video != "none":
            yield mk.make(compound, f"{e.name} 全景摄像机", dc.DeviceType.CAMERA, entrance=entrance)
        vehicles = e.traffic != cc.Traffic.PEDESTRIAN
        if vehicles and spec.entrance_video == "anpr":
            yield mk.make(compound, f"{e.name} 车牌识别摄像机", dc.DeviceType.ANPR_CAMERA, entrance=entrance)
        if vehicles and spec.barrier_controllers and e.barrier == cc.BarrierKind.ELECTRIC:
            yield mk.make(compound, f"{e.name} 道闸控制器", dc.DeviceType.BARRIER_CONTROLLER, entrance=entrance)
        if e.gate == cc.GateType.ELECTRIC_SLIDING and spec.entrance_video != "none":
            yield mk.make(compound, f"{e.name} 电动伸缩门", dc.DeviceType.GATE, entrance=entrance)
        if e.traffic != cc.Traffic.VEHICLE and spec.entrance_video == "anpr":
            yield mk.make(compound, f"{e.name} 人行门禁", dc.DeviceType.ACCESS_CONTROLLER, entrance=entrance)

    elevator_no = 0
    for b in range(1, spec.buildings + 1):
        building = cm.Building(compound=compound, name=f"{b}号楼", floors=spec.floors)
        yield building
        for u in range(1, spec.units + 1):
            unit = cm.Unit(
                compound=compound,
                building=building,
                name=f"{u}单元",
                households=spec.floors * 2 if spec.floors else None,
                entrance_door_standard=spec.unit_door,
                intercom=spec.intercom,
            )
            yield unit
            if spec.unit_cameras:
                yield mk.make(compound, f"{b}号楼{u}单元 门口摄像机", dc.DeviceType.CAMERA, unit=unit)
            if spec.intercom in {cc.IntercomKind.NETWORKED, cc.IntercomKind.STANDALONE}:
                yield mk.make(compound, f"{b}号楼{u}单元 对讲门口机", dc.DeviceType.INTERCOM_OUTDOOR, unit=unit)
            if spec.elevators:
                elevator_no += 1
                elevator = cm.Elevator(compound=compound, building=building, unit=unit, name=f"{u}单元电梯")
                yield elevator
                # The first `elevators_without_camera` cars lack one (an Art 9 finding).
                if spec.unit_cameras and elevator_no > spec.elevators_without_camera:
                    yield mk.make(compound, f"{b}号楼{u}单元 电梯摄像机", dc.DeviceType.CAMERA, elevator=elevator)

    for s in spec.perimeter:
        segment = cm.PerimeterSegment(
            compound=compound,
            name=s.name,
            barrier=s.barrier,
            length_m=Decimal(s.length_m) if s.length_m else None,
            height_m=Decimal(s.height_m) if s.height_m else None,
            electronic_protection=s.electronic,
        )
        yield segment
        if s.electronic:
            kind: str = (
                dc.DeviceType.ELECTRIC_FENCE
                if s.barrier == cc.PerimeterBarrier.WALL
                else dc.DeviceType.PERIMETER_DETECTOR
            )
            yield mk.make(compound, f"{s.name} 周界探测", kind, perimeter_segment=segment)
    if any(s.electronic for s in spec.perimeter):
        yield mk.make(compound, "周界报警主机", dc.DeviceType.ALARM_HOST, location_note="监控中心机柜")

    for lot_name, kind, spaces, gates in spec.parking:
        lot = cm.ParkingLot(compound=compound, name=lot_name, kind=kind, spaces=spaces)
        yield lot
        for gate in gates:
            barrier = cc.BarrierKind.ELECTRIC if spec.barrier_controllers else cc.BarrierKind.NONE
            pe = cm.ParkingEntrance(compound=compound, parking_lot=lot, name=gate, barrier=barrier)
            yield pe
            if spec.parking_video:
                yield mk.make(
                    compound, f"{lot_name}{gate} 车牌识别摄像机", dc.DeviceType.ANPR_CAMERA, parking_entrance=pe
                )
            if spec.barrier_controllers:
                yield mk.make(
                    compound, f"{lot_name}{gate} 道闸控制器", dc.DeviceType.BARRIER_CONTROLLER, parking_entrance=pe
                )

    for area_name, kind in spec.areas:
        area = cm.PublicArea(compound=compound, name=area_name, kind=kind)
        yield area
        if spec.area_cameras:
            yield mk.make(compound, f"{area_name} 摄像机", dc.DeviceType.CAMERA, public_area=area)

    if spec.duty_room:
        d = spec.duty_room
        room = cm.DutyRoom(
            compound=compound,
            name="治安值班室" if not d.is_monitoring_centre else "治安值班室（监控中心）",
            entrance=entrances.get(d.at_entrance or ""),
            location=d.location,
            area_m2=Decimal(d.area_m2) if d.area_m2 else None,
            relation=d.relation,
            is_monitoring_centre=d.is_monitoring_centre,
        )
        yield room
        if spec.entrance_video != "none":
            yield mk.make(compound, "监控中心 硬盘录像机", dc.DeviceType.NVR, duty_room=room)
            yield mk.make(compound, "监控中心 内部摄像机", dc.DeviceType.CAMERA, duty_room=room)
        if spec.entrance_video == "anpr":
            yield mk.make(compound, "监控中心 拼接大屏", dc.DeviceType.VIDEO_WALL, duty_room=room)
            yield mk.make(compound, "监控中心 工作站", dc.DeviceType.WORKSTATION, duty_room=room)
            # Art 7 住户报警系统: household alarms report to the monitoring centre.
            yield mk.make(compound, "住户报警接警主机", dc.DeviceType.HOUSEHOLD_PANEL, duty_room=room)

    if spec.patrol:
        readers, checkpoints = spec.patrol
        for n in range(1, readers + 1):
            yield mk.make(compound, f"巡更棒{n:02d}", dc.DeviceType.PATROL_READER, location_note="值班室充电座")
        for n in range(1, checkpoints + 1):
            yield mk.make(compound, f"巡查点{n:02d}", dc.DeviceType.PATROL_CHECKPOINT, location_note=f"巡逻路线第{n}点")

    if spec.team:
        yield _team(spec, compound)
    if spec.door_survey:
        surveyed, standard, lock_b = spec.door_survey
        yield cm.HouseholdDoorSurvey(
            compound=compound,
            name="2026年户门入户调查",
            surveyed_on=dt.date(2026, 9, 15),
            households_surveyed=surveyed,
            standard_doors=standard,
            lock_grade_b_or_above=lock_b,
        )


def _team(spec: CompoundSpec, compound: cm.Compound) -> cm.SecurityTeam:
    """Art 5: the property company's guard force; Art 6: the community's full-time patrol team."""
    if compound.property_company_id:
        return cm.SecurityTeam(
            compound=compound,
            name="物业保安队",
            kind=cc.TeamKind.GUARD_FORCE,
            provider=compound.property_company,
            headcount=spec.team_headcount,
            contract_ref=spec.contract,
            leader="王建国",
            phone="0417-2881300",
        )
    community = compound.community
    assert community is not None, "an unmanaged compound belongs to a community (Art 6)"
    return cm.SecurityTeam(
        compound=compound,
        name=f"{community.name}专职巡防队",
        kind=cc.TeamKind.PATROL_TEAM,
        provider=community,
        headcount=spec.team_headcount,
        contract_ref=f"{community.name}〔2026〕巡防3号",
        leader="李志强",
        phone=community.contact_phone,
    )


def ensure_compound(spec: CompoundSpec, number: int, orgs: dict[str, Organisation]) -> tuple[cm.Compound, bool]:
    """Create the compound with all its parts and devices, unless it exists already."""
    station = orgs[spec.station]
    existing = cm.Compound.objects.filter(police_station=station, name=spec.name).first()
    if existing:
        return existing, False
    compound = services.save(
        None,
        cm.Compound(
            name=spec.name,
            address=spec.address,
            latitude=Decimal(spec.lat),
            longitude=Decimal(spec.lon),
            police_station=station,
            community=orgs[spec.community] if spec.community else None,
            property_company=orgs[spec.company] if spec.company else None,
            property_contract_ref=spec.contract,
            status=spec.status,
            households=spec.households,
            area_m2=Decimal(spec.area_m2) if spec.area_m2 else None,
            year_built=spec.year,
            note=spec.note,
        ),
    )
    for obj in _parts_and_devices(spec, compound, number):
        services.save(None, obj)
    return compound, True


def ensure_users(orgs: dict[str, Organisation]) -> list[Any]:
    User = get_user_model()
    password = make_password(DEMO_PASSWORD)  # hashed once: the same demo password for everyone
    compounds = {c.name: c for c in cm.Compound.objects.filter(name__in={n for u in USERS for n in u.compounds})}
    users = []
    for spec in USERS:
        user, _created = User.objects.get_or_create(username=spec.username)
        user.password = password
        user.is_staff = user.is_superuser = spec.staff
        user.is_active = True
        user.save()
        scopes: list[dict[str, Any]] = [{"organisation": orgs[k]} for k in spec.orgs]
        scopes += [{"compound": compounds[n]} for n in spec.compounds]
        for scope in scopes or [{}]:
            grant = RoleGrant(user=user, role=spec.role, **scope)
            grant.full_clean(exclude=["user"])
            RoleGrant.objects.get_or_create(user=user, role=spec.role, **scope)
        users.append(user)
    return users


# Apps with a `demo.seed(compounds, users)` of their own, run after the registry is in place.
DEMO_APPS = ("patrol", "vehicles", "uplink", "retention", "audit")


@dataclass
class SeedResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


@transaction.atomic
def seed() -> SeedResult:
    """Idempotent: what exists is kept, what is missing is created."""
    orgs = ensure_orgs()
    result = SeedResult()
    for number, spec in enumerate(COMPOUNDS, start=1):
        compound, created = ensure_compound(spec, number, orgs)
        (result.created if created else result.existing).append(compound.name)
    users = {u.get_username(): u for u in ensure_users(orgs)}
    compounds = list(cm.Compound.objects.filter(name__in=[spec.name for spec in COMPOUNDS]).order_by("pk"))
    for app in DEMO_APPS:  # each domain app seeds its own demo data (patrol routes, vehicle lists …)
        importlib.import_module(f"anfang.{app}.demo").seed(compounds, users)
    return result


# Never deleted by a reset: the access audit is an unbroken chain (Art 33(5)).
APPEND_ONLY = frozenset({"audit.AuditEntry"})


def _reset_app_data(compound_ids: list[int], org_ids: list[int]) -> None:
    """Delete what the domain apps hold for these compounds (patrol runs, vehicle lists, holds,
    alarms …). Several of their models protect their compound or each other, so delete in passes
    until nothing protected is left (the order follows from the protections, not from a list)."""
    from django.apps import apps
    from django.db.models import ProtectedError

    owned = [
        (model, {f"{field}__in": ids})
        for label in (*DEMO_APPS, "alarms", "duty", "events")
        for model in apps.get_app_config(label).get_models()
        for field, ids in (("compound", compound_ids), ("organisation", org_ids))
        if any(f.name == field and f.many_to_one for f in model._meta.get_fields())
        and model._meta.label not in APPEND_ONLY
    ]
    for _pass in range(len(owned)):
        blocked = False
        for model, where in owned:
            try:
                with transaction.atomic():
                    model._default_manager.filter(**where).delete()
            except ProtectedError:
                blocked = True
        if not blocked:
            return
    raise RuntimeError("demo reset: protected rows left")


@transaction.atomic
def reset() -> None:
    """Remove the demo organisations, everything registered under them, and the demo users."""
    org_ids = list(Organisation.objects.filter(_org_q()).values_list("pk", flat=True))
    compounds = cm.Compound.objects.filter(
        Q(police_station__in=org_ids) | Q(community__in=org_ids) | Q(property_company__in=org_ids)
    )
    compound_ids = list(compounds.values_list("pk", flat=True))
    _reset_app_data(compound_ids, org_ids)
    from anfang.events.models import EventKey

    EventKey.objects.filter(device__compound__in=compound_ids).delete()
    Device.objects.filter(compound__in=compound_ids).delete()
    ChangeRecord.objects.filter(compound__in=compound_ids).delete()
    ChangeRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(Organisation), object_id__in=[str(i) for i in org_ids]
    ).delete()
    cm.Compound.objects.filter(pk__in=compound_ids).delete()
    from anfang.audit.models import ExportRequest

    demo_users = get_user_model().objects.filter(username__in=[u.username for u in USERS])
    ExportRequest.objects.filter(Q(requester__in=demo_users) | Q(approver__in=demo_users)).delete()
    demo_users.delete()
    # Children before parents: the tree protects a parent that still has children.
    for org in sorted(Organisation.objects.filter(pk__in=org_ids), key=lambda o: -o.path.count("/")):
        org.delete()


def login_table() -> list[tuple[str, str, str]]:
    return [(u.username, str(Role(u.role).label), u.label) for u in USERS]
