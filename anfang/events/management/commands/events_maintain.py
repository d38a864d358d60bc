from django.core.management.base import BaseCommand

from anfang.events.maintenance import maintain


class Command(BaseCommand):
    help = "Create event partitions ahead, expire dedup keys, replay the spool (run daily or more often)."

    def handle(self, *args, **options):
        report = maintain()
        days = ", ".join(d.isoformat() for d in report.partitions_created) or "none"
        self.stdout.write(
            f"partitions created: {days}; dedup keys expired: {report.keys_expired}; "
            f"spooled batches replayed: {report.spool_batches}"
        )
