"""Operational facts the rules of Art 16 and Art 33(1)–(4) need, read from `Snapshot.operations`.

The modules that hold this data (duty, maintenance, retention) do not exist yet. Each of them
will register a bulk loader in `snapshot.OPERATION_LOADERS` under the key below, returning for
every compound id a JSON-ready dict of the documented shape; the rules then judge it without
change. Until then every selector answers None and the rules say `unknown` with the reason.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop

from .snapshot import Snapshot

NOT_YET = gettext_noop("值班/维护模块尚未建立（duty/maintenance modules not yet in place），无运行数据")
# Art 16 and 33(1) are judged from the duty module's daily operating records (duty.compliance_facts).
NO_RECORDS = gettext_noop("近7日没有本小区的监控运行记录，无法判断（运行记录由 daily_records 每日生成）")


def _section(s: Snapshot, key: str) -> dict[str, Any] | None:
    data = s.operations.get(key)
    return dict(data) if data else None


def duty(s: Snapshot) -> dict[str, Any] | None:
    """Art 16 — key "duty": {"staffed_24h": bool, "gaps": [str], "log_complete": bool,
    "log_gaps": [str]} over the assessment window."""
    return _section(s, "duty")


def operation(s: Snapshot) -> dict[str, Any] | None:
    """Art 33(1) — key "operation": {"continuous": bool, "outages": [str], "recorded": bool}."""
    return _section(s, "operation")


def patrol(s: Snapshot) -> dict[str, Any] | None:
    """Art 10 — key "patrol" (patrol.compliance_facts): {"checkpoints", "routes", "plans",
    "runs_30d", "closed_30d", "completed_runs_30d", "checkpoints_expected_30d",
    "checkpoints_done_30d", "completion_rate" (0–1 or None)}; None when the patrol module holds
    nothing for the compound."""
    return _section(s, "patrol")


def retention(s: Snapshot) -> dict[str, Any] | None:
    """Art 33(2) — key "retention": {"video_days": int, "vehicle_days": int}."""
    return _section(s, "retention")


def change_control(s: Snapshot) -> dict[str, Any] | None:
    """Art 33(3) — key "change_control": {"unrecorded_changes": [str]}."""
    return _section(s, "change_control")


def maintenance(s: Snapshot) -> dict[str, Any] | None:
    """Art 33(4) — key "maintenance": {"daily_inspection": bool, "missed_days": [str],
    "overdue_repairs": [str]}."""
    return _section(s, "maintenance")


def vehicles(s: Snapshot) -> dict[str, Any] | None:
    """Art 9 / Art 11 — key "vehicles" (uplink.compliance_facts): over the last `window_days` days,
    {"window_days", "passages", "decided" (passages with a barrier decision),
    "entrances" / "parking_entrances": {"<place id>": [passages, decided]},
    "decisions_recorded": bool (the passage data carries barrier decisions),
    "uplink": {"queued", "sent" (of those queued in the window), "backlog" (waiting now), "dead",
    "oldest_pending_hours" (None: nothing waiting)}}; None when the compound has neither
    passages nor police uplink messages."""
    return _section(s, "vehicles")
