import contextlib
import signal
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from anfang.devices.choices import Vendor
from anfang.devices.models import Device
from anfang.events.connectors.dahua import DEFAULT_HEARTBEAT, Supervisor, WriterSink, pull_targets
from anfang.events.writer import HEALTH, UNAVAILABLE, BatchWriter


class Command(BaseCommand):
    help = (
        "Subscribe to the event stream of every Dahua device that has a pull address (or of the devices "
        "given with --device) and ingest its events until stopped (SIGINT/SIGTERM)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--device", type=int, action="append", dest="devices", metavar="ID", help="device id; repeatable"
        )
        parser.add_argument(
            "--heartbeat", type=int, default=DEFAULT_HEARTBEAT, help="seconds between the device's heartbeats"
        )
        parser.add_argument(
            "--rescan", type=float, default=60.0, help="seconds between looking for added/changed/removed devices"
        )
        parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = options["devices"]
        if ids:
            self._check(ids)
        elif not pull_targets():
            self.stderr.write("no Dahua device has a pull address yet; waiting for one to be configured")
        writer = BatchWriter().start()
        supervisor = Supervisor(WriterSink(writer), device_ids=ids, heartbeat=options["heartbeat"])
        stop = threading.Event()
        previous = self._on_signals(stop)
        deadline = time.monotonic() + options["duration"] if options["duration"] is not None else None
        try:
            started, _ = supervisor.sync()
            self.stdout.write(f"attached to {started} Dahua device(s)")
            while not stop.is_set():
                wait = options["rescan"]
                if deadline is not None:
                    wait = min(wait, max(0.0, deadline - time.monotonic()))
                if stop.wait(wait) or (deadline is not None and time.monotonic() >= deadline):
                    break
                started, stopped = supervisor.sync()
                if started or stopped:
                    self.stdout.write(f"devices changed: {started} attached, {stopped} detached")
        finally:
            supervisor.stop()
            writer.close()
            with contextlib.suppress(*UNAVAILABLE):
                HEALTH.flush()  # the last few seconds' device tallies
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(f"stopped; {writer.written} event(s) written")

    def _check(self, ids: list[int]) -> None:
        targets = pull_targets(ids)
        problems = []
        for device in Device.objects.filter(pk__in=ids):
            if device.pk in targets:
                continue
            if device.vendor != Vendor.DAHUA:
                problems.append(f"device {device.pk} is not a Dahua device")
            else:
                problems.append(f"device {device.pk} has no pull address, is retired or has ingest disabled")
        missing = set(ids) - set(Device.objects.filter(pk__in=ids).values_list("pk", flat=True))
        problems += [f"device {pk} does not exist" for pk in sorted(missing)]
        if problems:
            raise CommandError("; ".join(problems))

    @staticmethod
    def _on_signals(stop: threading.Event) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
        return previous
