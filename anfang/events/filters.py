"""Scope, filters and paging of the event and dead-letter lists.

Scope: events are seen by whoever sees their compound (`Compound.objects.visible_to`); dead letters
are handled by whoever may edit the compound's registry (`editable_by`) and by platform admins, and
a letter no device could be tied to (no compound) by admins alone.

Paging is by key, not by offset: the event table is meant for 10^8 rows (partitioned by day on
PostgreSQL), where OFFSET and an exact COUNT(*) cost a scan of everything skipped or counted. A page
is "the next N rows older than (received_at, id)", and the total is counted up to a cap."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from anfang.compounds.models import Compound
from anfang.core.grants import is_platform_admin

from .models import DeadLetter, Event

ANY_FLAG = "any"
PER_PAGE = 25
COUNT_CAP = 10_000  # beyond this the list says "more than 10,000"


# ---- scope --------------------------------------------------------------------------------


def visible_events(user: Any) -> QuerySet[Event]:
    qs = Event.objects.all()
    if is_platform_admin(user):
        return qs
    # The ids, not a subquery: PostgreSQL then knows how few compounds (of how many events) are
    # meant and picks the (compound, received_at) index; a subquery it guesses at, and scans.
    return qs.filter(compound_id__in=list(Compound.objects.visible_to(user).values_list("pk", flat=True)))


def handleable_dead_letters(user: Any) -> QuerySet[DeadLetter]:
    qs = DeadLetter.objects.all()
    if is_platform_admin(user):
        return qs
    return qs.filter(compound_id__in=list(Compound.objects.editable_by(user).values_list("pk", flat=True)))


# ---- filters ------------------------------------------------------------------------------


def _flag_q(flag: str) -> Q:
    if flag == ANY_FLAG:
        return ~Q(flags=[])
    if connection.vendor == "postgresql":
        return Q(flags__contains=[flag])
    # SQLite has no JSON containment; flags are a short list of known words, so the quoted word in
    # the stored text is exact enough.
    return Q(flags__icontains=f'"{flag}"')


@dataclass(frozen=True)
class EventFilter:
    compound: int | None = None
    device: int | None = None
    kind: str | None = None
    min_severity: int | None = None
    source: str | None = None
    flag: str | None = None  # a Flag value, or ANY_FLAG
    since: dt.datetime | None = None  # received_at >= since
    until: dt.datetime | None = None  # received_at < until

    def apply(self, qs: QuerySet[Event]) -> QuerySet[Event]:
        if self.compound:
            qs = qs.filter(compound_id=self.compound)
        if self.device:
            qs = qs.filter(device_id=self.device)
        if self.kind:
            qs = qs.filter(kind=self.kind)
        if self.min_severity is not None:
            qs = qs.filter(severity__gte=self.min_severity)
        if self.source:
            qs = qs.filter(source=self.source)
        if self.flag:
            qs = qs.filter(_flag_q(self.flag))
        if self.since:
            qs = qs.filter(received_at__gte=self.since)
        if self.until:
            qs = qs.filter(received_at__lt=self.until)
        return qs


@dataclass(frozen=True)
class DeadLetterFilter:
    compound: int | None = None
    device: int | None = None
    reason: str | None = None
    source: str | None = None
    status: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def apply(self, qs: QuerySet[DeadLetter]) -> QuerySet[DeadLetter]:
        for name in ("compound", "device"):
            value = getattr(self, name)
            if value:
                qs = qs.filter(**{f"{name}_id": value})
        for name in ("reason", "source", "status"):
            value = getattr(self, name)
            if value:
                qs = qs.filter(**{name: value})
        if self.since:
            qs = qs.filter(received_at__gte=self.since)
        if self.until:
            qs = qs.filter(received_at__lt=self.until)
        return qs


# ---- keyset paging ------------------------------------------------------------------------

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)


def cursor_of(row: Any) -> str:
    """'<received_at in µs since 1970>.<id>' — exact, and readable enough in a URL."""
    return f"{(row.received_at - EPOCH) // MICROSECOND}.{row.pk}"


def parse_cursor(raw: str | None) -> tuple[dt.datetime, int] | None:
    """The (received_at, id) of a cursor, or None for a missing or malformed one (first page)."""
    micros, _, pk = (raw or "").partition(".")
    if not (micros.isdigit() and pk.isdigit()) or len(micros) > 18 or len(pk) > 19:
        return None
    try:
        return EPOCH + int(micros) * MICROSECOND, int(pk)
    except OverflowError:
        return None


@dataclass
class KeysetPage:
    object_list: list[Any]
    newer: str | None  # cursor for the page of newer rows (None on the first page)
    older: str | None  # cursor for the page of older rows (None on the last page)
    total: int  # rows matching the filter, counted up to COUNT_CAP
    capped: bool  # True when there are more than `total`

    @property
    def is_first(self) -> bool:
        return self.newer is None


def keyset_page(
    request: HttpRequest, qs: QuerySet, *, per_page: int | None = None, cap: int | None = None
) -> KeysetPage:
    """The page `?before=<cursor>` (older rows), `?after=<cursor>` (newer rows) or the newest,
    ordered by (received_at, id) descending."""
    per_page, cap = per_page or PER_PAGE, cap or COUNT_CAP
    total = qs.order_by()[: cap + 1].count()
    after = parse_cursor(request.GET.get("after"))
    if after:
        at, pk = after
        newer_q = Q(received_at__gte=at) & (Q(received_at__gt=at) | Q(pk__gt=pk))
        rows = list(qs.filter(newer_q).order_by("received_at", "pk")[: per_page + 1])
        if len(rows) > per_page:  # otherwise these are the newest: show the first page in full
            rows = rows[:per_page][::-1]
            return KeysetPage(rows, cursor_of(rows[0]), cursor_of(rows[-1]), min(total, cap), total > cap)
    before = None if after else parse_cursor(request.GET.get("before"))
    page_qs = qs
    if before:
        at, pk = before
        page_qs = qs.filter(Q(received_at__lte=at) & (Q(received_at__lt=at) | Q(pk__lt=pk)))
    rows = list(page_qs.order_by("-received_at", "-pk")[: per_page + 1])
    older = cursor_of(rows[per_page - 1]) if len(rows) > per_page else None
    rows = rows[:per_page]
    newer = None
    if before:  # there were newer rows: the ones before the cursor
        newer = cursor_of(rows[0]) if rows else request.GET.get("before")
    return KeysetPage(rows, newer, older, min(total, cap), total > cap)
