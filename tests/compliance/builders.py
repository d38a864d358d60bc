"""Hand-built compounds for the golden cases. `exemplary()` satisfies every registry-based rule;
each golden case starts from it (or from nothing) and breaks exactly one thing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anfang.compliance.engine import Finding, get_pack, run
from anfang.compliance.snapshot import build_snapshots
from anfang.compounds import choices as cc
from anfang.compounds.models import Compound
from anfang.devices import choices as dc
from tests import factories as f

V = dc.Subsystem


@dataclass
class Site:
    compound: Compound
    places: dict[str, Any] = field(default_factory=dict)

    def device(self, name: str, place: str | None = None, **kw: Any):
        """A device at one of the site's places (by key), active, with a good camera by default."""
        kw.setdefault("subsystem", V.VIDEO)
        kw.setdefault("device_type", dc.DeviceType.CAMERA)
        if kw["device_type"] in (dc.DeviceType.CAMERA, dc.DeviceType.ANPR_CAMERA):
            kw.setdefault("resolution_width", 1920)
            kw.setdefault("resolution_height", 1080)
        if place:
            obj = self.places[place]
            kw[_place_field(obj)] = obj
        return f.DeviceFactory(compound=self.compound, name=name, **kw)


def _place_field(obj: Any) -> str:
    return {
        "Entrance": "entrance",
        "Unit": "unit",
        "ParkingLot": "parking_lot",
        "ParkingEntrance": "parking_entrance",
        "Elevator": "elevator",
        "PerimeterSegment": "perimeter_segment",
        "PublicArea": "public_area",
        "DutyRoom": "duty_room",
    }[type(obj).__name__]


def bare(orgs: dict, name: str, **kw: Any) -> Site:
    kw.setdefault("police_station", orgs["station_a"])
    kw.setdefault("property_company", orgs["company_x"])
    return Site(f.CompoundFactory(name=name, **kw))


def exemplary(orgs: dict, name: str = "示范小区", *, managed: bool = True) -> Site:
    if managed:
        site = bare(orgs, name, property_contract_ref="WY-2024-001")
        f.SecurityTeamFactory(compound=site.compound, name="物业保安队", kind=cc.TeamKind.GUARD_FORCE)
    else:
        site = bare(orgs, name, property_company=None, community=orgs["community"])
        f.SecurityTeamFactory(
            compound=site.compound, name="青年社区巡防队", kind=cc.TeamKind.PATROL_TEAM, provider=orgs["community"]
        )
    c = site.compound
    p = site.places
    p["b1"] = f.BuildingFactory(compound=c, name="1号楼", floors=18)
    p["b2"] = f.BuildingFactory(compound=c, name="2号楼", floors=6)
    p["u11"] = f.UnitFactory(building=p["b1"], name="1单元")
    p["u21"] = f.UnitFactory(building=p["b2"], name="1单元")
    p["u22"] = f.UnitFactory(building=p["b2"], name="2单元")
    p["lift1"] = f.ElevatorFactory(building=p["b1"], unit=p["u11"], name="1号梯")
    p["south"] = f.EntranceFactory(compound=c, name="南门", role=cc.EntranceRole.MAIN, traffic=cc.Traffic.MIXED)
    p["north"] = f.EntranceFactory(
        compound=c,
        name="北门",
        role=cc.EntranceRole.SECONDARY,
        traffic=cc.Traffic.PEDESTRIAN,
        gate_type=cc.GateType.METAL_PROTECTIVE,
        barrier=cc.BarrierKind.MANUAL,
    )
    p["east_wall"] = f.PerimeterSegmentFactory(compound=c, name="东段")
    p["west_fence"] = f.PerimeterSegmentFactory(
        compound=c, name="西段", barrier=cc.PerimeterBarrier.FENCE, electronic_protection=None
    )
    p["garage"] = f.ParkingLotFactory(compound=c, name="地下车库")
    p["garage_in"] = f.ParkingEntranceFactory(parking_lot=p["garage"], name="入口")
    p["square"] = f.PublicAreaFactory(compound=c, name="中心广场", kind=cc.AreaKind.SQUARE)
    p["road"] = f.PublicAreaFactory(compound=c, name="主干道")
    p["duty"] = f.DutyRoomFactory(compound=c, name="南门值班室", entrance=p["south"], area_m2="24.0")
    f.HouseholdDoorSurveyFactory(compound=c, name="2024年户门调查")

    site.device("南门车牌机", "south", device_type=dc.DeviceType.ANPR_CAMERA, anpr=True, police_linked=True)
    site.device("北门摄像机", "north")
    for key in ("u11", "u21", "u22"):
        site.device(f"{key}单元门摄像机", key)
    site.device("1号梯摄像机", "lift1")
    site.device("车库入口摄像机", "garage_in")
    site.device("广场摄像机", "square")
    site.device("主干道摄像机", "road")
    site.device("值班室摄像机", "duty")
    site.device("西段探测器", "west_fence", subsystem=V.PERIMETER, device_type=dc.DeviceType.PERIMETER_DETECTOR)
    site.device("南门道闸", "south", subsystem=V.PARKING, device_type=dc.DeviceType.BARRIER_CONTROLLER)
    site.device("巡查点1", subsystem=V.PATROL, device_type=dc.DeviceType.PATROL_CHECKPOINT)
    site.device("巡更棒", subsystem=V.PATROL, device_type=dc.DeviceType.PATROL_READER)
    site.device("门禁控制器", "u11", subsystem=V.ACCESS, device_type=dc.DeviceType.ACCESS_CONTROLLER)
    site.device("对讲门口机", "u11", subsystem=V.INTERCOM, device_type=dc.DeviceType.INTERCOM_OUTDOOR)
    site.device("报警主机", subsystem=V.HOUSEHOLD_ALARM, device_type=dc.DeviceType.HOUSEHOLD_PANEL)
    site.device("监控大屏", "duty", subsystem=V.MONITORING_CENTRE, device_type=dc.DeviceType.VIDEO_WALL)
    return site


def findings(compound: Compound, pack=None) -> dict[str, Finding]:
    """Judge one compound; findings by short rule id ("art9.units")."""
    snap = build_snapshots(Compound.objects.filter(pk=compound.pk))[compound.pk]
    pack = pack or get_pack()
    return {x.rule_id.split(".", 1)[1]: x for x in run(pack, snap)}


def statuses(found: dict[str, Finding]) -> dict[str, str]:
    return {k: str(v.status) for k, v in found.items()}
