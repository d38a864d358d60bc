"""Scoped reads of the outbox for the status page (Art 9). Platform admins and police see every
compound in their scope; property and community managers their compounds. Counts stay cheap on a
large outbox: backlog and dead messages are few and indexed by status, "sent" is counted over the
last 24 hours only, and the list is ordered by id (the primary key) rather than by time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Min, Q, QuerySet

from anfang.compounds.models import Compound
from anfang.core.choices import Role
from anfang.core.grants import has_role, is_platform_admin

from . import choices as c
from .models import OutboxMessage, UplinkAttempt

VIEW_ROLES = frozenset(
    {
        Role.PLATFORM_ADMIN,
        Role.POLICE_CITY,
        Role.POLICE_DISTRICT,
        Role.POLICE_STATION,
        Role.PROPERTY_MANAGER,
        Role.COMMUNITY_MANAGER,
    }
)
# Re-queueing is running the compound's system (Art 30 / 32): its managers and platform admins.
REQUEUE_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.PROPERTY_MANAGER, Role.COMMUNITY_MANAGER})
BACKLOG = (c.Status.PENDING, c.Status.FAILED, c.Status.SENDING)
RECENT = dt.timedelta(hours=24)
COMPOUND_ROWS = 50  # compounds listed on the overview, the largest backlog first


def can_view(user: Any) -> bool:
    return has_role(user, VIEW_ROLES)


def _scoped(qs: QuerySet, user: Any, roles: frozenset[str]) -> QuerySet:
    if is_platform_admin(user):
        return qs
    return qs.filter(compound__in=Compound.objects.in_scope_of_roles(user, roles).values("pk"))


def visible_messages(user: Any) -> QuerySet[OutboxMessage]:
    return _scoped(OutboxMessage.objects.all(), user, VIEW_ROLES)


def requeueable_messages(user: Any) -> QuerySet[OutboxMessage]:
    return _scoped(OutboxMessage.objects.all(), user, REQUEUE_ROLES)


def can_requeue(user: Any, message: OutboxMessage) -> bool:
    return has_role(user, REQUEUE_ROLES) and requeueable_messages(user).filter(pk=message.pk).exists()


@dataclass
class Summary:
    pending: int
    failed: int
    sending: int
    dead: int
    queued_24h: int
    sent_24h: int
    oldest_pending_at: dt.datetime | None

    @property
    def backlog(self) -> int:
        return self.pending + self.failed + self.sending

    @property
    def share_24h(self) -> float | None:
        return self.sent_24h * 100 / self.queued_24h if self.queued_24h else None


def summary(qs: QuerySet[OutboxMessage], now: dt.datetime) -> Summary:
    since = now - RECENT
    recent = Q(created_at__gte=since)
    row = qs.filter(recent | Q(status__in=(*BACKLOG, c.Status.DEAD))).aggregate(
        pending=Count("pk", filter=Q(status=c.Status.PENDING)),
        failed=Count("pk", filter=Q(status=c.Status.FAILED)),
        sending=Count("pk", filter=Q(status=c.Status.SENDING)),
        dead=Count("pk", filter=Q(status=c.Status.DEAD)),
        queued_24h=Count("pk", filter=recent),
        sent_24h=Count("pk", filter=recent & Q(status=c.Status.SENT)),
        oldest_pending_at=Min("created_at", filter=Q(status__in=BACKLOG)),
    )
    return Summary(**row)


@dataclass
class CompoundRow:
    compound_id: int
    name: str
    kind: str
    kind_label: str
    backlog: int
    dead: int
    sent_24h: int
    oldest_pending_at: dt.datetime | None


def by_compound(
    qs: QuerySet[OutboxMessage], now: dt.datetime, limit: int = COMPOUND_ROWS
) -> tuple[list[CompoundRow], int]:
    """Per compound and kind: backlog, dead, sent in the last 24 h; the `limit` rows with the largest
    backlog (then dead) first, and how many rows there are in all."""
    recent = Q(created_at__gte=now - RECENT)
    rows = list(
        qs.filter(recent | Q(status__in=(*BACKLOG, c.Status.DEAD)))
        .values("compound_id", "compound__name", "kind")
        .annotate(
            backlog=Count("pk", filter=Q(status__in=BACKLOG)),
            dead=Count("pk", filter=Q(status=c.Status.DEAD)),
            sent_24h=Count("pk", filter=recent & Q(status=c.Status.SENT)),
            oldest=Min("created_at", filter=Q(status__in=BACKLOG)),
        )
        .order_by()
    )
    rows.sort(key=lambda r: (-r["backlog"], -r["dead"], r["compound__name"]))
    labels = dict(c.MessageKind.choices)
    return [
        CompoundRow(
            r["compound_id"],
            r["compound__name"],
            r["kind"],
            str(labels.get(r["kind"], r["kind"])),
            r["backlog"],
            r["dead"],
            r["sent_24h"],
            r["oldest"],
        )
        for r in rows[:limit]
    ], len(rows)


def last_errors(qs: QuerySet[OutboxMessage], limit: int = 10) -> list[UplinkAttempt]:
    """The latest failed attempts (newest first) of messages in `qs`."""
    return list(
        UplinkAttempt.objects.filter(ok=False, message__in=qs.values("pk"))
        .select_related("message", "message__compound")
        .order_by("-id")[:limit]
    )
