"""Demo data for the police uplink (Art 9). Starts nothing.

`seed` queues an outbox message for every demo passage that has none (passages normally queue
themselves through the ANPR hook, `vehicles.passages`; this covers any the demo wrote another
way). Idempotent: the key is the one the hook uses.

To see the uplink work in `make demo`, run a fake police platform and the sender next to the
server (two more terminals, or background jobs in the demo target):

    .venv/bin/python -m anfang.uplink.fakeplatform --port 8941 --failure-rate 0.2 \
        --username anfang --password demo
    ANFANG_UPLINK_URL=http://127.0.0.1:8941 ANFANG_UPLINK_USER=anfang ANFANG_UPLINK_PASSWORD=demo \
        ANFANG_UPLINK_USER_IDENTIFY=21080000002000000001 .venv/bin/python manage.py uplink_send

The status page /uplink/ then shows the queue draining, the fake's 500s as failed attempts that
are retried with backoff; stop the fake for a while and the backlog grows and drains when it is back.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps

from anfang.compounds.models import Compound

from . import gat1400
from .models import OutboxMessage
from .services import Outgoing, enqueue_many

LIMIT = 5000  # newest passages per run


def seed(compounds: list[Compound], users: dict[str, Any]) -> None:
    try:
        Passage = apps.get_model("vehicles", "Passage")
    except LookupError:
        return
    ids = [c.pk for c in compounds]
    passages = list(Passage.objects.filter(compound_id__in=ids).order_by("-received_at")[:LIMIT])
    queued = set(
        OutboxMessage.objects.filter(kind="motor_vehicle", object_id__in=[p.pk for p in passages]).values_list(
            "object_id", flat=True
        )
    )
    enqueue_many(
        Outgoing("motor_vehicle", p.pk, p.compound_id, gat1400.motor_vehicle(p), gat1400.idempotency_key(p))
        for p in passages
        if p.pk not in queued
    )
