"""A synthetic city of N compounds (DESIGN.md: ~1,500 compounds, ~50 devices each), written with
bulk_create through the app's own models: organisations, compounds, every part kind, devices.

The layout of one compound is fixed (6 buildings × 2 units, an elevator per unit, 3 entrances,
4 perimeter segments, a parking lot with 2 entrances, 3 public areas, a duty room, a team, a door
survey) and carries exactly DEVICES_PER_COMPOUND devices placed where Art 9–13 look for them.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone

from anfang.compounds import choices as cc
from anfang.compounds import models as cm
from anfang.core.choices import OrgKind
from anfang.core.models import Organisation
from anfang.devices import choices as dc
from anfang.devices.models import Device

BUILDINGS, UNITS = 6, 2
DEVICES_PER_COMPOUND = 50
BATCH = 2000


@dataclass
class CityStats:
    compounds: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


class _Phase:
    """Times one step and counts the rows it wrote."""

    def __init__(self, stats: CityStats, name: str) -> None:
        self.stats, self.name = stats, name

    def __enter__(self) -> _Phase:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stats.seconds[self.name] = self.stats.seconds.get(self.name, 0.0) + time.perf_counter() - self.started


def _insert(stats: CityStats, objs: Sequence[models.Model]) -> None:
    if not objs:
        return
    model = type(objs[0])
    model.objects.bulk_create(objs, batch_size=BATCH)
    key = model._meta.db_table
    stats.rows[key] = stats.rows.get(key, 0) + len(objs)


def _orgs(stats: CityStats, objs: list[Organisation]) -> list[Organisation]:
    """bulk_create skips Organisation.save, so set the materialised paths afterwards."""
    _insert(stats, objs)
    for org in objs:
        org.path = (org.parent.path if org.parent else "/") + f"{org.pk}/"
    Organisation.objects.bulk_update(objs, ["path"], batch_size=BATCH)
    return objs


def _spread(items: list[Any], i: int, n: int) -> Any:
    """The item for position i of n, in contiguous blocks (a station's compounds are neighbours)."""
    return items[i * len(items) // n]


def build_orgs(stats: CityStats, n: int) -> dict[str, list[Organisation]]:
    k = OrgKind
    city = _orgs(stats, [Organisation(kind=k.CITY_BUREAU, name="基准市公安局")])
    districts = _orgs(
        stats,
        [
            Organisation(kind=k.DISTRICT_BUREAU, name=f"基准第{d}分局", parent=city[0])
            for d in range(math.ceil(n / 300))
        ],
    )
    n_stations = math.ceil(n / 50)
    stations = _orgs(
        stats,
        [
            Organisation(kind=k.POLICE_STATION, name=f"基准第{s}派出所", parent=_spread(districts, s, n_stations))
            for s in range(n_stations)
        ],
    )
    streets = _orgs(stats, [Organisation(kind=k.STREET, name=f"基准第{s}街道") for s in range(n_stations)])
    n_communities = math.ceil(n / 10)
    communities = _orgs(
        stats,
        [
            Organisation(kind=k.COMMUNITY, name=f"基准第{c}社区", parent=_spread(streets, c, n_communities))
            for c in range(n_communities)
        ],
    )
    companies = _orgs(
        stats, [Organisation(kind=k.PROPERTY_COMPANY, name=f"基准第{c}物业公司") for c in range(math.ceil(n / 15))]
    )
    return {
        "city": city,
        "districts": districts,
        "stations": stations,
        "communities": communities,
        "companies": companies,
    }


def build_compounds(stats: CityStats, n: int, orgs: dict[str, list[Organisation]]) -> list[cm.Compound]:
    compounds = []
    for i in range(n):
        managed = i % 5 != 4  # one in five has no property company (Art 6)
        status = (
            cc.CompoundStatus.PLANNED
            if i % 50 == 49
            else cc.CompoundStatus.UNDER_CONSTRUCTION
            if i % 20 == 19
            else cc.CompoundStatus.IN_USE
        )
        compounds.append(
            cm.Compound(
                name=f"基准小区{i + 1:05d}",
                address=f"营口市基准区第{i // 100 + 1}大街{i % 100 + 1}号",
                latitude=Decimal("40.600000") + Decimal(i % 300) / 1000,
                longitude=Decimal("122.100000") + Decimal(i // 300) / 100,
                police_station=_spread(orgs["stations"], i, n),
                community=_spread(orgs["communities"], i, n),
                property_company=orgs["companies"][i % len(orgs["companies"])] if managed else None,
                property_contract_ref=f"WY-{i + 1:05d}" if managed else "",
                status=status,
                households=200 + i % 400,
                area_m2=Decimal(20000 + (i % 50) * 1000),
                year_built=1990 + i % 35,
            )
        )
    _insert(stats, compounds)
    return compounds


def build_parts(stats: CityStats, compounds: list[cm.Compound]) -> dict[str, list[Any]]:
    """Every part kind, level by level (a level's rows need the previous level's ids)."""
    buildings = [
        cm.Building(compound=c, name=f"{b}号楼", floors=6 + (c.pk + b) % 27)
        for c in compounds
        for b in range(1, BUILDINGS + 1)
    ]
    _insert(stats, buildings)
    units = [
        cm.Unit(
            compound=b.compound,
            building=b,
            name=f"{u}单元",
            households=b.floors * 2,
            entrance_door_standard=(b.pk % 7 != 0),
            intercom=cc.IntercomKind.NETWORKED if b.pk % 5 else cc.IntercomKind.STANDALONE,
        )
        for b in buildings
        for u in range(1, UNITS + 1)
    ]
    _insert(stats, units)
    elevators = [cm.Elevator(compound=u.compound, building=u.building, unit=u, name=f"{u.name}电梯") for u in units]
    entrances, segments, lots, areas, teams, surveys = [], [], [], [], [], []
    for c in compounds:
        entrances += [
            cm.Entrance(
                compound=c,
                name="主出入口",
                role=cc.EntranceRole.MAIN,
                traffic=cc.Traffic.MIXED,
                gate_type=cc.GateType.ELECTRIC_SLIDING,
                barrier=cc.BarrierKind.ELECTRIC,
            ),
            cm.Entrance(
                compound=c,
                name="次出入口",
                role=cc.EntranceRole.SECONDARY,
                traffic=cc.Traffic.VEHICLE,
                gate_type=cc.GateType.METAL_PROTECTIVE,
                barrier=cc.BarrierKind.ELECTRIC,
            ),
            cm.Entrance(
                compound=c,
                name="人行出入口",
                role=cc.EntranceRole.SECONDARY,
                traffic=cc.Traffic.PEDESTRIAN,
                gate_type=cc.GateType.METAL_PROTECTIVE,
                barrier=cc.BarrierKind.NONE,
            ),
        ]
        segments += [
            cm.PerimeterSegment(
                compound=c,
                name=f"周界{s}段",
                barrier=cc.PerimeterBarrier.WALL if s % 2 else cc.PerimeterBarrier.FENCE,
                length_m=Decimal("150.0"),
                height_m=Decimal("2.20"),
                electronic_protection=(c.pk + s) % 9 != 0,
            )
            for s in range(1, 5)
        ]
        lots.append(cm.ParkingLot(compound=c, name="地下停车库", kind=cc.ParkingKind.UNDERGROUND, spaces=300))
        areas += [
            cm.PublicArea(compound=c, name=n, kind=k)
            for n, k in (
                ("中心广场", cc.AreaKind.SQUARE),
                ("南北主路", cc.AreaKind.MAIN_ROAD),
                ("东西主路", cc.AreaKind.MAIN_ROAD),
            )
        ]
        teams.append(
            cm.SecurityTeam(
                compound=c,
                name="保安队" if c.property_company_id else "社区专职巡防队",
                kind=cc.TeamKind.GUARD_FORCE if c.property_company_id else cc.TeamKind.PATROL_TEAM,
                provider_id=c.property_company_id or c.community_id,
                headcount=8 + c.pk % 10,
            )
        )
        surveys.append(
            cm.HouseholdDoorSurvey(
                compound=c,
                name="户门调查",
                surveyed_on=dt.date(2026, 9, 1),
                households_surveyed=c.households,
                standard_doors=c.households - c.pk % 40,
                lock_grade_b_or_above=c.households // 2,
            )
        )
    for objs in (elevators, entrances, segments, lots, areas, teams, surveys):
        _insert(stats, objs)
    parking_entrances = [
        cm.ParkingEntrance(compound=lot.compound, parking_lot=lot, name=n, barrier=cc.BarrierKind.ELECTRIC)
        for lot in lots
        for n in ("入口", "出口")
    ]
    _insert(stats, parking_entrances)
    main_entrances = entrances[0::3]
    duty_rooms = [
        cm.DutyRoom(
            compound=e.compound,
            name="治安值班室",
            entrance=e,
            area_m2=Decimal(18 + e.pk % 10),
            relation=cc.DutyRoomRelation.MERGED,
            is_monitoring_centre=True,
        )
        for e in main_entrances
    ]
    _insert(stats, duty_rooms)
    return {
        "units": units,
        "elevators": elevators,
        "entrances": entrances,
        "segments": segments,
        "parking_entrances": parking_entrances,
        "areas": areas,
        "duty_rooms": duty_rooms,
    }


def build_devices(compounds: list[cm.Compound], parts: dict[str, list[Any]]) -> list[Device]:
    """Exactly DEVICES_PER_COMPOUND devices per compound, each on the place it covers."""
    by_compound: dict[int, dict[str, list[Any]]] = {c.pk: {} for c in compounds}
    for kind, objs in parts.items():
        for obj in objs:
            by_compound[obj.compound_id].setdefault(kind, []).append(obj)
    now = timezone.now()
    devices = []
    t = dc.DeviceType
    for c in compounds:
        p = by_compound[c.pk]
        vendor = dc.Vendor.HIKVISION if c.pk % 2 else dc.Vendor.DAHUA
        placed: list[tuple[str, str, dict[str, Any]]] = []
        for e in p["entrances"]:
            placed.append((f"{e.name}全景", t.CAMERA, {"entrance": e}))
            if e.traffic != cc.Traffic.PEDESTRIAN:
                placed.append((f"{e.name}车牌识别", t.ANPR_CAMERA, {"entrance": e}))
                placed.append((f"{e.name}道闸", t.BARRIER_CONTROLLER, {"entrance": e}))
        for u in p["units"]:
            placed.append((f"{u.building.name}{u.name}门口", t.CAMERA, {"unit": u}))
            placed.append((f"{u.building.name}{u.name}对讲", t.INTERCOM_OUTDOOR, {"unit": u}))
        for el in p["elevators"]:
            placed.append((f"{el.building.name}{el.name}", t.CAMERA, {"elevator": el}))
        for s in p["segments"]:
            placed.append((f"{s.name}探测器", t.PERIMETER_DETECTOR, {"perimeter_segment": s}))
        for a in p["areas"][:2]:
            placed.append((f"{a.name}", t.CAMERA, {"public_area": a}))
        room = p["duty_rooms"][0]
        placed.append(("监控中心NVR", t.NVR, {"duty_room": room}))
        assert len(placed) == DEVICES_PER_COMPOUND, len(placed)
        for seq, (name, device_type, place) in enumerate(placed, start=1):
            video = device_type in {t.CAMERA, t.ANPR_CAMERA}
            devices.append(
                Device(
                    compound=c,
                    name=name,
                    subsystem=dc.DEFAULT_SUBSYSTEM[device_type],
                    device_type=device_type,
                    vendor=vendor,
                    model="DS-2CD3T47WDV3-L" if vendor == dc.Vendor.HIKVISION else "DH-IPC-HFW3441M-AS-I2",
                    serial=f"B{c.pk:07d}{seq:03d}",
                    ip_address=f"10.{c.pk // 256 % 256}.{c.pk % 256}.{seq + 10}",
                    mac_address=f"44:19:B6:{c.pk // 256 % 256:02X}:{c.pk % 256:02X}:{seq:02X}",
                    resolution_width=2560 if video else None,
                    resolution_height=1440 if video else None,
                    anpr=device_type == t.ANPR_CAMERA,
                    police_linked=video and "entrance" in place,
                    certificate_kind=dc.CertificateKind.TEST_REPORT,
                    certificate_number=f"GA-TR-{c.pk:07d}-{seq:03d}",
                    certificate_issuer="公安部安全与警用电子产品质量检测中心",
                    certificate_valid_until=dt.date(2028, 12, 31),
                    install_date=dt.date(2020, 5, 1),
                    created_at=now,
                    updated_at=now,
                    **place,
                )
            )
    return devices


def generate_city(n_compounds: int, *, before_device_insert: Callable[[list[Device]], None] | None = None) -> CityStats:
    """Write the city. `before_device_insert` sees the device objects before they are inserted
    (the benchmark times a raw COPY of the same rows there)."""
    stats = CityStats(compounds=n_compounds)
    with _Phase(stats, "organisations"):
        orgs = build_orgs(stats, n_compounds)
    with _Phase(stats, "compounds"):
        compounds = build_compounds(stats, n_compounds, orgs)
    with _Phase(stats, "parts"):
        parts = build_parts(stats, compounds)
    with _Phase(stats, "devices (build objects)"):
        devices = build_devices(compounds, parts)
    if before_device_insert:
        before_device_insert(devices)
    with _Phase(stats, "devices (bulk_create)"):
        _insert(stats, devices)
    return stats


# ---- the limit: the same device rows through PostgreSQL COPY --------------------------------

COPY_FIELDS = [f for f in Device._meta.concrete_fields if not f.primary_key]


def copy_rows(devices: list[Device]) -> list[tuple[Any, ...]]:
    return [tuple(getattr(d, f.attname) for f in COPY_FIELDS) for d in devices]


def copy_devices(rows: list[tuple[Any, ...]]) -> float:
    """COPY the rows into the device table (same indexes and constraints); returns seconds."""
    columns = ", ".join(f.column for f in COPY_FIELDS)
    table = Device._meta.db_table
    started = time.perf_counter()
    with connection.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return time.perf_counter() - started


def truncate_devices() -> None:
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {Device._meta.db_table} RESTART IDENTITY CASCADE")
