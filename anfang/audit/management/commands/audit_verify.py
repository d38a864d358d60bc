"""Verify the access audit hash chain (Art 33(5)); exit 1 when it is broken, naming where."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from anfang.audit.services import verify_and_log


class Command(BaseCommand):
    help = "Verify the access audit hash chain; exits non-zero on a break (edited / deleted / reordered)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start-seq", type=int, help="verified checkpoint: last seq of a purged prefix")
        parser.add_argument("--start-hash", help="verified checkpoint: the hash of that entry")

    def handle(self, *args: Any, **options: Any) -> None:
        start = None
        if options["start_seq"] is not None or options["start_hash"]:
            if options["start_seq"] is None or not options["start_hash"]:
                raise CommandError("--start-seq and --start-hash go together")
            start = (options["start_seq"], options["start_hash"])
        result, _run = verify_and_log(start)
        span = f"seq {result.start_seq + 1}–{result.last_seq}" if result.checked else "no entries"
        if result.intact:
            self.stdout.write(f"audit chain intact: {result.checked} entries ({span}), head {result.last_hash[:16]}")
            return
        for problem in result.breaks:
            self.stderr.write(f"seq {problem.seq}: {problem.problem} — {problem.detail}")
        raise CommandError(f"audit chain broken: {len(result.breaks)} problem(s) in {result.checked} entries ({span})")
