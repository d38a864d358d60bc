"""Duty use cases: plan the roster, sign on and off with a handover note, keep the duty log, and
report 24-hour coverage (Art 16)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anfang.compounds.models import Compound, DutyRoom
from anfang.core.choices import Role

from . import choices as c
from .coverage import DayCoverage, day_bounds, day_coverage, merge
from .models import DutySession, LogEntry, Shift

DUTY_ROLES = frozenset({Role.DUTY_OPERATOR, Role.PROPERTY_MANAGER, Role.COMMUNITY_MANAGER, Role.PLATFORM_ADMIN})
ROSTER_ROLES = frozenset({Role.PROPERTY_MANAGER, Role.COMMUNITY_MANAGER, Role.PLATFORM_ADMIN})
MAX_SHIFT = dt.timedelta(hours=24)


def _require(actor: Any, room: DutyRoom, roles: frozenset[str], message: str) -> None:
    if not Compound.objects.in_scope_of_roles(actor, roles).filter(pk=room.compound_id).exists():
        raise PermissionDenied(message)


def plan_shift(
    actor: Any, room: DutyRoom, operator: Any, starts_at: dt.datetime, ends_at: dt.datetime, note: str = ""
) -> Shift:
    _require(actor, room, ROSTER_ROLES, _("您没有编排该值班室排班的权限。"))
    errors: dict[str, str] = {}
    if ends_at <= starts_at:
        errors["ends_at"] = _("结束时间必须晚于开始时间。")
    elif ends_at - starts_at > MAX_SHIFT:
        errors["ends_at"] = _("一个班次不能超过 24 小时。")
    if not Compound.objects.in_scope_of_roles(operator, {Role.DUTY_OPERATOR}).filter(pk=room.compound_id).exists():
        errors["operator"] = _("所选人员不是本小区的值班员。")
    elif Shift.objects.filter(operator=operator, starts_at__lt=ends_at, ends_at__gt=starts_at).exists():
        errors["starts_at"] = _("该值班员在此时段已有班次。")
    if errors:
        raise ValidationError(errors)
    return Shift.objects.create(duty_room=room, operator=operator, starts_at=starts_at, ends_at=ends_at, note=note)


def log(
    room: DutyRoom, kind: str, text: str, *, author: Any = None, at: dt.datetime | None = None, alarm: Any = None
) -> LogEntry:
    return LogEntry.objects.create(
        duty_room=room,
        kind=kind,
        text=text,
        author=author if getattr(author, "pk", None) else None,
        at=at or timezone.now(),
        alarm=alarm,
    )


def sign_on(actor: Any, room: DutyRoom, *, now: dt.datetime | None = None) -> DutySession:
    _require(actor, room, DUTY_ROLES, _("您不是该值班室的值班人员。"))
    now = now or timezone.now()
    try:
        with transaction.atomic():
            session = DutySession.objects.create(duty_room=room, operator=actor, signed_on_at=now)
            log(room, c.LogKind.SIGN_ON, _("%(who)s 上岗") % {"who": _name(actor)}, author=actor, at=now)
    except IntegrityError as exc:
        open_session = (
            DutySession.objects.filter(operator=actor, signed_off_at=None).select_related("duty_room").first()
        )
        where = open_session.duty_room if open_session else "?"
        raise ValidationError(_("您已在 %(room)s 在岗，请先下岗。") % {"room": where}) from exc
    return session


def sign_off(actor: Any, session: DutySession, handover_note: str, *, now: dt.datetime | None = None) -> DutySession:
    """Sign off with the handover note for the next shift (交接班). Only the person on duty signs off."""
    if session.operator_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("只能由在岗本人下岗。"))
    if not (handover_note or "").strip():
        raise ValidationError({"handover_note": _("请填写交接班说明。")})
    now = now or timezone.now()
    with transaction.atomic():
        if not DutySession.objects.filter(pk=session.pk, signed_off_at=None).update(
            signed_off_at=now, handover_note=handover_note.strip()
        ):
            raise ValidationError(_("该值班记录已下岗。"))
        log(session.duty_room, c.LogKind.HANDOVER, handover_note.strip(), author=actor, at=now)
        log(session.duty_room, c.LogKind.SIGN_OFF, _("%(who)s 下岗") % {"who": _name(actor)}, author=actor, at=now)
    session.refresh_from_db()
    return session


def add_note(actor: Any, room: DutyRoom, text: str, *, at: dt.datetime | None = None) -> LogEntry:
    _require(actor, room, DUTY_ROLES, _("您不是该值班室的值班人员。"))
    if not (text or "").strip():
        raise ValidationError({"text": _("请填写记录内容。")})
    return log(room, c.LogKind.MANUAL, text.strip(), author=actor, at=at)


def main_room(compound_id: int) -> DutyRoom | None:
    """The room alarms are logged in: the monitoring centre if there is one, else the first."""
    return DutyRoom.objects.filter(compound_id=compound_id).order_by("-is_monitoring_centre", "id").first()


def log_alarm(alarm: Any, text: str, *, actor: Any = None, at: dt.datetime | None = None) -> LogEntry | None:
    room = main_room(alarm.compound_id)
    return log(room, c.LogKind.ALARM, text, author=actor, at=at, alarm=alarm) if room else None


def log_alarms(entries: list[tuple[Any, str, dt.datetime]]) -> None:
    """Automatic log entries for many alarms at once (alarm, text, time): the ingest path raises
    alarms in batches, so rooms are looked up in one query and entries written in one insert."""
    rooms: dict[int, DutyRoom] = {}
    for room in DutyRoom.objects.filter(compound_id__in={entry[0].compound_id for entry in entries}).order_by(
        "-is_monitoring_centre", "id"
    ):
        rooms.setdefault(room.compound_id, room)
    LogEntry.objects.bulk_create(
        LogEntry(duty_room=rooms[a.compound_id], kind=c.LogKind.ALARM, text=text, at=at, alarm=a)
        for a, text, at in entries
        if a.compound_id in rooms
    )


def room_coverage(room: DutyRoom, day: dt.date, *, now: dt.datetime | None = None) -> DayCoverage:
    start, end = day_bounds(day)
    sessions = DutySession.objects.filter(duty_room=room, signed_on_at__lt=end).exclude(signed_off_at__lte=start)
    return day_coverage(day, sessions.values_list("signed_on_at", "signed_off_at"), now or timezone.now())


def compound_coverage(compound: Compound, day: dt.date, *, now: dt.datetime | None = None) -> DayCoverage | None:
    """A compound is staffed while every one of its duty rooms is (each must be staffed 24 h, Art 16):
    its gaps are the union of its rooms' gaps. None when it has no duty room (Art 15 finds that)."""
    rooms = list(DutyRoom.objects.filter(compound=compound))
    if not rooms:
        return None
    per_room = [room_coverage(room, day, now=now) for room in rooms]
    holes = merge(gap for cov in per_room for gap in cov.gaps)
    staffed_all = per_room[0].staffed if len(per_room) == 1 else []
    return DayCoverage(day, staffed_all, holes, per_room[0].until)


def _name(user: Any) -> str:
    return user.get_full_name() or user.get_username()
