"""Advisory pack: requirements of national standards that go beyond, or spell out, the Yingkou
regulation. The pack is registered with `advisory=True`; its findings are stored in their own
assessment and are never counted as a violation of the regulation.

Every rule cites the standard, the clause and the public page its text was read from (`source`).
A standard's "应" is judged as a requirement (`fail` when not met); its "宜" / "不宜" and the
explanatory notes (条文说明) are judged as encouraged, so a shortfall is a `recommendation`.

Only requirements whose text could be read were encoded. Looked for and NOT encoded, because
no clause text was found to check: GB/T 21741 (the 2008 edition is abolished, replaced by
GB/T 21741-2021, of which only the table of contents was found), GB 50348-2018 (only the list
of its mandatory clauses), GB 50395-2007 and GB 50396-2007 (front matter only), GA/T 644-2006
(title page only), GB 17565 (nothing), GB 50096-2011 §6.4.1 (wording found, clause number not).

GB/T 21741 was searched for again on 2026-11-25 (Chinese and English queries over standards
catalogues, web pages and public code): still only catalogue entries for both editions, the
2021 edition's table of contents (§6–§8 the three protection levels, Appendix A the facility
configuration) and a question-and-answer page paraphrasing perimeter requirements (1.8 m
enclosure, 15 cm bar spacing) without clause numbers or a verifiable source. Nothing of it is
encoded: a rule needs the clause it cites.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..engine import Level, Outcome, Rule, RulePack, Status, register
from ..evidence import Line, _
from ..facts import (
    NO_DEVICES,
    NO_SITE,
    combine,
    decimal,
    devices_at,
    devices_surveyed,
    is_anpr,
    is_camera,
    label,
    need_list,
    site_surveyed,
    subsystem_present,
)
from ..snapshot import Snapshot
from .yingkou_2015 import ENTRANCES, PERIMETER, PUBLIC_AREAS, min_camera_height, monitoring_centres

Row = Any  # a snapshot table row (named tuple)

NAME = "gb_advisory"
VERSION = "1.0"

# Where the clause texts were read (see each rule's `source`).
SRC_GB55029 = "http://www.jianbiaoku.com/webarbs/book/167031/4841444.shtml"
SRC_JGJ16 = "https://jikaoti.com/ti/n0ShFFFM"
SRC_GB51348 = "http://m.jianbiaoku.com/webarbs/book/152596/4431915.shtml"

GB55029 = "GB 55029-2022"  # 安全防范工程通用规范
JGJ16 = "JGJ 16-2008"  # 民用建筑电气设计规范 (superseded by GB 51348-2019 in 2020)
GB51348 = "GB 51348-2019"  # 民用建筑电气设计标准

RULES: list[Rule] = []


@dataclass(frozen=True)
class StandardRule(Rule):
    """A rule from a national standard: cited by standard and clause instead of by article."""

    standard: str = ""
    source: str = ""  # the public page the requirement was read from

    @property
    def citation(self) -> str:
        return f"{self.standard} §{self.clause}"

    @property
    def citation_zh(self) -> str:
        return f"{self.standard} 第{self.clause}条"


def rule(
    rule_id: str,
    standard: str,
    clause: str,
    title_zh: str,
    title_en: str,
    excerpt: str,
    remedy: str,
    remedy_en: str,
    source: str,
    level: Level = Level.MANDATORY,
) -> Callable[[Callable[[Snapshot], Outcome]], Callable[[Snapshot], Outcome]]:
    def register_rule(func: Callable[[Snapshot], Outcome]) -> Callable[[Snapshot], Outcome]:
        RULES.append(
            StandardRule(
                f"{NAME}.{rule_id}",
                None,  # not an article of the regulation
                clause,
                title_zh,
                title_en,
                excerpt,
                remedy,
                func,
                level,
                remedy_en,
                standard=standard,
                source=source,
            )
        )
        return func

    return register_rule


# --- Shared judgements -------------------------------------------------------------------------


def devices_by_place(s: Snapshot, kind: str, pred: Callable[[Row], bool]) -> dict[int, list[Row]]:
    """Installed devices matching `pred` at each place of `kind` (`devices_at` gives only the ids)."""
    found: dict[int, list[Row]] = {}
    for place_id, devices in s.installed_at.get(kind, {}).items():
        matching = [d for d in devices if pred(d)]
        if matching:
            found[place_id] = matching
    return found


def is_perimeter_device(d: Row) -> bool:
    return d.subsystem == "perimeter"


def clear_view(name: str, cameras: list[Row], minimum: int) -> tuple[Status, Line]:
    """Whether a place's cameras can show people clearly, judged by the registered resolution."""
    if not cameras:
        return Status.FAIL, _("{place} 无摄像机", place=name)
    if any((d.resolution_height or 0) >= minimum for d in cameras):
        return Status.PASS, ""
    if any(not d.resolution_height for d in cameras):
        return Status.UNKNOWN, _("{place} 摄像机未登记分辨率，无法判断图像是否清晰", place=name)
    best = max(cameras, key=lambda d: d.resolution_height)
    return Status.FAIL, _(
        "{place} 摄像机分辨率{width}×{height}，低于{minimum}线",
        place=name,
        width=best.resolution_width,
        height=best.resolution_height,
        minimum=minimum,
    )


def shows_plates(name: str, cameras: list[Row]) -> tuple[Status, Line]:
    """A plate-recognition camera proves the plate is legible; a plain camera proves nothing."""
    if not cameras:
        return Status.FAIL, _("{place} 无摄像机", place=name)
    if any(is_anpr(d) for d in cameras):
        return Status.PASS, ""
    return Status.UNKNOWN, _("{place} 有摄像机但未登记为车牌识别，无法确认图像能清晰显示号牌", place=name)


def no_centre(s: Snapshot) -> Outcome:
    """The verdict when no monitoring centre is registered (its presence is Art 7's business)."""
    unclear = [_("{room} 与监控中心关系未登记", room=r.name) for r in s.duty_rooms if not r.relation]
    connected = [
        _("{rooms} 与监控中心连通，但监控中心未单独登记", rooms=[r.name])
        for r in s.duty_rooms
        if r.relation == "connected"
    ]
    if unclear or connected:
        return Status.UNKNOWN, unclear + connected
    if not site_surveyed(s):
        return Status.UNKNOWN, [_("未登记监控中心"), NO_SITE]
    return Status.NOT_APPLICABLE, [_("本小区未登记监控中心（是否配备见第7条）")]


# --- GB 55029-2022 安全防范工程通用规范 ---------------------------------------------------------


@rule(
    "gb55029.perimeter",
    GB55029,
    "3.1.3",
    "周界防护设施有效覆盖",
    "Perimeter covered by physical protection, intrusion detection or video",
    "周界防护应根据现场环境和安全防范管理要求，选择设置实体防护、入侵探测、视频监控等设施，有效覆盖需要防护的区域。",
    "为未设防的周界段设置围墙/栅栏、入侵探测或视频监控，并在登记中关联。",
    "Protect the unguarded perimeter segments with a wall or fence, intrusion detection or video, and link "
    "them in the registry.",
    SRC_GB55029,
)
def gb55029_perimeter(s: Snapshot) -> Outcome:
    empty = need_list(s, s.perimeter_segments, PERIMETER, required=True)
    if empty:
        return empty
    detectors = devices_at(s, "perimeter_segment", is_perimeter_device)
    cameras = devices_at(s, "perimeter_segment", is_camera)
    results: list[tuple[Status, Line]] = []
    for p in s.perimeter_segments:
        enclosed = bool(p.barrier) and p.barrier != "open"
        if enclosed or p.electronic_protection or p.id in detectors or p.id in cameras:
            results.append((Status.PASS, ""))
        elif p.barrier == "open" and p.electronic_protection is False and devices_surveyed(s):
            results.append((Status.FAIL, _("周界段{segment} 未封闭，且无入侵探测和视频监控", segment=p.name)))
        else:
            results.append(
                (Status.UNKNOWN, _("周界段{segment} 未确认设防：屏障、电子防护或视频监控未核查", segment=p.name))
            )
    return combine(results, _("周界{n}段均有实体防护、入侵探测或视频监控"))


GB55029_314 = "视频监控装置采集的图像应能清晰显示行人出入口处进出行人的体貌特征和车辆出入口处通行车辆的号牌。"


@rule(
    "gb55029.entrance_people",
    GB55029,
    "3.1.4",
    "人行出入口图像清晰显示进出人员体貌特征",
    "Pedestrian entrances: video clearly shows the people passing",
    GB55029_314,
    "在人行出入口安装分辨率达标的摄像机，并在设备台账中登记分辨率和安装位置。",
    "Install cameras of sufficient resolution at the pedestrian entrances and register their resolution and "
    "place in the device inventory.",
    SRC_GB55029,
)
def gb55029_entrance_people(s: Snapshot) -> Outcome:
    empty = need_list(s, s.entrances, ENTRANCES, required=True)
    if empty:
        return empty
    walk = [e for e in s.entrances if e.traffic in ("pedestrian", "mixed")]
    results = traffic_unknown(s)
    if not walk and not results:
        return Status.NOT_APPLICABLE, [_("本小区未登记人行出入口")]
    if not devices_surveyed(s):
        return Status.UNKNOWN, [NO_DEVICES]
    cameras = devices_by_place(s, "entrance", is_camera)
    minimum = min_camera_height()
    results += [clear_view(e.name, cameras.get(e.id, []), minimum) for e in walk]
    return combine(results, _("{n}个人行出入口的摄像机分辨率均不低于{minimum}线"), minimum=minimum)


def traffic_unknown(s: Snapshot) -> list[tuple[Status, Line]]:
    return [(Status.UNKNOWN, _("{entrance} 通行方式未登记", entrance=e.name)) for e in s.entrances if not e.traffic]


@rule(
    "gb55029.entrance_plates",
    GB55029,
    "3.1.4",
    "车辆出入口图像清晰显示车辆号牌",
    "Vehicle and parking entrances: video clearly shows number plates",
    GB55029_314,
    "在车行出入口和停车场出入口安装车牌识别摄像机（或登记能清晰拍摄号牌的摄像机）。",
    "Install plate-recognition cameras (or register cameras that capture number plates clearly) at the "
    "vehicle and parking entrances.",
    SRC_GB55029,
)
def gb55029_entrance_plates(s: Snapshot) -> Outcome:
    empty = need_list(s, s.entrances, ENTRANCES, required=True)
    if empty:
        return empty
    places = [("entrance", e) for e in s.entrances if e.traffic in ("vehicle", "mixed")]
    places += [("parking_entrance", e) for e in s.parking_entrances]
    results = traffic_unknown(s)
    if not places and not results:
        return Status.NOT_APPLICABLE, [_("本小区未登记车行出入口和停车场出入口")]
    if not devices_surveyed(s):
        return Status.UNKNOWN, [NO_DEVICES]
    cameras = {kind: devices_by_place(s, kind, is_camera) for kind in ("entrance", "parking_entrance")}
    results += [shows_plates(label(kind, p), cameras[kind].get(p.id, [])) for kind, p in places]
    return combine(results, _("{n}个车行/停车场出入口均有车牌识别摄像机"))


@rule(
    "gb55029.public_areas",
    GB55029,
    "3.1.5",
    "通道和公共活动场所图像清晰",
    "Roads and public places: video clearly shows people and vehicles",
    "走道、通道和公共活动场所防护……视频监控装置采集的图像应能清晰显示监控区域内人员、物品、车辆的通行、活动情况。",
    "在主要通道和广场安装分辨率达标的摄像机，并在设备台账中登记分辨率和安装位置。",
    "Install cameras of sufficient resolution on the main roads and squares and register their resolution "
    "and place in the device inventory.",
    SRC_GB55029,
)
def gb55029_public_areas(s: Snapshot) -> Outcome:
    empty = need_list(s, s.public_areas, PUBLIC_AREAS, required=False)
    if empty:
        return empty
    if not devices_surveyed(s):
        return Status.UNKNOWN, [NO_DEVICES]
    cameras = devices_by_place(s, "public_area", is_camera)
    minimum = min_camera_height()
    return combine(
        (clear_view(a.name, cameras.get(a.id, []), minimum) for a in s.public_areas),
        _("{n}处主要通道/广场的摄像机分辨率均不低于{minimum}线"),
        minimum=minimum,
    )


# --- JGJ 16-2008 民用建筑电气设计规范 §14.9 (monitoring centre) ------------------------------------

CENTRE_M2 = Decimal(20)
MERGED_WORK_AREA_M2 = Decimal(12)


def judge_centre_area(r: Row) -> tuple[Status, Line]:
    area = decimal(r.area_m2)
    if area is None:
        return Status.UNKNOWN, _("{room} 面积未登记", room=r.name)
    merged = r.relation == "merged" or not r.relation  # "兼作监控中心" without a relation: the duty room itself
    if merged:
        if area < MERGED_WORK_AREA_M2:
            return Status.FAIL, _(
                "{room} 与值班室合设，总面积{area}㎡，专用工作区不可能达到12㎡", room=r.name, area=r.area_m2
            )
        return Status.UNKNOWN, _(
            "{room} 与值班室合设，总面积{area}㎡，专用工作区面积未登记（宜不小于12㎡）", room=r.name, area=r.area_m2
        )
    if area < CENTRE_M2:
        return Status.FAIL, _("{room} 面积{area}㎡，小于20㎡", room=r.name, area=r.area_m2)
    return Status.PASS, _("{room} 面积{area}㎡", room=r.name, area=r.area_m2)


@rule(
    "jgj16.centre_area",
    JGJ16,
    "14.9.2",
    "监控中心使用面积",
    "Monitoring centre floor area (20 m², or 12 m² of working area when merged with the duty room)",
    "监控中心的使用面积应与安防系统的规模相适应，不宜小于20m²，与值班室合并设置时，其专用工作区面积不宜小于12m²。",
    "扩大监控中心面积；与值班室合设时划出不少于12㎡的专用工作区。（本规范已由GB 51348-2019替代，仅供参考）",
    "Enlarge the monitoring centre; where it shares the duty room, set aside a working area of at least 12 m². "
    "(This code was superseded by GB 51348-2019; for reference only.)",
    SRC_JGJ16,
    level=Level.ENCOURAGED,
)
def jgj16_centre_area(s: Snapshot) -> Outcome:
    centres = monitoring_centres(s)
    if not centres:
        return no_centre(s)
    verdicts = [judge_centre_area(r) for r in centres]
    status, evidence = combine(verdicts, "")
    if status == Status.PASS:
        evidence = [m for _, m in verdicts]
    return status, evidence


CENTRE_NOT_CHECKED = _("禁区设置、自身防护措施、内外联络通信手段和向上级接处警中心报警的接口不在登记范围内，未核查")


@rule(
    "jgj16.centre_alarm",
    JGJ16,
    "14.9.4",
    "监控中心设置紧急报警装置",
    "Monitoring centre has an emergency alarm device",
    "系统监控中心应设置为禁区，应有保证自身安全的防护措施和进行内外联络的通信手段，"
    "并应设置紧急报警装置和留有向上一级接处警中心报警的通信接口。",
    "在监控中心安装紧急报警装置（紧急求助按钮）并在设备台账中关联到监控中心。（本规范已由GB 51348-2019替代，仅供参考）",
    "Install an emergency alarm device (panic button) in the monitoring centre and link it to the centre in "
    "the device inventory. (This code was superseded by GB 51348-2019; for reference only.)",
    SRC_JGJ16,
)
def jgj16_centre_alarm(s: Snapshot) -> Outcome:
    centres = monitoring_centres(s)
    if not centres:
        return no_centre(s)
    if not devices_surveyed(s):
        return Status.UNKNOWN, [NO_DEVICES, CENTRE_NOT_CHECKED]
    alarms = devices_at(s, "duty_room", lambda d: d.device_type == "panic_button")
    status, evidence = combine(
        (
            ((Status.PASS if r.id in alarms else Status.FAIL), _("{room} 未登记紧急报警装置", room=r.name))
            for r in centres
        ),
        _("监控中心已设置紧急报警装置"),
    )
    return status, [*evidence, CENTRE_NOT_CHECKED]


# --- GB 51348-2019 民用建筑电气设计标准 §14.2.1 (explanatory note, 条文说明) ----------------------

ZONE_M = 200
FENCE_ZONE_M = 100
ZONE_ESTIMATE = _("防区数按登记在该周界段的周界设备台数估算")


def judge_zones(p: Row, devices: list[Row]) -> tuple[Status, Line]:
    length = decimal(p.length_m)
    if length is None:
        return Status.UNKNOWN, _("周界段{segment} 长度未登记", segment=p.name)
    if not devices:
        return Status.UNKNOWN, _("周界段{segment} 未登记周界设备，无法判断防区划分", segment=p.name)
    limit = FENCE_ZONE_M if any(d.device_type == "electric_fence" for d in devices) else ZONE_M
    per_zone = length / len(devices)
    if per_zone > limit:
        return Status.FAIL, _(
            "周界段{segment} 长{length}米，登记{n}台周界设备，每防区约{per_zone}米，超过{limit}米",
            segment=p.name,
            length=p.length_m,
            n=len(devices),
            per_zone=f"{per_zone:.0f}",
            limit=limit,
        )
    return Status.PASS, ""


@rule(
    "gb51348.perimeter_zones",
    GB51348,
    "14.2.1",
    "周界防区长度",
    "Perimeter alarm zones not longer than 200 m (100 m for electric fences)",
    "周界的每个独立防区长度不宜过大（超过200m），电子围栏组成的周界防护系统，每个防区长度不宜大于100m，"
    "以便于报警定位与维护管理。（条文说明）",
    "将过长的周界段划分为多个防区（增加探测器或多防区控制器），并在设备台账中登记。",
    "Divide over-long perimeter segments into several zones (more detectors or a multi-zone controller) and "
    "register them in the device inventory.",
    SRC_GB51348,
    level=Level.ENCOURAGED,
)
def gb51348_perimeter_zones(s: Snapshot) -> Outcome:
    detectors = devices_by_place(s, "perimeter_segment", is_perimeter_device)
    guarded = [p for p in s.perimeter_segments if p.electronic_protection or p.id in detectors]
    if not guarded:
        empty = need_list(s, s.perimeter_segments, PERIMETER, required=False)
        return empty or (Status.NOT_APPLICABLE, [_("未登记有周界电子防护的周界段（是否设防见第8条）")])
    status, evidence = combine(
        (judge_zones(p, detectors.get(p.id, [])) for p in guarded),
        _("{n}段有电子防护的周界，每防区均不超过{zone}米（电子围栏{fence_zone}米）"),
        zone=ZONE_M,
        fence_zone=FENCE_ZONE_M,
    )
    return status, [*evidence, ZONE_ESTIMATE]


@rule(
    "gb51348.ground_top_floors",
    GB51348,
    "14.2.1",
    "住宅首层和顶层设防",
    "Intrusion alarm for ground-floor and top-floor homes",
    "建筑物尤其是住宅地面层与顶层是最易受到入侵威胁的地方，因此有必要在此薄弱部位考虑设防。（条文说明）",
    "为首层和顶层住户安装入侵报警探测器并接入住户报警系统，登记设备及所在楼层。",
    "Install intrusion detectors for ground-floor and top-floor homes, connect them to the household alarm "
    "system and register the devices with their floor.",
    SRC_GB51348,
    level=Level.ENCOURAGED,
)
def gb51348_ground_top_floors(s: Snapshot) -> Outcome:
    if not s.buildings:
        return Status.UNKNOWN, [_("未登记楼栋")]
    if not devices_surveyed(s):
        return Status.UNKNOWN, [NO_DEVICES]
    alarms = subsystem_present(s, "household_alarm")
    if not alarms:
        return Status.FAIL, [_("未登记任何住户报警设备，首层和顶层住户未设防")]
    # The registry records household alarm devices, not which floors they protect.
    return Status.UNKNOWN, [_("已登记{n}台住户报警设备，但未登记其所在楼层，无法判断首层和顶层是否设防", n=len(alarms))]


PACK = register(
    RulePack(
        name=NAME,
        version=VERSION,
        advisory=True,
        rules=tuple(RULES),
        title="国家标准参考条款（参考性，不计入营政发〔2015〕42号的违规）",
        title_en="National standards (advisory: never counted as a violation of Ying Zheng Fa [2015] No. 42)",
    )
)
