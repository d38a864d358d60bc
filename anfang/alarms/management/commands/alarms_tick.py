"""`manage.py alarms_tick`: escalate unacknowledged alarms past their rule's time (issue 6 §2),
every few seconds, for as long as it runs.

Every open console stream ticks escalation too (console/sse.py), so while anyone watches a
console this is not needed; run it (systemd, a container, cron with --once) so that alarms still
escalate to the manager when no console is open — that is when escalation matters most.
escalate_due is safe to run from several processes at once."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from anfang.alarms.services import escalate_due


class Command(BaseCommand):
    help = "Escalate unacknowledged alarms (every --interval seconds; --once for a single pass)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between passes (default 5)")
        parser.add_argument("--once", action="store_true", help="one pass, then exit (cron)")

    def handle(self, *args: Any, interval: float, once: bool, **options: Any) -> None:
        while True:
            if not connection.in_atomic_block:
                close_old_connections()  # a long-running loop: drop a connection the server closed
            started = time.monotonic()
            for alarm in escalate_due():
                self.stdout.write(f"alarm {alarm.pk} escalated to level {alarm.escalation_level}")
            if once:
                return
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
