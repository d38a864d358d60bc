"""`manage.py retention_video [--device ID …]` — ask the recorders (ISAPI) how far back their
recordings reach; run daily (Art 33(2))."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from anfang.retention.recorder import pull


class Command(BaseCommand):
    help = "Query Hikvision recorders for their earliest recording per channel and store the reports."

    def add_arguments(self, parser):
        parser.add_argument("--device", type=int, action="append", dest="devices")

    def handle(self, *args, **options):
        outcome = pull(options["devices"])
        for device_id, result in sorted(outcome.items()):
            self.stdout.write(f"device {device_id}: {result}")
        if not outcome:
            self.stdout.write("no recorder with a pull address")
