"""Small questions the rules ask of a snapshot: is the registry surveyed, which devices are
installed where, what is a place called. See `engine` for the unknown/absent policy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from .engine import Outcome, Status
from .evidence import Line, _, term
from .snapshot import Snapshot

Row = Any  # a snapshot table row (named tuple)

CAMERA_TYPES = frozenset({"camera", "anpr_camera"})
ELEVATOR_FLOORS = 7  # GB 50096-2011 §6.4.1: 7 floors or more must have lifts

NO_DEVICES = _("本小区未登记任何设备（设备台账未建立）")
NO_SITE = _("本小区尚未登记楼栋和出入口（登记未完成）")


def site_surveyed(s: Snapshot) -> bool:
    """The site registry is filled in: at least one building and one entrance."""
    return bool(s.buildings) and bool(s.entrances)


def devices_surveyed(s: Snapshot) -> bool:
    return bool(s.devices)


def decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def installed(s: Snapshot, pred: Callable[[Row], bool] = lambda d: True) -> list[Row]:
    return [d for d in s.installed if pred(d)]


def is_camera(d: Row) -> bool:
    return d.subsystem == "video" and d.device_type in CAMERA_TYPES


def is_anpr(d: Row) -> bool:
    return is_camera(d) and (bool(d.anpr) or d.device_type == "anpr_camera")


def devices_at(s: Snapshot, kind: str, pred: Callable[[Row], bool]) -> set[int]:
    """Ids of the places of `kind` in THIS compound covered by an installed device matching `pred`
    (asked once per snapshot: several rules ask the same, e.g. which entrances have a camera)."""
    key = (kind, pred)
    found = s.memo.get(key)
    if found is None:
        found = s.memo[key] = {
            place_id for place_id, devices in s.installed_at.get(kind, {}).items() if any(map(pred, devices))
        }
    return found


def label(kind: str, row: Row) -> str:
    """How a place is named in evidence: "3号楼2单元", "东门", "地下车库·北口"."""
    if kind in ("unit", "elevator"):
        return f"{getattr(row, 'building_name', None) or ''}{row.name}"
    if kind == "parking_entrance":
        return f"{getattr(row, 'parking_lot_name', None) or ''}·{row.name}"
    return row.name


def need_list(s: Snapshot, rows: Sequence[Row], what: str, *, required: bool) -> Outcome | None:
    """The verdict when a list is empty (None when it is not); see engine's docstring. `what`
    names the part (a term marked with gettext_noop)."""
    if rows:
        return None
    if not site_surveyed(s):
        return Status.UNKNOWN, [_("未登记{part}", part=term(what)), NO_SITE]
    absent = _("本小区未登记{part}（楼栋、出入口已登记，视为没有{part}）", part=term(what))
    return (Status.FAIL if required else Status.NOT_APPLICABLE), [absent]


def combine(results: Iterable[tuple[str, Line]], passed: str, **params: Any) -> Outcome:
    """Per-place results ("fail"/"unknown"/"pass", line) to one outcome: any fail fails, else
    any unknown is unknown, else pass. Evidence lists every failing and unknown place; the line
    of a pass is not used (callers may leave it empty)."""
    fails, unknowns, passes = [], [], 0
    for status, line in results:
        if status is Status.FAIL:
            fails.append(line)
        elif status is Status.UNKNOWN:
            unknowns.append(line)
        else:
            passes += 1
    return verdict(fails, unknowns, passes, passed, **params)


NOTHING_TO_CHECK = _("没有可检查的登记记录")


def verdict(fails: list[Line], unknowns: list[Line], passes: int, passed: str, **params: Any) -> Outcome:
    """`combine` from the failing and unknown lines and the number of passes; `passed` is the
    template of the pass line, given the number of passes as `{n}` and `params`."""
    if not (fails or unknowns or passes):  # callers check for empty lists first; never pass on nothing
        return Status.UNKNOWN, [NOTHING_TO_CHECK]
    if fails:
        return Status.FAIL, fails + unknowns
    if unknowns:
        return Status.UNKNOWN, unknowns
    return Status.PASS, [_(passed, n=passes, **params) if "{" in passed else passed]


def coverage(
    s: Snapshot,
    kind: str,
    places: Iterable[Row],
    pred: Callable[[Row], bool],
    missing: str,
    passed: str,
) -> Outcome:
    """Every place has an installed device matching `pred`; evidence names each uncovered place
    ("3号楼2单元 无单元门口摄像机"): `missing` is a template with `{place}`."""
    if not devices_surveyed(s):
        return Status.UNKNOWN, [NO_DEVICES]
    covered = devices_at(s, kind, pred)
    places = list(places)
    fails = [_(missing, place=label(kind, p)) for p in places if p.id not in covered]
    return verdict(fails, [], len(places) - len(fails), passed)


def subsystem_present(s: Snapshot, subsystem: str, types: Iterable[str] | None = None) -> Sequence[Row]:
    devices = s.installed_by_subsystem.get(subsystem, [])
    if types is None:
        return devices
    wanted = set(types)
    return [d for d in devices if d.device_type in wanted]
