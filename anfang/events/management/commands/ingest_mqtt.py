"""`manage.py ingest_mqtt --workers N`: the MQTT ingest workers (issue 5 §4).

N worker processes (not threads): each parses and validates JSON under its own GIL, writes through
its own batch writer and database connection, and holds its own MQTT session, so a crash costs
only a redelivery of that worker's unacknowledged messages. Worker k (k = 0…N-1) connects as
`<client-prefix>-k`; a dead worker is restarted under the same id and resumes its session."""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from anfang.events.mqtt_worker import WorkerConfig, supervise


class Command(BaseCommand):
    help = "运行 MQTT 事件接入进程（共享订阅，提交后确认） / run the MQTT event ingest workers"

    def add_arguments(self, parser: Any) -> None:
        defaults = WorkerConfig()
        parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1: in this process)")
        parser.add_argument(
            "--first-slot", type=int, default=0, help="slot of the first worker (hosts sharing a prefix)"
        )
        parser.add_argument("--url", default=defaults.url, help="broker, mqtt://host:port (ANFANG_MQTT_URL)")
        parser.add_argument("--client-prefix", default=defaults.client_prefix, help="client id = <prefix>-<slot>")
        parser.add_argument("--group", default=defaults.group, help="shared subscription group ($share/<group>/…)")
        parser.add_argument(
            "--topic-root", default=defaults.topic_root, help="topics are <root>/<compound>/<device>/events"
        )
        parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="events per database write")
        parser.add_argument(
            "--max-delay",
            type=float,
            default=defaults.max_delay,
            help="seconds a batch may wait to fill before it is written",
        )
        parser.add_argument(
            "--inflight",
            type=int,
            default=defaults.receive_maximum,
            help="unacknowledged messages the broker may send one worker (MQTT 5 Receive Maximum, ≤ 65535)",
        )
        parser.add_argument(
            "--session-expiry",
            type=int,
            default=defaults.session_expiry,
            help="seconds the broker keeps a stopped worker's session and its messages",
        )
        parser.add_argument(
            "--leave", action="store_true", help="on stop, leave the group and end the session (retiring the slots)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        if not 1 <= options["inflight"] <= 65535:
            raise CommandError("--inflight must be between 1 and 65535")
        level = {0: logging.WARNING, 1: logging.INFO}.get(options["verbosity"], logging.DEBUG)
        logger = logging.getLogger("anfang.events")
        logger.setLevel(level)
        if not logging.getLogger().handlers:
            logging.basicConfig()
        config = WorkerConfig(
            url=options["url"],
            client_prefix=options["client_prefix"],
            group=options["group"],
            topic_root=options["topic_root"],
            batch_size=options["batch_size"],
            max_delay=options["max_delay"],
            receive_maximum=options["inflight"],
            session_expiry=options["session_expiry"],
            leave=options["leave"],
        )
        try:
            config.broker()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        code = supervise(options["workers"], config, first_slot=options["first_slot"])
        if code:
            raise SystemExit(code)
