"""Alarm use cases: raising alarms from stored events, and the handling workflow (issue 6 §1–2).

Every transition is one conditional UPDATE ("… WHERE status IN (allowed)"), so when two operators
acknowledge the same alarm at once exactly one wins and the other is told who did it."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from anfang.compounds.models import Compound
from anfang.core.choices import Role
from anfang.events.choices import EventState, Flag
from anfang.events.ingest import Incoming

from . import choices as c
from .models import Alarm, AlarmEvent, AlarmRule, AlarmStep, PoliceReport

# Who handles alarms of a compound in scope (Art 16: the duty room's staff and their managers).
HANDLE_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.PROPERTY_MANAGER, Role.COMMUNITY_MANAGER, Role.DUTY_OPERATOR})


class AlarmConflict(Exception):
    """A step refused because the alarm is not (or no longer) in a state that allows it."""


@dataclass(frozen=True, slots=True)
class Rule:
    raises: bool
    priority: int
    correlation: dt.timedelta
    escalate_after: dt.timedelta


def default_rule(kind: str) -> Rule:
    priority = c.DEFAULT_RULES.get(kind)
    return Rule(
        raises=priority is not None,
        priority=priority or c.Priority.LOW,
        correlation=dt.timedelta(seconds=c.DEFAULT_CORRELATION_SECONDS),
        escalate_after=dt.timedelta(seconds=c.DEFAULT_ESCALATE_AFTER_SECONDS),
    )


# A compound's overrides, remembered briefly: they are read for every alarm-class event.
RULE_CACHE_SECONDS = 30.0
_rule_cache: dict[int, tuple[float, dict[str, Rule]]] = {}


def compound_rules(compound_id: int) -> dict[str, Rule]:
    hit = _rule_cache.get(compound_id)
    if hit is None or time.monotonic() - hit[0] > RULE_CACHE_SECONDS:
        rules = {
            r.kind: Rule(
                r.raises_alarm,
                r.priority,
                dt.timedelta(seconds=r.correlation_seconds),
                dt.timedelta(seconds=r.escalate_after_seconds),
            )
            for r in AlarmRule.objects.filter(compound_id=compound_id)
        }
        hit = (time.monotonic(), rules)
        _rule_cache[compound_id] = hit
    return hit[1]


def rule_for(compound_id: int, kind: str) -> Rule:
    return compound_rules(compound_id).get(kind) or default_rule(kind)


def forget_rules(compound_id: int | None = None) -> None:
    if compound_id is None:
        _rule_cache.clear()
    else:
        _rule_cache.pop(compound_id, None)


def raise_alarms(stored: list[tuple[int, Incoming]]) -> list[Alarm]:
    """Writer hook (inside the event transaction): alarm-class events raise an alarm, or join the
    open alarm of the same device and kind within the correlation window. A condition ending
    (state stop) raises nothing. Late or replayed events raise an alarm marked stale, which the
    console lists but does not sound.

    Works per batch, not per event: new alarms, links, steps and log entries are each one insert,
    and joined alarms are updated once each in id order, so two ingest workers touching the same
    alarms lock them in the same order and cannot deadlock."""
    candidates = [
        (event_id, e) for event_id, e in stored if e.state != EventState.STOP and rule_for(e.compound_id, e.kind).raises
    ]
    if not candidates:
        return []
    open_alarms: dict[tuple[int | None, str], Alarm] = {}
    for alarm in Alarm.objects.filter(
        device_id__in={e.device_id for _event_id, e in candidates}, status__in=c.OPEN_STATUSES
    ).order_by("last_event_at"):
        open_alarms[(alarm.device_id, alarm.kind)] = alarm
    raised: list[Alarm] = []
    joined: dict[int, Alarm] = {}
    joins: dict[int, int] = {}
    links: list[tuple[Alarm, int]] = []
    for event_id, e in candidates:
        rule = rule_for(e.compound_id, e.kind)
        assert e.received_at is not None
        current = open_alarms.get((e.device_id, e.kind))
        if current is not None and e.received_at - current.last_event_at <= rule.correlation:
            current.event_count += 1
            current.last_event_id, current.last_event_at = event_id, e.received_at
            if current.pk is not None:
                joined[current.pk] = current
                joins[current.pk] = joins.get(current.pk, 0) + 1
            links.append((current, event_id))
            continue
        alarm = Alarm(
            compound_id=e.compound_id,
            device_id=e.device_id,
            kind=e.kind,
            priority=rule.priority,
            stale=bool({Flag.LATE, Flag.REPLAYED} & set(e.flags)),
            raised_at=e.received_at,
            first_event_id=event_id,
            last_event_id=event_id,
            last_event_at=e.received_at,
        )
        open_alarms[(e.device_id, e.kind)] = alarm
        raised.append(alarm)
        links.append((alarm, event_id))
    Alarm.objects.bulk_create(raised)
    for pk in sorted(joins):
        alarm = joined[pk]
        Alarm.objects.filter(pk=pk).update(
            event_count=F("event_count") + joins[pk],
            last_event_id=alarm.last_event_id,
            last_event_at=alarm.last_event_at,
        )
    AlarmEvent.objects.bulk_create(AlarmEvent(alarm_id=a.pk, event_id=event_id) for a, event_id in links)
    AlarmStep.objects.bulk_create(AlarmStep(alarm=a, step=c.Step.RAISED, at=a.raised_at) for a in raised)
    _log_many([(a, c.Step.RAISED, a.raised_at, None, _("（迟到/重放，未鸣响）") if a.stale else "") for a in raised])
    for alarm in [*raised, *joined.values()]:
        announce(alarm)
    return raised


def raise_platform_alarm(
    *,
    compound_id: int,
    kind: str,
    at: dt.datetime,
    subject: str,
    link: str = "",
    device_id: int | None = None,
) -> Alarm | None:
    """An alarm the platform raises from its own evaluation (a missed patrol, a watch-listed
    vehicle), not from a device event. Joins the open alarm of the same compound, kind and subject
    within the correlation window instead of raising a second one. None when the compound's rule
    for the kind raises nothing. Call inside the transaction that records the cause."""
    rule = rule_for(compound_id, kind)
    if not rule.raises:
        return None
    current = (
        Alarm.objects.select_for_update()
        .filter(compound_id=compound_id, kind=kind, subject=subject[:255], status__in=c.OPEN_STATUSES)
        .order_by("-last_event_at")
        .first()
    )
    if current is not None and at - current.last_event_at <= rule.correlation:
        Alarm.objects.filter(pk=current.pk).update(event_count=F("event_count") + 1, last_event_at=at)
        current.event_count += 1
        current.last_event_at = at
        announce(current)
        return current
    alarm = Alarm.objects.create(
        compound_id=compound_id,
        device_id=device_id,
        kind=kind,
        subject=subject[:255],
        link=link[:255],
        priority=rule.priority,
        raised_at=at,
        last_event_at=at,
    )
    AlarmStep.objects.create(alarm=alarm, step=c.Step.RAISED, at=at)
    _log_many([(alarm, c.Step.RAISED, at, None, subject)])
    announce(alarm)
    return alarm


def announce(alarm: Alarm) -> None:
    """Tell live consoles (console.bus) that this alarm is new or changed; sent on commit."""
    from anfang.console.bus import publish

    publish(
        "alarm",
        {
            "id": alarm.pk,
            "compound": alarm.compound_id,
            "device": alarm.device_id,
            "kind": alarm.kind,
            "priority": alarm.priority,
            "status": alarm.status,
            "stale": alarm.stale,
            "count": alarm.event_count,
            "raised_at": alarm.raised_at.isoformat(),
        },
    )


def _log_text(alarm: Alarm, step: str, note: str) -> str:
    text = _("报警 #%(id)s %(kind)s：%(step)s") % {
        "id": alarm.pk,
        "kind": c.AlarmKind(alarm.kind).label,
        "step": c.Step(step).label,
    }
    return f"{text} {note}".strip()


def _log(alarm: Alarm, step: str, at: dt.datetime, actor: Any = None, note: str = "") -> None:
    """The automatic duty-log entry for an alarm step (Art 16: 完整记载值班记录)."""
    from anfang.duty.services import log_alarm

    log_alarm(alarm, _log_text(alarm, step, note), actor=actor, at=at)


def _log_many(steps: list[tuple[Alarm, str, dt.datetime, Any, str]]) -> None:
    from anfang.duty.services import log_alarms

    if steps:
        log_alarms([(alarm, _log_text(alarm, step, note), at) for alarm, step, at, _actor, note in steps])


# --- Workflow -------------------------------------------------------------------------------------


def handleable(actor: Any) -> Iterable[Compound]:
    return Compound.objects.in_scope_of_roles(actor, HANDLE_ROLES)


def require_handle(actor: Any, alarm: Alarm) -> None:
    if not Compound.objects.in_scope_of_roles(actor, HANDLE_ROLES).filter(pk=alarm.compound_id).exists():
        raise PermissionDenied(_("您没有处置该小区报警的权限。"))


def _refusal(alarm_id: int, to: str) -> AlarmConflict:
    alarm = Alarm.objects.select_related("acknowledged_by", "closed_by").get(pk=alarm_id)
    if to == c.Status.ACKNOWLEDGED and alarm.acknowledged_by is not None:
        who = alarm.acknowledged_by.get_full_name() or alarm.acknowledged_by.get_username()
        return AlarmConflict(
            _("该报警已由 %(who)s 于 %(at)s 确认。")
            % {"who": who, "at": timezone.localtime(alarm.acknowledged_at).strftime("%H:%M:%S")}
        )
    return AlarmConflict(
        _("报警当前状态为“%(status)s”，不能执行“%(step)s”。")
        % {"status": alarm.get_status_display(), "step": c.Status(to).label}
    )


def _transition(actor: Any, alarm: Alarm, to: str, now: dt.datetime | None, note: str = "", **fields: Any) -> Alarm:
    require_handle(actor, alarm)
    now = now or timezone.now()
    with transaction.atomic():
        changed = Alarm.objects.filter(pk=alarm.pk, status__in=c.TRANSITIONS[to]).update(status=to, **fields)
        if not changed:
            raise _refusal(alarm.pk, to)
        AlarmStep.objects.create(alarm_id=alarm.pk, step=to, at=now, actor=actor, note=note)
        alarm.refresh_from_db()
        _log(alarm, to, now, actor, note)
        announce(alarm)
    return alarm


def acknowledge(actor: Any, alarm: Alarm, *, now: dt.datetime | None = None) -> Alarm:
    now = now or timezone.now()
    return _transition(actor, alarm, c.Status.ACKNOWLEDGED, now, acknowledged_at=now, acknowledged_by=actor)


def dispatch(actor: Any, alarm: Alarm, guard: Any, *, note: str = "", now: dt.datetime | None = None) -> Alarm:
    """Send a guard (a user with the guard role on this compound) to the scene."""
    if not Compound.objects.in_scope_of_roles(guard, {Role.GUARD}).filter(pk=alarm.compound_id).exists():
        raise ValidationError({"guard": _("所选人员不是本小区的保安/巡防队员。")})
    now = now or timezone.now()
    return _transition(actor, alarm, c.Status.DISPATCHED, now, note, dispatched_at=now, dispatched_to=guard)


def arrive(actor: Any, alarm: Alarm, *, note: str = "", now: dt.datetime | None = None) -> Alarm:
    """The dispatched guard reports on site (the guard may do this for their own dispatch)."""
    if alarm.dispatched_to_id is not None and getattr(actor, "pk", None) == alarm.dispatched_to_id:
        now = now or timezone.now()
        with transaction.atomic():
            if not Alarm.objects.filter(pk=alarm.pk, status=c.Status.DISPATCHED).update(
                status=c.Status.ON_SITE, on_site_at=now
            ):
                raise _refusal(alarm.pk, c.Status.ON_SITE)
            AlarmStep.objects.create(alarm_id=alarm.pk, step=c.Step.ON_SITE, at=now, actor=actor, note=note)
            alarm.refresh_from_db()
            _log(alarm, c.Step.ON_SITE, now, actor, note)
            announce(alarm)
        return alarm
    now = now or timezone.now()
    return _transition(actor, alarm, c.Status.ON_SITE, now, note, on_site_at=now)


def close(actor: Any, alarm: Alarm, cause: str, note: str, *, now: dt.datetime | None = None) -> Alarm:
    errors = {}
    if cause not in c.CloseCause.values:
        errors["cause"] = _("请选择关闭原因。")
    if not (note or "").strip():
        errors["note"] = _("请填写处置说明。")
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    return _transition(
        actor, alarm, c.Status.CLOSED, now, note, closed_at=now, closed_by=actor, close_cause=cause, close_note=note
    )


def report_to_police(
    actor: Any,
    alarm: Alarm,
    *,
    means: str,
    reported_at: dt.datetime,
    report_number: str = "",
    officer: str = "",
    note: str = "",
) -> PoliceReport:
    """Art 16: record that a confirmed incident was reported to the police."""
    require_handle(actor, alarm)
    errors = {}
    if means not in c.ReportMeans.values:
        errors["means"] = _("请选择报警方式。")
    if reported_at > timezone.now() + dt.timedelta(minutes=1):
        errors["reported_at"] = _("报警时间不能晚于现在。")
    elif reported_at < alarm.raised_at:
        errors["reported_at"] = _("报警时间不能早于报警产生时间。")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = Alarm.objects.select_for_update().get(pk=alarm.pk)
        if locked.status == c.Status.NEW:
            raise AlarmConflict(_("请先确认报警，再记录向公安机关报警。"))
        if PoliceReport.objects.filter(alarm=locked).exists():
            raise AlarmConflict(_("该报警已记录过向公安机关报警。"))
        report = PoliceReport.objects.create(
            alarm=locked,
            reported_at=reported_at,
            means=means,
            report_number=report_number.strip(),
            officer=officer.strip(),
            reported_by=actor,
            note=note,
        )
        AlarmStep.objects.create(
            alarm=locked, step=c.Step.REPORTED, at=reported_at, actor=actor, note=report_number.strip()
        )
        _log(locked, c.Step.REPORTED, reported_at, actor, report_number.strip())
    return report


def escalate_due(now: dt.datetime | None = None) -> list[Alarm]:
    """Unacknowledged alarms past their rule's escalation time go up one level per interval
    (louder on the console, shown to the manager). Run every few seconds by the console's ticker
    or the scheduler; `now` makes it testable with a controllable clock."""
    now = now or timezone.now()
    escalated = []
    for alarm in Alarm.objects.filter(status=c.Status.NEW, stale=False, raised_at__lt=now).filter(
        Q(escalated_at__isnull=True) | Q(escalated_at__lt=now)
    ):
        interval = rule_for(alarm.compound_id, alarm.kind).escalate_after
        level = int((now - alarm.raised_at) / interval)
        if level <= alarm.escalation_level:
            continue
        with transaction.atomic():
            if Alarm.objects.filter(pk=alarm.pk, status=c.Status.NEW, escalation_level=alarm.escalation_level).update(
                escalation_level=level, escalated_at=now
            ):
                AlarmStep.objects.create(alarm=alarm, step=c.Step.ESCALATED, at=now, note=str(level))
                alarm.escalation_level, alarm.escalated_at = level, now
                announce(alarm)
                escalated.append(alarm)
    return escalated
