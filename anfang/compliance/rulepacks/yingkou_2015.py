"""Mandatory rule pack: 营口市居民住宅小区安全管理办法（营政发〔2015〕42号）, Art 5–16 and 33(1)–(4),
one rule per clause, plus a data-quality rule. Every rule is a pure function of a `Snapshot`;
the policy for missing data is in `compliance.engine`'s docstring. Each rule has a zh-Hans and
an English title and remedy; its evidence lines are written in zh-Hans with `_()` (see
`compliance.evidence`): stored language-neutral, shown in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_noop

from .. import selectors
from ..engine import Level, Outcome, Rule, RulePack, Status, register
from ..evidence import Line, _, term
from ..facts import (
    ELEVATOR_FLOORS,
    NO_DEVICES,
    NO_SITE,
    coverage,
    decimal,
    devices_at,
    devices_surveyed,
    installed,
    is_anpr,
    is_camera,
    label,
    need_list,
    site_surveyed,
    subsystem_present,
    verdict,
)
from ..snapshot import Snapshot

Row = Any  # a snapshot table row (named tuple)

NAME = "yingkou_2015"
VERSION = "1.0"

RULES: list[Rule] = []


def rule(
    rule_id: str,
    article: int | None,
    clause: str,
    title_zh: str,
    title_en: str,
    excerpt: str,
    remedy: str,
    remedy_en: str,
    level: Level = Level.MANDATORY,
) -> Callable[[Callable[[Snapshot], Outcome]], Callable[[Snapshot], Outcome]]:
    def register_rule(func: Callable[[Snapshot], Outcome]) -> Callable[[Snapshot], Outcome]:
        rid = f"{NAME}.{rule_id}"
        RULES.append(Rule(rid, article, clause, title_zh, title_en, excerpt, remedy, func, level, remedy_en))
        return func

    return register_rule


def min_camera_height() -> int:
    return int(getattr(settings, "ANFANG_MIN_CAMERA_HEIGHT", 720))


VEHICLE_TRAFFIC = frozenset({"vehicle", "mixed"})


def vehicle_entrances(s: Snapshot) -> list[Row]:
    return [e for e in s.entrances if e.traffic in VEHICLE_TRAFFIC]


def teams(s: Snapshot, kind: str) -> list[Row]:
    return [t for t in s.security_teams if t.kind == kind]


# Parts of a compound, as evidence names them (terms: translated where shown).
GUARD_FORCE = gettext_noop("物业保安队伍")
PATROL_TEAM = gettext_noop("社区专职巡防队伍")
PERIMETER = gettext_noop("周界段")
ENTRANCES = gettext_noop("出入口")
PARKING_LOTS = gettext_noop("停车场")
PUBLIC_AREAS = gettext_noop("主要通道/广场")
MONITORING_CENTRE = gettext_noop("监控中心")
DUTY_ROOM = gettext_noop("治安值班室")


def bare_buildings(s: Snapshot) -> list[Line]:
    """Buildings registered without any unit."""
    with_units = {u.building_id for u in s.units}
    return [_("{building} 未登记单元", building=b.name) for b in s.buildings if b.id not in with_units]


def units_unknown(s: Snapshot) -> Outcome | None:
    """Buildings registered without their units leave the unit rules undecidable."""
    if not s.buildings:
        return Status.UNKNOWN, [_("未登记楼栋和单元")]
    if not s.units:
        return Status.UNKNOWN, bare_buildings(s)
    return None


def unit_verdict(s: Snapshot, fails: list[Line], unknowns: list[Line], passed: str) -> Outcome:
    """The verdict of a per-unit rule from its failing and unknown units (buildings registered
    without units are unknown too); check `units_unknown` first."""
    passes = len(s.units) - len(fails) - len(unknowns)
    return verdict(fails, unknowns + bare_buildings(s), passes, passed)


# --- Art 5 / Art 6: 人防 -------------------------------------------------------------------


def team_line(t: Row) -> Line:
    if t.headcount is None:
        return _("{team}（人数未登记）", team=t.name)
    return _("{team}（{n}人）", team=t.name, n=t.headcount)


@rule(
    "art5.guard_force",
    5,
    "",
    "物业服务企业按合同配备人防队伍",
    "Managed compound: guard force under the property service contract",
    "实施物业管理的居民住宅小区，物业服务企业应当按照物业服务合同，配备人防队伍，维护小区安全。",
    "由物业服务企业按物业服务合同配备保安队伍，并在登记中填写合同编号、队伍及人数。",
    "Have the property service company provide a guard force as its service contract requires, and "
    "register the contract number, the team and its headcount.",
)
def art5_guard_force(s: Snapshot) -> Outcome:
    if s.management_mode != "managed":
        return Status.NOT_APPLICABLE, [_("本小区无物业管理，适用第6条")]
    guards = teams(s, "guard_force")
    empty = need_list(s, guards, GUARD_FORCE, required=True)
    if empty:
        return empty
    staffed = [t for t in guards if t.headcount != 0]
    if not staffed:
        return Status.FAIL, [_("{team} 人数为0", team=t.name) for t in guards]
    contract = s.compound.property_contract_ref or next((t.contract_ref for t in staffed if t.contract_ref), "")
    company = s.compound.property_company_name or f"#{s.compound.property_company_id}"
    names = [team_line(t) for t in staffed]
    if not contract:
        return Status.UNKNOWN, [
            _("物业服务企业：{company}；保安队伍：{teams}", company=company, teams=names),
            _("未登记物业服务合同编号，无法确认按合同配备"),
        ]
    return Status.PASS, [
        _("物业服务企业{company}按合同{contract}配备保安队伍：{teams}", company=company, contract=contract, teams=names)
    ]


@rule(
    "art6.patrol_team",
    6,
    "",
    "无物业小区由社区专职巡防队伍和属地派出所管理",
    "Unmanaged compound: community full-time patrol team under the local police station",
    "以社区为单位建立专职巡防队伍，由社区、属地公安派出所进行管理和指导，开展巡逻防范工作。",
    "由社区建立专职巡防队伍，明确属地派出所的管理和指导，并在登记中填写队伍信息。",
    "Have the community set up a full-time patrol team managed and guided by the local police station, "
    "and register the team.",
)
def art6_patrol_team(s: Snapshot) -> Outcome:
    if s.management_mode == "managed":
        return Status.NOT_APPLICABLE, [_("本小区实施物业管理，适用第5条")]
    c = s.compound
    if not c.community_id:
        return Status.FAIL, [_("无物业管理的小区未指定所属社区")]
    if not c.police_station_id:
        return Status.FAIL, [_("未指定属地派出所")]
    patrols = teams(s, "patrol_team")
    empty = need_list(s, patrols, PATROL_TEAM, required=True)
    if empty:
        return empty
    good = [t for t in patrols if t.full_time and t.headcount != 0]
    if not good:
        return Status.FAIL, [
            _("{team} 非专职", team=t.name) if not t.full_time else _("{team} 人数为0", team=t.name) for t in patrols
        ]
    return Status.PASS, [
        _(
            "社区{community}专职巡防队伍：{teams}；属地派出所：{station}",
            community=c.community_name or "",
            teams=[t.name for t in good],
            station=c.police_station_name or "",
        )
    ]


# --- Art 7: the nine subsystems --------------------------------------------------------------

SUBSYSTEMS = (
    ("physical", gettext_noop("实体防护")),
    ("perimeter", gettext_noop("周界电子防护系统")),
    ("video", gettext_noop("视频安防监控系统")),
    ("patrol", gettext_noop("电子巡查系统")),
    ("parking", gettext_noop("停车库（场）安全管理系统")),
    ("access", gettext_noop("出入口控制系统")),
    ("intercom", gettext_noop("楼宇（可视）对讲系统")),
    ("household_alarm", gettext_noop("住户报警系统")),
    ("monitoring_centre", gettext_noop("监控中心")),
)


def monitoring_centres(s: Snapshot) -> list[Row]:
    return [r for r in s.duty_rooms if r.is_monitoring_centre or r.relation == "merged"]


def registry_shows(s: Snapshot, subsystem: str) -> bool:
    """A subsystem the registry itself proves present, without a device record."""
    if subsystem == "physical":
        return any(p.barrier != "open" for p in s.perimeter_segments) or any(
            e.gate_type in ("electric_sliding", "metal_protective") for e in s.entrances
        )
    if subsystem == "perimeter":
        return any(p.electronic_protection for p in s.perimeter_segments)
    if subsystem == "intercom":
        return any(u.intercom in ("networked", "standalone") for u in s.units)
    if subsystem == "monitoring_centre":
        return bool(monitoring_centres(s))
    return False


@rule(
    "art7.subsystems",
    7,
    "",
    "配备九类安全防范设施",
    "All nine kinds of security facilities are present",
    "居民住宅小区安全防范设施主要包括实体防护、周界电子防护系统、视频安防监控系统、电子巡查系统、"
    " 停车库（场）安全管理系统、出入口控制系统、楼宇（可视）对讲系统（含门禁）、住户报警系统、监控中心等安防设施。",
    "补齐缺少的子系统（如住户报警系统、监控中心），并在设备台账中登记。",
    "Install the missing subsystems (e.g. household alarms, a monitoring centre) and register them in the "
    "device inventory.",
)
def art7_subsystems(s: Snapshot) -> Outcome:
    present = s.installed_by_subsystem
    missing = [name for key, name in SUBSYSTEMS if not (present.get(key) or registry_shows(s, key))]
    if not missing:
        return Status.PASS, [_("九类安全防范设施均已配备")]
    if devices_surveyed(s):
        return Status.FAIL, [_("缺少{subsystem}", subsystem=term(name)) for name in missing]
    return Status.UNKNOWN, [
        _("{subsystem}：{reason}", subsystem=term(name), reason=term(NO_DEVICES)) for name in missing
    ]


# --- Art 8: perimeter ------------------------------------------------------------------------

ART8 = "居民住宅小区周界应当设置围墙、栅栏等屏障进行封闭式防护，并安装周界电子防护系统。"


def is_perimeter_device(d: Row) -> bool:
    return d.subsystem == "perimeter"


@rule(
    "art8.enclosure",
    8,
    "",
    "周界以围墙、栅栏封闭",
    "Perimeter fully enclosed by walls or fences",
    ART8,
    "在未封闭的周界段设置围墙或栅栏，形成封闭式防护。",
    "Close the open perimeter segments with walls or fences so that the perimeter is fully enclosed.",
)
def art8_enclosure(s: Snapshot) -> Outcome:
    empty = need_list(s, s.perimeter_segments, PERIMETER, required=True)
    if empty:
        return empty
    fails = [_("周界段{segment} 未封闭", segment=p.name) for p in s.perimeter_segments if p.barrier == "open"]
    return verdict(fails, [], len(s.perimeter_segments) - len(fails), _("周界{n}段均已封闭"))


@rule(
    "art8.electronic",
    8,
    "",
    "周界安装电子防护系统",
    "Every perimeter segment covered by electronic protection",
    ART8,
    "在未覆盖的周界段安装周界电子防护系统（如红外对射、电子围栏），并登记设备。",
    "Install perimeter electronic protection (e.g. infrared beams, an electric fence) on the uncovered "
    "segments and register the devices.",
)
def art8_electronic(s: Snapshot) -> Outcome:
    empty = need_list(s, s.perimeter_segments, PERIMETER, required=True)
    if empty:
        return empty
    guarded = devices_at(s, "perimeter_segment", is_perimeter_device)
    fails, unknowns = [], []
    for p in s.perimeter_segments:
        if p.electronic_protection or p.id in guarded:
            continue
        if p.electronic_protection is False:
            fails.append(_("周界段{segment} 无周界电子防护", segment=p.name))
        else:
            unknowns.append(_("周界段{segment} 未核查周界电子防护，且未登记周界设备", segment=p.name))
    passes = len(s.perimeter_segments) - len(fails) - len(unknowns)
    return verdict(fails, unknowns, passes, _("周界{n}段均有电子防护"))


# --- Art 9: video ----------------------------------------------------------------------------

ART9_PLACES = (
    "居民住宅小区出入口及向路面延伸部分、楼栋单元出入口、停车场出入口、电梯轿厢、"
    "小区内主要通道及广场、监控中心（室）内部等部位应当设置视频监控设备"
)
VIDEO_REMEDY = "在上述未覆盖部位安装视频监控设备，并在设备台账中关联安装位置。"
VIDEO_REMEDY_EN = (
    "Install video cameras at the uncovered places listed and link each to its place in the device inventory."
)


@rule(
    "art9.entrances",
    9,
    "",
    "小区出入口视频监控",
    "Video at every compound entrance",
    ART9_PLACES,
    VIDEO_REMEDY,
    VIDEO_REMEDY_EN,
)
def art9_entrances(s: Snapshot) -> Outcome:
    return need_list(s, s.entrances, ENTRANCES, required=True) or coverage(
        s,
        "entrance",
        s.entrances,
        is_camera,
        _("{place} 无出入口摄像机"),
        _("{n}个出入口均有摄像机（含向路面延伸部分）"),
    )


@rule(
    "art9.units",
    9,
    "",
    "楼栋单元出入口视频监控",
    "Video at every building-unit entrance",
    ART9_PLACES,
    VIDEO_REMEDY,
    VIDEO_REMEDY_EN,
)
def art9_units(s: Snapshot) -> Outcome:
    early = units_unknown(s)
    if early:
        return early
    if not devices_surveyed(s):
        return Status.UNKNOWN, [NO_DEVICES]
    covered = devices_at(s, "unit", is_camera)
    fails = [_("{place} 无单元门口摄像机", place=label("unit", u)) for u in s.units if u.id not in covered]
    return unit_verdict(s, fails, [], _("{n}个单元出入口均有摄像机"))


@rule(
    "art9.parking",
    9,
    "",
    "停车场出入口视频监控",
    "Video at every parking entrance",
    ART9_PLACES,
    VIDEO_REMEDY,
    VIDEO_REMEDY_EN,
)
def art9_parking(s: Snapshot) -> Outcome:
    empty = need_list(s, s.parking_lots, PARKING_LOTS, required=False)
    if empty:
        return empty
    if not devices_surveyed(s):
        return Status.UNKNOWN, [NO_DEVICES]
    covered = devices_at(s, "parking_entrance", is_camera)
    fails = [
        _("{place} 无停车场出入口摄像机", place=label("parking_entrance", e))
        for e in s.parking_entrances
        if e.id not in covered
    ]
    passes = len(s.parking_entrances) - len(fails)
    return verdict(fails, lots_without_entrances(s), passes, _("{n}个停车场出入口均有摄像机"))


def lots_without_entrances(s: Snapshot) -> list[Line]:
    """Car parks registered without any entrance (their entrances cannot be judged)."""
    with_gates = {e.parking_lot_id for e in s.parking_entrances}
    return [_("停车场{lot} 未登记出入口", lot=lot.name) for lot in s.parking_lots if lot.id not in with_gates]


@rule(
    "art9.elevators",
    9,
    "",
    "电梯轿厢视频监控",
    "Video in every elevator car",
    ART9_PLACES,
    VIDEO_REMEDY,
    VIDEO_REMEDY_EN,
)
def art9_elevators(s: Snapshot) -> Outcome:
    if not site_surveyed(s):
        return Status.UNKNOWN, [_("未登记电梯"), NO_SITE]
    with_lifts = {e.building_id for e in s.elevators}
    unknowns: list[Line] = []
    for b in s.buildings:
        if b.id in with_lifts:
            continue
        if b.floors is None:
            unknowns.append(_("{building} 层数未登记，无法判断有无电梯", building=b.name))
        elif b.floors >= ELEVATOR_FLOORS:
            unknowns.append(_("{building} {floors}层，未登记电梯", building=b.name, floors=b.floors))
    fails: list[Line] = []
    if s.elevators:
        if not devices_surveyed(s):
            return Status.UNKNOWN, [NO_DEVICES]
        covered = devices_at(s, "elevator", is_camera)
        fails = [_("{place} 轿厢内无摄像机", place=label("elevator", e)) for e in s.elevators if e.id not in covered]
    elif not unknowns:
        return Status.NOT_APPLICABLE, [_("各楼栋均低于{floors}层且未登记电梯", floors=ELEVATOR_FLOORS)]
    return verdict(fails, unknowns, len(s.elevators) - len(fails), _("{n}部电梯轿厢均有摄像机"))


@rule(
    "art9.public_areas",
    9,
    "",
    "主要通道及广场视频监控",
    "Video on the main roads and squares",
    ART9_PLACES,
    VIDEO_REMEDY,
    VIDEO_REMEDY_EN,
)
def art9_public_areas(s: Snapshot) -> Outcome:
    return need_list(s, s.public_areas, PUBLIC_AREAS, required=False) or coverage(
        s, "public_area", s.public_areas, is_camera, _("{place} 无摄像机"), _("{n}处主要通道/广场均有摄像机")
    )


@rule(
    "art9.monitoring_centre",
    9,
    "",
    "监控中心（室）内部视频监控",
    "Video inside the monitoring centre",
    ART9_PLACES,
    VIDEO_REMEDY,
    VIDEO_REMEDY_EN,
)
def art9_monitoring_centre(s: Snapshot) -> Outcome:
    centres = monitoring_centres(s)
    if not centres:
        connected = [r.name for r in s.duty_rooms if r.relation == "connected"]
        if connected:
            return Status.UNKNOWN, [_("{rooms} 与监控中心连通，但监控中心未单独登记", rooms=connected)]
        return need_list(s, centres, MONITORING_CENTRE, required=True) or (Status.UNKNOWN, [_("未登记监控中心")])
    return coverage(s, "duty_room", centres, is_camera, _("{place} 内部无摄像机"), _("监控中心内部有摄像机"))


@rule(
    "art9.clarity",
    9,
    "",
    "监控图像清晰度",
    "Image clarity: camera resolution at or above the minimum",
    "监控图像能够清晰显示人员、车辆基本特征及其活动情况",
    "更换分辨率不足的摄像机，并在台账中登记每台摄像机的分辨率。",
    "Replace cameras whose resolution is too low and register every camera's resolution in the inventory.",
)
def art9_clarity(s: Snapshot) -> Outcome:
    if not devices_surveyed(s):
        return Status.UNKNOWN, [NO_DEVICES]
    cameras = installed(s, is_camera)
    minimum = min_camera_height()
    if not cameras:
        return Status.NOT_APPLICABLE, [_("未登记在用摄像机（覆盖情况见第9条其他规则）")]
    unknowns, fails = [], []
    for d in cameras:
        height = d.resolution_height
        if not height:
            unknowns.append(_("{device} 未登记分辨率", device=d.name))
        elif height < minimum:
            fails.append(
                _(
                    "{device} 分辨率{width}×{height}，低于{minimum}线",
                    device=d.name,
                    width=d.resolution_width,
                    height=height,
                    minimum=minimum,
                )
            )
    passes = len(cameras) - len(unknowns) - len(fails)
    status, evidence = verdict(fails, unknowns, passes, _("{n}台摄像机分辨率均不低于{minimum}线"), minimum=minimum)
    note = _("最低要求：{minimum}线（ANFANG_MIN_CAMERA_HEIGHT）；视频质量检测结果尚未接入", minimum=minimum)
    return status, [*evidence, note]


ART9_ENTRANCE = "小区出入口的监控设备应当能够智能识别机动车号牌，并与公安机关监控平台联网。"


def vehicle_entrance_check(s: Snapshot, pred: Callable[[Row], bool], missing: str, passed: str) -> Outcome:
    empty = need_list(s, s.entrances, ENTRANCES, required=True)
    if empty:
        return empty
    gates = vehicle_entrances(s)
    if not gates:
        return Status.NOT_APPLICABLE, [_("本小区未登记车行出入口")]
    return coverage(s, "entrance", gates, pred, missing, passed)


@rule(
    "art9.anpr",
    9,
    "",
    "出入口车牌识别",
    "Plate recognition (ANPR) at every vehicle entrance",
    ART9_ENTRANCE,
    "在车行出入口安装能够识别机动车号牌的摄像机。",
    "Install cameras that recognise number plates at the vehicle entrances.",
)
def art9_anpr(s: Snapshot) -> Outcome:
    return vehicle_entrance_check(s, is_anpr, _("{place} 无车牌识别摄像机"), _("{n}个车行出入口均能识别车牌"))


def is_police_linked_camera(d: Row) -> bool:
    return is_camera(d) and bool(d.police_linked)


@rule(
    "art9.police_link",
    9,
    "",
    "出入口监控与公安监控平台联网",
    "Entrance cameras linked to the police video platform",
    ART9_ENTRANCE,
    "将车行出入口的监控设备接入公安机关监控平台，并在台账中标记“与公安监控平台联网”。",
    "Connect the vehicle-entrance cameras to the police video platform and mark them “linked to the "
    "police platform” in the inventory.",
)
def art9_police_link(s: Snapshot) -> Outcome:
    registry = vehicle_entrance_check(
        s,
        is_police_linked_camera,
        _("{place} 出入口监控未与公安监控平台联网"),
        _("{n}个车行出入口监控均已与公安平台联网"),
    )
    data = selectors.vehicles(s)
    if data is None or registry[0] is Status.NOT_APPLICABLE:
        return registry
    # With vehicle data, "linked" must also be working: plates read and records delivered.
    problems, usage = anpr_link_working(s, data)
    status, lines = registry
    if problems:
        return Status.FAIL, [*(lines if status is not Status.PASS else []), *problems]
    return status, [*lines, *usage] if status is Status.PASS else lines


# Art 9 in operation: the share of the window's passage records the police platform accepted, and
# how long the oldest record may wait (an endpoint down longer than this is a finding).
UPLINK_MIN_SHARE = 0.95
UPLINK_MAX_PENDING_HOURS = 6


def anpr_link_working(s: Snapshot, data: dict[str, Any]) -> tuple[list[Line], list[Line]]:
    """(problems, usage lines): each vehicle entrance with an ANPR camera read plates in the
    window, and the police uplink delivered the window's records without a long backlog."""
    days = data["window_days"]
    anpr = devices_at(s, "entrance", is_anpr)
    counts = data.get("entrances") or {}
    problems: list[Line] = [
        _("{place} 近{days}日无车牌识别过车记录", place=label("entrance", e), days=days)
        for e in vehicle_entrances(s)
        if e.id in anpr and not (counts.get(str(e.id)) or [0])[0]
    ]
    up = data["uplink"]
    if data["passages"] and not up["queued"]:
        problems.append(_("近{days}日的过车记录均未上传公安平台", days=days))
    elif up["queued"] and up["sent"] < up["queued"] * UPLINK_MIN_SHARE:
        problems.append(
            _(
                "近{days}日上传公安平台成功{sent}/{queued}条（{rate}%），低于{min}%",
                days=days,
                sent=up["sent"],
                queued=up["queued"],
                rate=f"{up['sent'] * 100 / up['queued']:.1f}",
                min=int(UPLINK_MIN_SHARE * 100),
            )
        )
    hours = up.get("oldest_pending_hours")
    if hours is not None and hours > UPLINK_MAX_PENDING_HOURS:
        problems.append(
            _("最早一条待上传记录已等待{hours}小时（超过{max}小时）", hours=hours, max=UPLINK_MAX_PENDING_HOURS)
        )
    if up["dead"]:
        problems.append(_("{n}条过车记录已放弃上传，需在“公安联网上传”页面重新排队", n=up["dead"]))
    usage = [
        _(
            "近{days}日车牌识别过车{n}次，上传公安平台成功{sent}/{queued}条",
            days=days,
            n=data["passages"],
            sent=up["sent"],
            queued=up["queued"],
        )
    ]
    return problems, usage


# --- Art 10: patrol --------------------------------------------------------------------------


# Art 10 asks for a system that controls the process of patrols: in use means most planned
# checkpoints are actually visited. Below this share of checkpoints done over 30 days: fail.
PATROL_MIN_COMPLETION = 0.8


@rule(
    "art10.patrol",
    10,
    "",
    "电子巡查系统",
    "Electronic patrol system with checkpoints",
    "居民住宅小区应当设置对巡查人员的巡查路线、方式、过程进行管理和控制的电子巡查系统。",
    "安装电子巡查系统，设置巡查点并登记。",
    "Install an electronic patrol system, set up its checkpoints and register them.",
)
def art10_patrol(s: Snapshot) -> Outcome:
    data = selectors.patrol(s)
    if data is not None:
        return art10_patrol_in_use(data)
    # Nothing in the patrol module yet: judge the system's presence from the device registry.
    if not devices_surveyed(s):
        return Status.UNKNOWN, [NO_DEVICES]
    devices = subsystem_present(s, "patrol")
    if not devices:
        return Status.FAIL, [_("未配备电子巡查系统")]
    checkpoints = [d for d in devices if d.device_type == "patrol_checkpoint"]
    if not checkpoints:
        return Status.FAIL, [_("电子巡查系统未登记巡查点")]
    return Status.PASS, [_("巡查点{n}个", n=len(checkpoints)), _("巡查路线与执行情况待巡查模块接入")]


def art10_patrol_in_use(data: dict[str, Any]) -> Outcome:
    """The patrol module's facts: system in place (checkpoints, routes, plans) and in use (30-day
    completion rate of the planned checkpoints)."""
    in_place = _("巡查点{n}个，路线{r}条，计划{p}个", n=data["checkpoints"], r=data["routes"], p=data["plans"])
    problems: list[Line] = []
    if not data["checkpoints"]:
        problems.append(_("电子巡查模块未登记巡查点"))
    if not data["routes"] or not data["plans"]:
        problems.append(_("未制定巡查路线或巡查计划"))
    if not data["runs_30d"]:
        problems.append(_("近30日无巡查任务执行记录"))
    if problems:
        return Status.FAIL, [in_place, *problems]
    rate = data.get("completion_rate")
    if rate is None:
        return Status.UNKNOWN, [in_place, _("近30日巡查{n}次，尚无已结束的巡查，完成率暂无", n=data["runs_30d"])]
    usage = _(
        "近30日巡查{n}次（已结束{closed}次，全部完成{done}次），巡查点完成率{rate}%",
        n=data["runs_30d"],
        closed=data["closed_30d"],
        done=data["completed_runs_30d"],
        rate=f"{rate * 100:.1f}",
    )
    if rate < PATROL_MIN_COMPLETION:
        return Status.FAIL, [in_place, usage, _("完成率低于{min}%", min=int(PATROL_MIN_COMPLETION * 100))]
    return Status.PASS, [in_place, usage]


# --- Art 11: parking entrance control --------------------------------------------------------


def is_barrier_controller(d: Row) -> bool:
    return d.device_type == "barrier_controller"


def barrier_problem(place: Row, name: str) -> tuple[Status, Line]:
    """Why a place has no automatic barrier control: none or a manual one, or not checked."""
    if place.barrier in ("manual", "none"):
        return Status.FAIL, _("{place} 无自动控制道闸", place=name)
    return Status.UNKNOWN, _("{place} 道闸未核查", place=name)


@rule(
    "art11.entrance_control",
    11,
    "",
    "出入口、停车场自动控制与视频监控相结合",
    "Automatic barrier control combined with video at vehicle and parking entrances",
    "居民住宅小区出入口、停车场应安装自动控制与视频监控相结合的停车场出入口控制系统。",
    "在车行出入口和停车场出入口安装电动道闸，并配合视频监控。",
    "Install automatic (electric) barriers at the vehicle and parking entrances, combined with video.",
)
def art11_entrance_control(s: Snapshot) -> Outcome:
    empty = need_list(s, s.entrances, ENTRANCES, required=True)
    if empty:
        return empty
    places = [("entrance", e) for e in vehicle_entrances(s)] + [("parking_entrance", e) for e in s.parking_entrances]
    unknowns = lots_without_entrances(s)
    if not places and not unknowns:
        return Status.NOT_APPLICABLE, [_("未登记车行出入口和停车场")]
    if not devices_surveyed(s):
        return Status.UNKNOWN, [NO_DEVICES]
    controllers = {kind: devices_at(s, kind, is_barrier_controller) for kind in ("entrance", "parking_entrance")}
    cameras = {kind: devices_at(s, kind, is_camera) for kind in ("entrance", "parking_entrance")}
    fails: list[Line] = []
    passes = 0
    for kind, place in places:
        barrier = place.barrier == "electric" or place.id in controllers[kind]
        camera = place.id in cameras[kind]
        if barrier and camera:
            passes += 1
            continue
        name = label(kind, place)
        if not barrier:
            status, line = barrier_problem(place, name)
            (fails if status is Status.FAIL else unknowns).append(line)
        if not camera:
            fails.append(_("{place} 无视频监控", place=name))
    status, lines = verdict(fails, unknowns, passes, _("{n}个车行/停车场出入口均有自动道闸和视频监控"))
    data = selectors.vehicles(s)
    if data is None or not data.get("decisions_recorded") or status is Status.NOT_APPLICABLE:
        return status, lines
    # With vehicle data: the barriers are in use — vehicles through them got barrier decisions.
    idle = [
        _("{place} 近{days}日过车{n}次，均无道闸判定记录", place=label(kind, place), days=data["window_days"], n=n)
        for kind, place in places
        if (counts := (data.get(f"{kind}s") or {}).get(str(place.id))) and (n := counts[0]) and not counts[1]
    ]
    if idle:
        return Status.FAIL, [*(lines if status is not Status.PASS else []), *idle]
    if status is Status.PASS and data["decided"]:
        lines = [*lines, _("近{days}日道闸判定{n}次", days=data["window_days"], n=data["decided"])]
    return status, lines


# --- Art 12: gates and barriers at main and secondary entrances -------------------------------


def is_gate(d: Row) -> bool:
    return d.device_type == "gate"


@rule(
    "art12.gates",
    12,
    "",
    "主、次出入口门体和道闸",
    "Main and secondary entrances: sliding or metal gate and a barrier",
    "居民住宅小区主、次出入口应当安装电动伸缩门或金属防护门、手（电）动道闸。",
    "在主、次出入口安装电动伸缩门或金属防护门，以及手动或电动道闸。",
    "Install an electric sliding gate or a metal protective gate, and a manual or electric barrier, at the "
    "main and secondary entrances.",
)
def art12_gates(s: Snapshot) -> Outcome:
    empty = need_list(s, s.entrances, ENTRANCES, required=True)
    if empty:
        return empty
    gates = [e for e in s.entrances if e.role in ("main", "secondary")]
    if not gates:
        return Status.FAIL, [_("未登记主出入口或次出入口")]
    gate_devices = devices_at(s, "entrance", is_gate)
    controllers = devices_at(s, "entrance", is_barrier_controller)
    fails: list[Line] = []
    unknowns: list[Line] = []
    for e in gates:
        if not (e.gate_type in ("electric_sliding", "metal_protective") or e.id in gate_devices):
            if e.gate_type in ("other", "none"):
                fails.append(_("{entrance} 无电动伸缩门或金属防护门", entrance=e.name))
            else:
                unknowns.append(_("{entrance} 门体未核查", entrance=e.name))
        # 道闸 are vehicle barriers: a pedestrian-only entrance is judged on its gate alone.
        if e.traffic == "pedestrian" or e.barrier in ("electric", "manual") or e.id in controllers:
            continue
        if e.barrier == "none":
            fails.append(_("{entrance} 无道闸", entrance=e.name))
        else:
            unknowns.append(_("{entrance} 道闸未核查", entrance=e.name))
    if fails or unknowns:
        return verdict(fails, unknowns, 0, "")
    return Status.PASS, [_("{n}个主、次出入口均有门体，车行出入口均有道闸", n=len(gates))]


# --- Art 13: unit doors and intercom ---------------------------------------------------------

ART13 = "居民住宅小区楼栋单元应当安装符合国家标准的防盗门及联网型楼宇对讲系统。"


@rule(
    "art13.door",
    13,
    "",
    "单元国标防盗门",
    "Standard anti-theft door at every unit",
    ART13,
    "为单元安装符合国家标准的防盗门。",
    "Fit the building units with anti-theft doors that meet the national standard.",
)
def art13_door(s: Snapshot) -> Outcome:
    early = units_unknown(s)
    if early:
        return early
    fails, unknowns = [], []
    for u in s.units:
        if u.entrance_door_standard:
            continue
        if u.entrance_door_standard is None:
            unknowns.append(_("{place} 单元门未核查", place=label("unit", u)))
        else:
            fails.append(_("{place} 单元门非国标防盗门", place=label("unit", u)))
    return unit_verdict(s, fails, unknowns, _("{n}个单元均为国标防盗门"))


INTERCOM_FAILS = {"standalone": _("{place} 楼宇对讲非联网型"), "none": _("{place} 无楼宇对讲")}


@rule(
    "art13.intercom",
    13,
    "",
    "单元联网型楼宇对讲",
    "Networked intercom at every unit",
    ART13,
    "为单元安装联网型楼宇对讲系统，或将现有对讲系统联网。",
    "Install a networked building intercom at the units, or connect the existing intercom to the network.",
)
def art13_intercom(s: Snapshot) -> Outcome:
    early = units_unknown(s)
    if early:
        return early
    fails, unknowns = [], []
    for u in s.units:
        if u.intercom == "networked":
            continue
        failed = INTERCOM_FAILS.get(u.intercom)
        if failed:
            fails.append(_(failed, place=label("unit", u)))
        else:
            unknowns.append(_("{place} 楼宇对讲未核查", place=label("unit", u)))
    return unit_verdict(s, fails, unknowns, _("{n}个单元均有联网型楼宇对讲"))


# --- Art 14: household doors -----------------------------------------------------------------


def latest_survey(s: Snapshot) -> Row | None:
    return max(s.door_surveys, key=lambda r: (r.surveyed_on or "", r.id), default=None)


def survey_scope(s: Snapshot, survey: Row) -> Line:
    total = s.compound.households
    if total:
        return _(
            "{date} 调查{n}户，全小区{total}户", date=survey.surveyed_on, n=survey.households_surveyed, total=total
        )
    return _("{date} 调查{n}户", date=survey.surveyed_on, n=survey.households_surveyed)


NO_DOOR_SURVEY = _("未登记户门调查")


@rule(
    "art14.doors",
    14,
    "",
    "户门为国标防盗门",
    "Household doors are standard anti-theft doors",
    "居民住宅小区家庭套型户门应采用符合国家标准的防盗门",
    "督促住户更换为符合国家标准的防盗门，并定期开展户门调查。",
    "Urge households to replace their doors with anti-theft doors to the national standard, and survey the "
    "doors regularly.",
)
def art14_doors(s: Snapshot) -> Outcome:
    survey = latest_survey(s)
    if survey is None or not survey.households_surveyed:
        return Status.UNKNOWN, [NO_DOOR_SURVEY]
    short = survey.households_surveyed - survey.standard_doors
    if short > 0:
        return Status.FAIL, [_("{survey}，{n}户非国标防盗门", survey=survey_scope(s, survey), n=short)]
    return Status.PASS, [_("{survey}，均为国标防盗门", survey=survey_scope(s, survey))]


@rule(
    "art14.lock_grade",
    14,
    "",
    "鼓励B级以上锁具",
    "B-grade or better locks (encouraged)",
    "鼓励家庭防盗门安装等级为B级以上的锁具。",
    "建议住户将户门锁具升级为B级以上。",
    "Recommend that households upgrade their door locks to grade B or better.",
    level=Level.ENCOURAGED,
)
def art14_lock_grade(s: Snapshot) -> Outcome:
    survey = latest_survey(s)
    if survey is None or not survey.households_surveyed:
        return Status.UNKNOWN, [NO_DOOR_SURVEY]
    if survey.lock_grade_b_or_above is None:
        return Status.UNKNOWN, [_("{survey}，未调查锁具等级", survey=survey_scope(s, survey))]
    short = survey.households_surveyed - survey.lock_grade_b_or_above
    if short > 0:
        return Status.FAIL, [_("{survey}，{n}户锁具低于B级（鼓励性要求）", survey=survey_scope(s, survey), n=short)]
    return Status.PASS, [_("{survey}，均为B级以上锁具", survey=survey_scope(s, survey))]


# --- Art 15: duty room -----------------------------------------------------------------------

MIN_DUTY_ROOM_M2 = 20
MERGED = gettext_noop("合二为一")
CONNECTED = gettext_noop("与监控中心连通")


def judge_duty_room(s: Snapshot, room: Row, entrances: dict[int, Row]) -> tuple[Status, list[Line]]:
    problems: list[Line] = []
    missing: list[Line] = []
    name = room.name
    if room.entrance_id is None:
        missing.append(_("{room} 未关联所在出入口", room=name))
    elif room.entrance_id not in entrances:
        missing.append(_("{room} 关联的出入口不属于本小区（见数据质量）", room=name))
    elif entrances[room.entrance_id].role != "main":
        problems.append(
            _("{room} 不在主出入口（位于{entrance}）", room=name, entrance=entrances[room.entrance_id].name)
        )
    if not (room.is_monitoring_centre or room.relation in ("merged", "connected")):
        if room.relation == "separate":
            problems.append(_("{room} 与监控中心分设未连通", room=name))
        else:
            missing.append(_("{room} 与监控中心关系未登记", room=name))
    area = decimal(room.area_m2)
    if area is None:
        missing.append(_("{room} 面积未登记", room=name))
    elif area <= 0:
        missing.append(_("{room} 面积{area}㎡无效（见数据质量）", room=name, area=room.area_m2))
    elif area < MIN_DUTY_ROOM_M2:
        problems.append(
            _("{room} 面积{area}㎡，不足{minimum}㎡", room=name, area=room.area_m2, minimum=MIN_DUTY_ROOM_M2)
        )
    if problems:
        return Status.FAIL, problems + missing
    if missing:
        return Status.UNKNOWN, missing
    how = MERGED if room.is_monitoring_centre or room.relation == "merged" else CONNECTED
    return Status.PASS, [
        _(
            "{room} 位于主出入口{entrance}，{how}，面积{area}㎡",
            room=name,
            entrance=entrances[room.entrance_id].name,
            how=term(how),
            area=room.area_m2,
        )
    ]


@rule(
    "art15.duty_room",
    15,
    "",
    "主出入口治安值班室，与监控中心连通或合一，不少于20㎡",
    "Duty room at the main entrance, joined with the monitoring centre, at least 20 m²",
    "居民住宅小区主出入口应当设立治安值班室。治安值班室和小区监控中心应当连通或者合二为一，面积不少于20平方米。",
    "在主出入口设立不少于20平方米的治安值班室，并与监控中心连通或合二为一。",
    "Set up a duty room of at least 20 m² at the main entrance, connected to or merged with the monitoring centre.",
)
def art15_duty_room(s: Snapshot) -> Outcome:
    empty = need_list(s, s.duty_rooms, DUTY_ROOM, required=True)
    if empty:
        return empty
    entrances = {e.id: e for e in s.entrances}
    mains = [e.name for e in s.entrances if e.role == "main"]
    verdicts = [judge_duty_room(s, r, entrances) for r in s.duty_rooms]
    note = [_("本小区登记了{n}个主出入口：{entrances}", n=len(mains), entrances=mains)] if len(mains) > 1 else []
    for status in (Status.PASS, Status.UNKNOWN):
        if any(v == status for v, _lines in verdicts):
            picked = [e for v, ev in verdicts if v == status for e in ev]
            return status, (picked[:1] if status == Status.PASS else picked) + note
    return Status.FAIL, [e for _status, ev in verdicts for e in ev] + note


# --- Art 16 and Art 33(1)–(4): operations (data from later modules) -----------------------------


def operational(
    data: dict[str, Any] | None,
    ok: Callable[[dict[str, Any]], list[Line]],
    passed: str,
    missing: str = selectors.NOT_YET,
) -> Outcome:
    """Judge a selector's data: `ok` returns the list of shortcomings (empty: pass)."""
    if data is None:
        return Status.UNKNOWN, [missing]
    problems = ok(data)
    return (Status.FAIL, problems) if problems else (Status.PASS, [passed])


def _flag(data: dict[str, Any], key: str, message: str, details: str | None = None) -> list[Line]:
    """`message` and the module's details (free text, shown as written) when `data[key]` is false."""
    if data.get(key):
        return []
    return [message, *[str(d) for d in data.get(details or "", []) or []]]


@rule(
    "art16.staffing",
    16,
    "",
    "值班室和监控中心24小时有人值班",
    "Duty room and monitoring centre staffed 24 hours",
    "治安值班室和小区监控中心应当24小时有人值班",
    "排定24小时值班表，确保每个时段有人值班。",
    "Draw up a 24-hour duty roster so that someone is on duty at every hour.",
)
def art16_staffing(s: Snapshot) -> Outcome:
    return operational(
        selectors.duty(s),
        lambda d: _flag(d, "staffed_24h", _("存在无人值班时段"), "gaps"),
        _("24小时有人值班"),
        selectors.NO_RECORDS,
    )


@rule(
    "art16.duty_log",
    16,
    "",
    "完整记载值班记录",
    "Complete duty log",
    "完整记载值班记录",
    "按班次完整填写值班记录。",
    "Keep the duty log complete, shift by shift.",
)
def art16_duty_log(s: Snapshot) -> Outcome:
    return operational(
        selectors.duty(s),
        lambda d: _flag(d, "log_complete", _("值班记录不完整"), "log_gaps"),
        _("值班记录完整"),
        selectors.NO_RECORDS,
    )


@rule(
    "art33_1.operation",
    33,
    "1",
    "设施24小时不间断运行并记录运行信息",
    "Facilities run continuously and operation is recorded",
    "保证物防、技防设施24小时不间断运行，并有效记录监控运行信息",
    "排除停机原因，保证设施不间断运行，并记录监控运行信息。",
    "Remove the causes of outages so that the facilities run without interruption, and record their operation.",
)
def art33_1_operation(s: Snapshot) -> Outcome:
    return operational(
        selectors.operation(s),
        lambda d: (
            _flag(d, "continuous", _("设施曾中断运行"), "outages") + _flag(d, "recorded", _("未有效记录监控运行信息"))
        ),
        _("设施不间断运行，运行信息有记录"),
        selectors.NO_RECORDS,
    )


VIDEO_DAYS = 30  # 1个月
VEHICLE_DAYS = 90  # 3个月
VIDEO_DATA = gettext_noop("视频图像")
VEHICLE_DATA = gettext_noop("车辆数据与照片")


def _retention_lines(d: dict[str, Any]) -> tuple[list[Line], list[Line]]:
    """(shortfalls, unknowns): a class kept too briefly fails the rule; a class with no figure
    (no recorder report, no vehicle data yet) leaves it unknown rather than failing it."""
    short: list[Line] = []
    unknown: list[Line] = []
    for key, need, what in (("video_days", VIDEO_DAYS, VIDEO_DATA), ("vehicle_days", VEHICLE_DAYS, VEHICLE_DATA)):
        days = d.get(key)
        if days is None:
            unknown.append(_("{what}存储天数未知，应不少于{need}天", what=term(what), need=need))
        elif days < need:
            short.append(_("{what}存储{days}天，少于{need}天", what=term(what), days=days, need=need))
    return short, unknown


@rule(
    "art33_2.retention",
    33,
    "2",
    "视频存储不少于1个月，车辆数据不少于3个月",
    "Video kept ≥ 1 month, vehicle data and pictures ≥ 3 months",
    "视频图像的存储时间不少于1个月，车辆数据与照片的存储时间不少于3个月",
    "扩充存储容量或调整存储策略，使视频至少保存1个月、车辆数据与照片至少保存3个月。",
    "Add storage or change the retention settings so that video is kept at least 1 month and vehicle data "
    "and pictures at least 3 months.",
)
def art33_2_retention(s: Snapshot) -> Outcome:
    data = selectors.retention(s)
    if data is None:
        return Status.UNKNOWN, [selectors.NOT_YET]
    short, unknown = _retention_lines(data)
    if short:
        return Status.FAIL, short + unknown
    if unknown:
        return Status.UNKNOWN, unknown
    return Status.PASS, [_("存储时间符合要求")]


@rule(
    "art33_3.change_control",
    33,
    "3",
    "不得擅自改变设施用途和位置",
    "No unrecorded change of use or location",
    "不得擅自改变物防、技防设施的用途和位置",
    "恢复被擅自改变的设施；确需变更的，履行变更手续并记录。",
    "Restore facilities changed without approval; where a change is needed, go through the change procedure "
    "and record it.",
)
def art33_3_change_control(s: Snapshot) -> Outcome:
    return operational(
        selectors.change_control(s),
        lambda d: [_("未经登记的变更：{change}", change=str(c)) for c in d.get("unrecorded_changes", [])],
        _("无擅自变更"),
    )


@rule(
    "art33_4.maintenance",
    33,
    "4",
    "日常检查并及时维修",
    "Daily inspection and prompt repair",
    "建立物防、技防设施的日常检查、维护制度，对被损坏或者出现故障的物防、技防设施，及时维修、排除故障",
    "建立日常检查制度，按日检查并及时维修故障设施。",
    "Set up daily inspections, inspect every day and repair faulty facilities promptly.",
)
def art33_4_maintenance(s: Snapshot) -> Outcome:
    return operational(
        selectors.maintenance(s),
        lambda d: (
            _flag(d, "daily_inspection", _("未按日检查"), "missed_days")
            + [_("逾期未修：{repair}", repair=str(r)) for r in d.get("overdue_repairs", [])]
        ),
        _("日常检查按时，故障及时维修"),
    )


# --- Data quality --------------------------------------------------------------------------


def data_quality_issues(s: Snapshot) -> list[Line]:
    cid = s.compound_id
    issues: list[Line] = []
    area = decimal(s.compound.area_m2)
    if area is not None and area <= 0:
        issues.append(_("小区占地面积{area}㎡无效", area=s.compound.area_m2))
    for u in s.units:
        if u.building_compound_id != cid:
            issues.append(
                _(
                    "单元{place} 所属楼栋属于另一小区（#{compound}）",
                    place=label("unit", u),
                    compound=u.building_compound_id,
                )
            )
    for e in s.elevators:
        if e.building_compound_id != cid:
            issues.append(
                _(
                    "电梯{place} 所属楼栋属于另一小区（#{compound}）",
                    place=label("elevator", e),
                    compound=e.building_compound_id,
                )
            )
        if e.unit_id and e.unit_building_id != e.building_id:
            issues.append(_("电梯{place} 所属单元不在该楼栋", place=label("elevator", e)))
    for e in s.parking_entrances:
        if e.parking_lot_compound_id != cid:
            issues.append(
                _(
                    "停车场出入口{entrance} 所属停车场属于另一小区（#{compound}）",
                    entrance=e.name,
                    compound=e.parking_lot_compound_id,
                )
            )
    for r in s.duty_rooms:
        if r.entrance_id and r.entrance_compound_id != cid:
            issues.append(
                _("值班室{room} 关联的出入口属于另一小区（#{compound}）", room=r.name, compound=r.entrance_compound_id)
            )
        room_area = decimal(r.area_m2)
        if room_area is not None and room_area <= 0:
            issues.append(_("值班室{room} 面积{area}㎡无效", room=r.name, area=r.area_m2))
    for p in s.perimeter_segments:
        length = decimal(p.length_m)
        if length is not None and length <= 0:
            issues.append(_("周界段{segment} 长度{length}米无效", segment=p.name, length=p.length_m))
    for v in s.door_surveys:
        if v.standard_doors > v.households_surveyed or (v.lock_grade_b_or_above or 0) > v.households_surveyed:
            issues.append(_("户门调查{survey} 户数超过调查户数", survey=v.name))
    for d in s.devices:
        if d.place_id and d.place_compound_id != cid:
            issues.append(
                _(
                    "设备{device} 关联的安装位置（{kind} #{place}）属于另一小区（#{compound}）",
                    device=d.name,
                    kind=d.place_kind,
                    place=d.place_id,
                    compound=d.place_compound_id,
                )
            )
        if d.n_places > 1:
            issues.append(_("设备{device} 关联了多个安装位置", device=d.name))
    return issues


@rule(
    "data_quality",
    None,
    "",
    "登记数据一致性",
    "Registry data consistency",
    "",
    "更正登记数据：设备、单元、电梯、值班室应关联本小区的位置，面积和长度应为正数。",
    "Correct the registry: devices, units, elevators and duty rooms must be linked to places of this compound, "
    "and areas and lengths must be positive.",
)
def data_quality(s: Snapshot) -> Outcome:
    issues = data_quality_issues(s)
    if not issues and not (s.devices or s.buildings or s.entrances or s.duty_rooms or s.perimeter_segments):
        return Status.NOT_APPLICABLE, [_("无登记数据可检查")]
    return (Status.FAIL, issues) if issues else (Status.PASS, [_("登记数据未发现矛盾")])


PACK = register(
    RulePack(
        name=NAME,
        version=VERSION,
        advisory=False,
        rules=tuple(RULES),
        title="营口市居民住宅小区安全管理办法（营政发〔2015〕42号）",
        title_en="Yingkou Regulation on the Security of Residential Compounds (Ying Zheng Fa [2015] No. 42)",
    )
)
