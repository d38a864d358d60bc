"""What the vehicle data and the police uplink tell the compliance engine: Art 9 (出入口监控应当能够
智能识别机动车号牌，并与公安机关监控平台联网 — working, not only installed) and Art 11 (停车场出入口控制
系统 — barrier decisions actually taken), from the last WINDOW_DAYS days of passages and of the outbox.

Read in bulk for any number of compounds with two queries (passages, outbox). `vehicles.Passage` is read through
the app registry, so this works (and says nothing about passages) before the vehicles app exists.
A compound with neither passages in the last LOOKBACK_DAYS days nor uplink messages is left out,
so the rules stay with the registry's answer (no data is not a pass)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.apps import apps
from django.db.models import Count, Min, Q
from django.utils import timezone

from . import choices as c
from .models import OutboxMessage

WINDOW_DAYS = 7
LOOKBACK_DAYS = 30  # passages this far back make a compound's vehicle data "present"
DECIDED = ("allow", "deny", "ask")  # Passage.decision values that are a barrier decision
BACKLOG = (c.Status.PENDING, c.Status.FAILED, c.Status.SENDING)


def _passage_model() -> Any:
    try:
        return apps.get_model("vehicles", "Passage")
    except LookupError:
        return None


def _passages(compound_ids: list[int], now: dt.datetime) -> tuple[dict[int, dict[str, Any]], bool]:
    """Per compound: passages and barrier decisions per entrance and parking entrance in the window."""
    model = _passage_model()
    if model is None:
        return {}, False
    names = {f.name for f in model._meta.get_fields()}
    has_decision = "decision" in names
    places = [p for p in ("entrance", "parking_entrance") if p in names]
    since = now - dt.timedelta(days=WINDOW_DAYS)
    recent = Q(received_at__gte=since)
    annotations: dict[str, Any] = {"n": Count("pk", filter=recent)}
    if has_decision:
        annotations["decided"] = Count("pk", filter=recent & Q(decision__in=DECIDED))
    rows = (
        model.objects.filter(
            compound_id__in=compound_ids, received_at__gte=now - dt.timedelta(days=LOOKBACK_DAYS), received_at__lte=now
        )
        .values("compound_id", *[f"{p}_id" for p in places])
        .annotate(**annotations)
        .order_by()
    )
    facts: dict[int, dict[str, Any]] = {}
    for row in rows:
        data = facts.setdefault(
            row["compound_id"], {"passages": 0, "decided": 0, "entrances": {}, "parking_entrances": {}}
        )
        data["passages"] += row["n"]
        data["decided"] += row.get("decided", 0)
        for place in places:
            place_id = row.get(f"{place}_id")
            if place_id is not None:
                counts = data[f"{place}s"].setdefault(str(place_id), [0, 0])
                counts[0] += row["n"]
                counts[1] += row.get("decided", 0)
    return facts, has_decision


def _uplink(compound_ids: list[int], now: dt.datetime) -> dict[int, dict[str, Any]]:
    since = now - dt.timedelta(days=WINDOW_DAYS)
    recent = Q(created_at__gte=since)
    rows = (
        OutboxMessage.objects.filter(compound_id__in=compound_ids)
        .filter(recent | Q(status__in=(*BACKLOG, c.Status.DEAD)))
        .values("compound_id")
        .annotate(
            queued=Count("pk", filter=recent),
            sent=Count("pk", filter=recent & Q(status=c.Status.SENT)),
            backlog=Count("pk", filter=Q(status__in=BACKLOG)),
            dead=Count("pk", filter=Q(status=c.Status.DEAD)),
            oldest=Min("created_at", filter=Q(status__in=BACKLOG)),
        )
        .order_by()
    )
    return {
        row["compound_id"]: {
            **{key: row[key] for key in ("queued", "sent", "backlog", "dead")},  # type: ignore[literal-required]
            "oldest_pending_hours": round((now - row["oldest"]).total_seconds() / 3600, 1) if row["oldest"] else None,
        }
        for row in rows
    }


def vehicle_facts(compound_ids: list[int], now: dt.datetime | None = None) -> dict[int, dict[str, Any]]:
    """Art 9 / Art 11 — key "vehicles" (compliance.selectors.vehicles)."""
    now = now or timezone.now()
    passages, has_decision = _passages(compound_ids, now)
    uplink = _uplink(compound_ids, now)
    empty = {"passages": 0, "decided": 0, "entrances": {}, "parking_entrances": {}}
    facts: dict[int, dict[str, Any]] = defaultdict(dict)
    for compound_id in set(passages) | set(uplink):
        facts[compound_id] = {
            "window_days": WINDOW_DAYS,
            **passages.get(compound_id, empty),
            "decisions_recorded": has_decision,
            "uplink": uplink.get(
                compound_id, {"queued": 0, "sent": 0, "backlog": 0, "dead": 0, "oldest_pending_hours": None}
            ),
        }
    return dict(facts)
