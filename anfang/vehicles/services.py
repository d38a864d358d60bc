"""Vehicle use cases (issue 8): keeping the compound's lists, confirming a plate read, a manual
barrier open (Art 11). Views and the API only call these; each checks who may act and is one
transaction. Plates always go through `plates.read_plate`: what is stored is the normalised plate."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anfang.alarms.police import POLICE_ROLES
from anfang.alarms.services import HANDLE_ROLES
from anfang.compounds.models import Compound, Entrance, ParkingEntrance
from anfang.core.choices import ChangeAction, Role
from anfang.core.history import record_change, snapshot

from . import choices as c
from .barrier import WATCH_CACHE
from .models import BarrierOpen, ListEntry, Passage, ResidentVehicle, VisitorPass, WatchEntry
from .plates import normalise_text, read_plate

MANAGER_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.PROPERTY_MANAGER, Role.COMMUNITY_MANAGER})
# Who reads passages and lists: the compound's managers and duty operators, and the police (Art 34).
VIEW_ROLES = MANAGER_ROLES | {Role.DUTY_OPERATOR} | POLICE_ROLES
# The console's people: confirm reads, open the barrier by hand.
GUARD_DESK_ROLES = frozenset(HANDLE_ROLES)
MIN_REASON = 2
MAX_PASS_WINDOW = dt.timedelta(days=31)


@dataclass(frozen=True)
class ListKind:
    """One of the compound's vehicle lists: who reads it, who keeps it."""

    slug: str
    model: type[ListEntry]
    view_roles: frozenset[str]
    edit_roles: frozenset[str]


LISTS: dict[str, ListKind] = {
    "residents": ListKind("residents", ResidentVehicle, VIEW_ROLES, MANAGER_ROLES),
    # Guards register visitors at the gate; residents' requests come in through them or the office.
    "visitors": ListKind(
        "visitors", VisitorPass, VIEW_ROLES | {Role.GUARD}, MANAGER_ROLES | {Role.DUTY_OPERATOR, Role.GUARD}
    ),
    # The police put cars on the watch list as well as the compound's managers.
    "watch": ListKind("watch", WatchEntry, VIEW_ROLES, MANAGER_ROLES | POLICE_ROLES),
}


def kind_of(model: type[ListEntry]) -> ListKind:
    return next(k for k in LISTS.values() if k.model is model)


def compounds_for(user: Any, roles: frozenset[str]):
    return Compound.objects.in_scope_of_roles(user, roles)


def holds(user: Any, compound_id: int, roles: frozenset[str]) -> bool:
    return compounds_for(user, roles).filter(pk=compound_id).exists()


# ---------------------------------------------------------------- plates


def valid_plate(value: str, field: str = "plate") -> str:
    """The normalised plate; ValidationError on `field` saying what is wrong with it."""
    read = read_plate(value or "")
    if not read.valid:
        problems = "；".join(read.problems) or _("车牌格式不正确。")
        raise ValidationError({field: _("车牌“%(raw)s”无效：%(problems)s") % {"raw": value, "problems": problems}})
    return read.plate


PATTERN_CHARS = re.compile(r"^[0-9A-Z?*\u4e00-\u9fff]+$")


def valid_watch_plate(value: str) -> str:
    """A plate, or a pattern with `?` / `*` and at least three other characters (a pattern that
    matches nearly everything would sound the alarm on every car)."""
    text = normalise_text(value or "")
    if "?" not in text and "*" not in text:
        return valid_plate(value)
    if not PATTERN_CHARS.match(text):
        raise ValidationError({"plate": _("模式只能包含汉字、字母、数字和通配符 ? *。")})
    if len(text.replace("?", "").replace("*", "")) < 3:
        raise ValidationError({"plate": _("模式至少要有 3 个确定的字符，否则几乎所有车辆都会命中。")})
    return text


# ---------------------------------------------------------------- lists


def _check_entry(entry: ListEntry) -> None:
    """Rules across fields, named by field."""
    errors: dict[str, str] = {}
    if isinstance(entry, ResidentVehicle):
        if entry.valid_to and entry.valid_from and entry.valid_to < entry.valid_from:
            errors["valid_to"] = _("有效期止不能早于有效期起。")
        if entry.unit is not None and entry.unit.compound_id != entry.compound_id:
            errors["unit"] = _("所选单元不属于本小区。")
        if entry.parking_lot is not None and entry.parking_lot.compound_id != entry.compound_id:
            errors["parking_lot"] = _("所选停车场不属于本小区。")
    elif isinstance(entry, VisitorPass):
        if entry.valid_from and entry.valid_to:
            if entry.valid_to <= entry.valid_from:
                errors["valid_to"] = _("结束时间必须晚于开始时间。")
            elif entry.valid_to - entry.valid_from > MAX_PASS_WINDOW:
                errors["valid_to"] = _("访客通行证最长 31 天，长期车辆请登记为业主车辆。")
        if entry.host_unit is not None and entry.host_unit.compound_id != entry.compound_id:
            errors["host_unit"] = _("所选单元不属于本小区。")
        if entry.issued_by == c.PassIssuer.RESIDENT and not entry.host_name.strip():
            errors["host_name"] = _("业主登记的通行证请填写业主姓名。")
    elif isinstance(entry, WatchEntry):
        if not entry.reason.strip():
            errors["reason"] = _("请填写布控原因。")
        if entry.expires_at and entry.expires_at <= timezone.now() and entry._state.adding:
            errors["expires_at"] = _("到期时间已过。")
    if errors:
        raise ValidationError(errors)


def prepare(entry: ListEntry) -> ListEntry:
    """Normalise and validate an entry without saving it (forms and the importer)."""
    entry.plate = valid_watch_plate(entry.plate) if isinstance(entry, WatchEntry) else valid_plate(entry.plate)
    _check_entry(entry)
    entry.full_clean(validate_unique=True)
    return entry


@transaction.atomic
def save_entry(actor: Any, entry: ListEntry) -> ListEntry:
    kind = kind_of(type(entry))
    if not holds(actor, entry.compound_id, kind.edit_roles):
        raise PermissionDenied(_("您没有维护该小区车辆名单的权限。"))
    adding = entry._state.adding
    before = None if adding else snapshot(type(entry).objects.get(pk=entry.pk))
    if isinstance(entry, VisitorPass) and adding and entry.created_by_id is None:
        entry.created_by = actor
    if isinstance(entry, WatchEntry) and adding and entry.added_by_id is None:
        entry.added_by = actor
    prepare(entry)
    entry.save()
    record_change(
        actor,
        entry,
        ChangeAction.CREATE if adding else ChangeAction.UPDATE,
        before=before,
        after=snapshot(entry),
        compound_id=entry.compound_id,
    )
    if isinstance(entry, WatchEntry):
        transaction.on_commit(lambda: WATCH_CACHE.forget(entry.compound_id))
    return entry


@transaction.atomic
def delete_entry(actor: Any, entry: ListEntry) -> None:
    kind = kind_of(type(entry))
    if not holds(actor, entry.compound_id, kind.edit_roles):
        raise PermissionDenied(_("您没有维护该小区车辆名单的权限。"))
    record_change(actor, entry, ChangeAction.DELETE, before=snapshot(entry), compound_id=entry.compound_id)
    compound_id = entry.compound_id
    entry.delete()
    if kind.model is WatchEntry:
        transaction.on_commit(lambda: WATCH_CACHE.forget(compound_id))


# ---------------------------------------------------------------- the guard's desk


def _passage_rows(passage: Passage):
    # The partition key in the filter: the update touches one day's partition only.
    return Passage.objects.filter(pk=passage.pk, received_at=passage.received_at)


@transaction.atomic
def confirm_passage(actor: Any, passage: Passage, plate: str) -> Passage:
    """The guard confirms a read or corrects it (a low-confidence or invalid read)."""
    if not holds(actor, passage.compound_id, GUARD_DESK_ROLES):
        raise PermissionDenied(_("您不是该小区的值班人员。"))
    confirmed = valid_plate(plate)
    now = timezone.now()
    _passage_rows(passage).update(
        confirmed_plate=confirmed, confirmed_by=actor, confirmed_at=now, needs_confirmation=False
    )
    before = passage.confirmed_plate
    passage.confirmed_plate, passage.confirmed_by, passage.confirmed_at = confirmed, actor, now
    passage.needs_confirmation = False
    note = _("确认车牌 %(plate)s") % {"plate": confirmed}
    if confirmed != passage.plate:
        note = _("识别为 %(read)s，更正为 %(plate)s") % {"read": passage.plate or passage.plate_raw, "plate": confirmed}
    if confirmed != passage.plate:
        # A corrected misread may be a watched car the camera's reading hid.
        from .barrier import match_one
        from .passages import watch_hit

        match = match_one(passage.compound_id, confirmed, now)
        if match.watch:
            _passage_rows(passage).update(list_match=c.ListMatch.WATCH)
            passage.list_match = c.ListMatch.WATCH
            watch_hit(passage, match.watch, now)
    record_change(
        actor,
        passage,
        ChangeAction.UPDATE,
        before={"confirmed_plate": before},
        after={"confirmed_plate": confirmed},
        compound_id=passage.compound_id,
        note=note,
    )
    return passage


@transaction.atomic
def open_barrier(
    actor: Any,
    compound: Compound,
    *,
    reason: str,
    entrance: Entrance | None = None,
    parking_entrance: ParkingEntrance | None = None,
    passage: Passage | None = None,
    plate: str = "",
) -> BarrierOpen:
    """A manual open by the guard (Art 11): the reason is required; the open is kept and written
    in the duty log; the passage it answers (if any) records the decision as a manual allow."""
    if not holds(actor, compound.pk, GUARD_DESK_ROLES):
        raise PermissionDenied(_("您不是该小区的值班人员。"))
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError({"reason": _("人工开闸必须填写原因（第11条）。")})
    for place, field in ((entrance, "entrance"), (parking_entrance, "parking_entrance")):
        if place is not None and place.compound_id != compound.pk:
            raise ValidationError({field: _("所选出入口不属于本小区。")})
    if passage is not None:
        if passage.compound_id != compound.pk:
            raise ValidationError({"passage": _("该过车记录不属于本小区。")})
        entrance = entrance or passage.entrance
        parking_entrance = parking_entrance or passage.parking_entrance
        plate = plate or passage.shown_plate
        _passage_rows(passage).update(decision=c.Decision.ALLOW, decision_reason=c.DecisionReason.MANUAL)
        passage.decision, passage.decision_reason = c.Decision.ALLOW, c.DecisionReason.MANUAL
    if plate:
        plate = read_plate(plate).plate or plate[:16]
    opened = BarrierOpen.objects.create(
        compound=compound,
        entrance=entrance,
        parking_entrance=parking_entrance,
        device=passage.device if passage is not None and passage.device_id else None,
        passage_id=passage.pk if passage is not None else None,
        plate=plate[:16],
        reason=reason[:255],
        opened_by=actor,
    )
    _log_open(opened)
    return opened


def _log_open(opened: BarrierOpen) -> None:
    from anfang.duty import services as duty
    from anfang.duty.choices import LogKind

    room = duty.main_room(opened.compound_id)
    if room is None:
        return
    where = opened.parking_entrance or opened.entrance
    text = _("人工开闸：%(where)s %(plate)s，原因：%(reason)s") % {
        "where": where.name if where else "",
        "plate": opened.plate or _("无车牌"),
        "reason": opened.reason,
    }
    duty.log(room, LogKind.MANUAL, text, author=opened.opened_by, at=opened.opened_at)
