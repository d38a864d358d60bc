"""`manage.py patrol_evaluate`: the patrol ticker (Art 10). Each pass creates the runs of the plans
for today and tomorrow (idempotent), closes and judges the runs whose window has ended, and raises
the "patrol not started" / "patrol missed" alarms on the duty console. Loops every --interval
seconds (systemd, a container), or one pass with --once (cron). Safe to run from several
processes: closing takes the due runs with SKIP LOCKED, and each alarm is recorded on its run."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.utils import timezone

from anfang.patrol.schedule import local_day
from anfang.patrol.services import evaluate_due, generate_runs


class Command(BaseCommand):
    help = "Generate patrol runs ahead, close and evaluate due runs, raise missed / not-started alarms."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=60.0, help="seconds between passes (default 60)")
        parser.add_argument("--once", action="store_true", help="one pass, then exit (cron)")
        parser.add_argument("--days-ahead", type=int, default=1, help="days of runs to create ahead (default 1)")

    def handle(self, *args: Any, interval: float, once: bool, days_ahead: int, **options: Any) -> None:
        while True:
            if not connection.in_atomic_block:
                close_old_connections()
            started = time.monotonic()
            today = local_day(timezone.now())
            created = generate_runs(today, today + dt.timedelta(days=max(0, days_ahead)))
            summary = evaluate_due()
            if created or summary.closed or summary.not_started_alarms or summary.missed_alarms:
                self.stdout.write(
                    f"runs created {created}, closed {summary.closed}, "
                    f"not-started alarms {summary.not_started_alarms}, missed alarms {summary.missed_alarms}"
                )
            if once:
                return
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
