"""Event ingestion use cases: take a payload through its adapter into storage (events, or dead
letters for what cannot be used), and replay or discard dead letters."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anfang.compounds.models import Compound
from anfang.core.grants import is_platform_admin
from anfang.devices.models import Device

from . import choices as c
from . import deadletters
from .adapters import adapter_for
from .adapters.base import Adapter, Payload
from .ingest import Incoming, Outcome, Rejected, normalise
from .models import DeadLetter
from .writer import GROUP, HEALTH, UNAVAILABLE


@dataclass
class Report:
    """What became of one payload: an outcome per event (in payload order), and the rejects with
    the dead letter each was kept as (None when rate-limited or spooled)."""

    outcomes: list[Outcome] = field(default_factory=list)
    rejects: list[tuple[Rejected, int | None]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return len(self.outcomes)


def process(
    payload: Payload,
    device: Device | None,
    *,
    adapter: Adapter | None = None,
    secret: str | None = None,
    flags: tuple[str, ...] = (),
    keep_rejects: bool = True,
) -> Report:
    """Adapter → normalise → store; rejects become dead letters. Raises OSError only when neither
    the database nor the spool can keep what was received (the sender must retry)."""
    adapter = adapter or adapter_for(payload.source)
    report = Report()
    try:
        parsed = adapter.parse(payload, device)
    except Rejected as rejected:
        letter = deadletters.record(payload, rejected, device=device, secret=secret) if keep_rejects else None
        report.rejects.append((rejected, letter.pk if letter else None))
        return report
    events: list[Incoming] = []
    for event in parsed.events:
        event.flags.extend(f for f in flags if f not in event.flags)
        try:
            events.append(normalise(event, payload.received_at))
        except Rejected as invalid:
            parsed.rejects.append((invalid, b""))
    for reject, fragment in parsed.rejects:
        letter = (
            deadletters.record(payload, reject, device=device, body=fragment or None, secret=secret)
            if keep_rejects
            else None
        )
        report.rejects.append((reject, letter.pk if letter else None))
    report.outcomes = GROUP.store(events)
    if HEALTH.due():
        with contextlib.suppress(*UNAVAILABLE):
            HEALTH.flush()
    return report


def refuse(payload: Payload, detail: str, *, secret: str | None = None) -> None:
    """Record a push from an unknown, disabled or misplaced device (rate-limited)."""
    deadletters.record(payload, Rejected(c.DeadLetterReason.UNAUTHENTICATED, detail), secret=secret)


def _require_handle(actor: Any, letter: DeadLetter) -> None:
    if actor is None:
        return
    if letter.compound_id is None:
        if not is_platform_admin(actor):
            raise PermissionDenied(_("只有系统管理员可以处理未关联设备的死信。"))
        return
    if not Compound.objects.editable_by(actor).filter(pk=letter.compound_id).exists():
        raise PermissionDenied(_("您没有处理该小区死信的权限。"))


def replay_dead_letter(actor: Any, letter: DeadLetter, *, device: Device | None = None) -> Report:
    """Run a kept payload through its adapter again, after a fix (a mapping added, the device
    registered — then name it with `device`). The letter is marked replayed when at least one event
    came out of it and no part was rejected again; new rejects become new dead letters."""
    _require_handle(actor, letter)
    if (
        device is not None
        and actor is not None
        and not Compound.objects.editable_by(actor).filter(pk=device.compound_id).exists()
    ):
        raise PermissionDenied(_("您没有该设备所在小区的权限。"))
    device = device or letter.device
    if device is None and letter.source != c.Source.API:
        raise Rejected(c.DeadLetterReason.UNAUTHENTICATED, _("请先选择发送该报文的设备。"))
    payload = deadletters.as_payload(letter)
    # A replayed payload keeps its original receive time: it was received then, not now. What is
    # still rejected stays in this letter rather than becoming another one.
    report = process(payload, device, flags=(c.Flag.REPLAYED,), keep_rejects=False)
    with transaction.atomic():
        letter = DeadLetter.objects.select_for_update().get(pk=letter.pk)
        letter.attempts += 1
        letter.replayed_at = timezone.now()
        stored = len(report.outcomes)
        letter.replay_result = _("得到 %(events)d 条事件，%(rejects)d 处仍被拒绝") % {
            "events": stored,
            "rejects": len(report.rejects),
        }
        if stored and not report.rejects:
            letter.status = c.DeadLetterStatus.REPLAYED
            if device is not None and letter.device_id is None:
                letter.device, letter.compound_id = device, device.compound_id
        letter.save()
    return report


def discard_dead_letter(actor: Any, letter: DeadLetter) -> None:
    _require_handle(actor, letter)
    DeadLetter.objects.filter(pk=letter.pk).update(status=c.DeadLetterStatus.DISCARDED)
