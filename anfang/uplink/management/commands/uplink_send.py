import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from anfang.uplink import conf
from anfang.uplink.sender import HttpClient, RoundReport, send_due


class Command(BaseCommand):
    help = (
        "Send due outbox messages to the police platform (GA/T 1400, Art 9). Runs until stopped; "
        "--once sends everything due now and exits."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="send what is due now, then exit")
        parser.add_argument("--batch", type=int, default=None, help="messages per POST")
        parser.add_argument("--idle", type=float, default=2.0, help="seconds to wait when nothing is due")

    def handle(self, *args, once=False, batch=None, idle=2.0, **options):
        if not conf.get("URL"):
            raise CommandError("ANFANG_UPLINK_URL is not set: no police platform to send to.")
        if batch is not None and batch < 1:
            raise CommandError("--batch must be at least 1.")
        client = HttpClient.from_settings()
        total = RoundReport()
        every = float(conf.get("KEEPALIVE_SECONDS"))
        last_keepalive = time.monotonic()
        try:
            while True:
                if time.monotonic() - last_keepalive >= every:
                    if not client.keepalive():
                        self.stderr.write("keepalive refused: registering again before the next send")
                    last_keepalive = time.monotonic()
                report = send_due(timezone.now(), client, batch=batch)
                for name in ("claimed", "sent", "failed", "dead"):
                    setattr(total, name, getattr(total, name) + getattr(report, name))
                if report.stopped:
                    self.stderr.write(f"platform unreachable: {report.stopped}")
                if once and (not report.claimed or report.stopped):
                    break
                if not report.claimed or report.stopped:
                    time.sleep(idle)
        except KeyboardInterrupt:
            pass
        finally:
            client.close()
        self.stdout.write(f"sent {total.sent}, failed {total.failed}, dead {total.dead}")
