"""`manage.py daily_records [--date YYYY-MM-DD] [--compound ID]`: write the daily operating record
(监控运行信息, Art 33(1)) of every active compound. Without --date: yesterday (Asia/Shanghai), which
is what the scheduler runs shortly after midnight; those records are final. A date of today writes
provisional records; a final record is never rewritten."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from anfang.compounds.models import Compound
from anfang.duty import records


class Command(BaseCommand):
    help = "Write the daily operating record (Art 33(1)) of each active compound for a day (default: yesterday)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="the local day, YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--compound", type=int, help="only this compound id")

    def handle(self, *args, **opts) -> None:
        now = timezone.now()
        today = records.local_today(now)
        if opts["date"]:
            try:
                day = dt.date.fromisoformat(opts["date"])
            except ValueError as exc:
                raise CommandError(f"--date {opts['date']!r} is not a date YYYY-MM-DD.") from exc
        else:
            day = today - dt.timedelta(days=1)
        if day > today:
            raise CommandError(f"{day} has not begun yet (today is {today}).")
        compounds = Compound.objects.active()
        if opts["compound"]:
            compounds = compounds.filter(pk=opts["compound"])
            if not compounds.exists():
                raise CommandError(f"No active compound {opts['compound']}.")
        started = time.monotonic()
        summary = records.generate(day, compounds, now=now)
        state = "final" if day < today else "provisional"
        self.stdout.write(
            f"Daily records {day} ({state}): {summary.written} written, {summary.kept} already final, "
            f"{time.monotonic() - started:.2f} s"
        )
