"""`manage.py simulate --devices N --rate R [--protocols isapi,mqtt,dahua] [--duration S]
[--url http://127.0.0.1:8000]`: registered devices sending realistic traffic in their real
protocols (issue 5 §11)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from anfang.simulator import mqtt
from anfang.simulator.run import PROTOCOLS, Simulation, select_devices, wait_for_server


def _protocols(text: str) -> list[str]:
    chosen = [p.strip() for p in text.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(PROTOCOLS))
    if unknown:
        raise CommandError(f"unknown protocol(s) {', '.join(unknown)}; choose from {', '.join(PROTOCOLS)}")
    return chosen


class Command(BaseCommand):
    help = "Simulate N registered devices sending events over ISAPI, MQTT and the Dahua event stream."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--devices", type=int, default=20, help="how many registered devices (default 20)")
        parser.add_argument("--rate", type=float, default=5.0, help="events per second, all devices (default 5)")
        parser.add_argument(
            "--protocols", default="isapi,mqtt,dahua", help="comma-separated subset of isapi,mqtt,dahua"
        )
        parser.add_argument("--duration", type=float, default=None, help="seconds to run (default: until Ctrl-C)")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="where the ISAPI devices push")
        parser.add_argument("--mqtt-url", default=None, help="MQTT broker (default ANFANG_MQTT_URL)")
        parser.add_argument("--compound", type=int, action="append", help="only devices of this compound (repeat)")
        parser.add_argument("--concurrency", type=int, default=8, help="HTTP connections for ISAPI pushes")
        parser.add_argument("--every", type=float, default=1.0, help="seconds between progress lines")
        parser.add_argument("--wait", type=float, default=0.0, help="wait up to S seconds for the server to answer")
        parser.add_argument("--skip-unavailable", action="store_true", help="drop MQTT when no broker answers")
        parser.add_argument(
            "--ingest",
            action="store_true",
            help="also run the ingest side of the simulated protocols: an MQTT worker (manage.py ingest_mqtt) "
            "and the Dahua connector (manage.py ingest_dahua) attached to the simulated devices",
        )
        parser.add_argument("--seed", type=int, default=None, help="random seed (repeatable traffic)")
        parser.add_argument(
            "--reissue", action="store_true", help="re-issue tokens of devices whose token the simulator lacks"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["devices"] < 1 or opts["rate"] <= 0:
            raise CommandError("--devices must be at least 1 and --rate positive")
        protocols = _protocols(opts["protocols"])
        mqtt_url = opts["mqtt_url"] or settings.ANFANG_MQTT_URL
        if "mqtt" in protocols and not mqtt.broker_answers(mqtt_url):
            if not opts["skip_unavailable"]:
                raise CommandError(f"no MQTT broker answers at {mqtt_url} (leave mqtt out of --protocols)")
            self.stdout.write(f"simulate: no MQTT broker answers at {mqtt_url}; simulating without MQTT")
            protocols.remove("mqtt")
        if not protocols:
            raise CommandError("nothing to simulate")
        if "isapi" in protocols and not opts["url"].startswith("http://"):
            raise CommandError(f"--url must be an http:// address (devices push plain HTTP), not {opts['url']!r}")
        devices = select_devices(
            opts["devices"], protocols, compound_ids=opts["compound"], reissue=opts["reissue"], log=self.stdout.write
        )
        if not devices:
            raise CommandError("no registered device speaks the chosen protocols (load the demo: manage.py seed_demo)")
        counts = {p: sum(d.protocol == p for d in devices) for p in protocols}
        self.stdout.write(
            f"simulate: {len(devices)} devices ({', '.join(f'{p} {n}' for p, n in counts.items() if n)}), "
            f"{opts['rate']:g} events/s" + (f" for {opts['duration']:g} s" if opts["duration"] else "")
        )
        try:
            sim = Simulation(
                devices,
                opts["rate"],
                url=opts["url"],
                mqtt_url=mqtt_url,
                duration=opts["duration"],
                every=opts["every"],
                out=self.stdout,
                concurrency=opts["concurrency"],
                seed=opts["seed"],
            )
        except ValueError as exc:  # no device left that its protocol lets say anything
            raise CommandError(str(exc)) from exc
        connectors: list[subprocess.Popen] = []
        # Until the event loop takes the signals over, a stop request still cleans up (finally).
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
        previous_int = signal.getsignal(signal.SIGINT)
        try:
            if opts["ingest"] and "mqtt" in sim.protocols():
                connectors.append(subprocess.Popen([sys.executable, "-m", "django", "ingest_mqtt", "--url", mqtt_url]))
                time.sleep(3)  # let it subscribe: a message with no subscriber yet is dropped by the broker
            feeds = sim.open_dahua(reissue=opts["reissue"])
            for feed in feeds:
                self.stdout.write(f"dahua device {feed.device.id} ({feed.device.name}) streams at {feed.url}")
            if feeds and opts["ingest"]:
                # The connector as it runs in production, attached to these devices only.
                ids = [arg for feed in feeds for arg in ("--device", str(feed.device.id))]
                connectors.append(subprocess.Popen([sys.executable, "-m", "django", "ingest_dahua", *ids]))
                # A device's events before anyone attaches are gone (as with a real one): wait for it.
                waiting = [feed for feed in feeds if not feed.server.wait_attached(1, timeout=60)]
                if waiting:
                    self.stdout.write(f"{len(waiting)} Dahua device(s) not attached after 60 s; simulating anyway")
            elif feeds:
                self.stdout.write("attach the connector with: manage.py ingest_dahua (or simulate --ingest)")

            asyncio.run(self._run(sim, opts))
        except KeyboardInterrupt:
            pass
        finally:
            if main_thread:  # Ctrl-C reaches us and the shell's trap a moment apart: finish cleaning up
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            for proc in connectors:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
            sim.close_dahua()
            if main_thread:
                signal.signal(signal.SIGTERM, previous)
                signal.signal(signal.SIGINT, previous_int)

    async def _run(self, sim: Simulation, opts: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, sim.stop)
        waited = "isapi" in sim.protocols() and opts["wait"]
        if waited and not await wait_for_server(
            opts["url"], opts["wait"], log=self.stdout.write, stopped=lambda: sim.stopped
        ):
            if sim.stopped:
                return
            raise CommandError(f"nothing answers at {opts['url']}")
        await sim.run()


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt
