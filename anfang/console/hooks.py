"""Event-writer hook: one console notification per stored batch naming the compounds it touched
(not one per event: at thousands of events a second a NOTIFY each would be the bottleneck)."""

from __future__ import annotations

from anfang.events.ingest import Incoming

from .bus import publish

# Above this many compounds in one batch, say "all" instead of listing them (NOTIFY payloads are
# limited to 8000 bytes).
MAX_LISTED = 400


def announce_events(stored: list[tuple[int, Incoming]]) -> None:
    if not stored:
        return
    compounds = sorted({e.compound_id for _, e in stored})
    publish(
        "events",
        {"compounds": compounds if len(compounds) <= MAX_LISTED else "all", "last_id": max(i for i, _ in stored)},
    )
