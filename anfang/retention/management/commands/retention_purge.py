"""`manage.py retention_purge [--dry-run] [--data-class X] [--sweep-media] [--wait S]` — run daily."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from anfang.retention.choices import DataClass, PurgeStatus
from anfang.retention.purge import purge


class Command(BaseCommand):
    help = "Delete data past its retention (Art 33(2) floors enforced), keeping legal holds; run daily."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="report what would go, delete nothing")
        parser.add_argument("--data-class", default="", choices=["", *DataClass.values])
        parser.add_argument("--sweep-media", action="store_true", help="also delete media files no row refers to")
        parser.add_argument("--wait", type=float, default=0.0, help="seconds to wait for a running purge")

    def handle(self, *args, **options):
        run = purge(
            dry_run=options["dry_run"],
            data_class=options["data_class"],
            sweep=options["sweep_media"],
            wait=options["wait"],
            trigger="command",
        )
        for key, c in (run.report.get("classes") or {}).items():
            if c.get("skipped"):
                self.stdout.write(f"{key}: skipped ({c['skipped']})")
                continue
            self.stdout.write(
                f"{key}: rows {c['rows']}, partitions {len(c['partitions'])}, files {c['files']} "
                f"({c['bytes']} bytes), held rows kept {c['held_rows']}, missing files {c['missing_files']}"
            )
        if "sweep" in run.report:
            self.stdout.write(f"media sweep: {run.report['sweep']}")
        verb = "dry run" if run.dry_run else "purge"
        self.stdout.write(f"{verb} #{run.pk}: {run.status} in {run.duration_ms} ms")
        if run.status == PurgeStatus.REFUSED:
            raise CommandError("another purge is running")
        if run.status == PurgeStatus.FAILED:
            raise CommandError("; ".join(run.errors))
