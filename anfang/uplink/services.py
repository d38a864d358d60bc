"""Uplink use cases: enqueue a record for the police platform, re-queue a message (Art 9)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from . import choices as c
from .models import OutboxMessage

REQUEUEABLE = (c.Status.FAILED, c.Status.DEAD)


class RequeueRefused(ValueError):
    """The message is not in a state that can be re-queued (the text says why, in zh)."""


@dataclass(frozen=True)
class Outgoing:
    """One record to enqueue (for `enqueue_many`)."""

    kind: str
    object_id: int
    compound_id: int
    payload: dict[str, Any]
    idempotency_key: str


def _external_id(kind: str, payload: dict[str, Any]) -> str:
    if kind == c.MessageKind.MOTOR_VEHICLE:
        return str(payload.get("MotorVehicleID", ""))
    return ""


OUTBOX_COLUMNS = (
    "kind",
    "object_id",
    "compound_id",
    "idempotency_key",
    "external_id",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "queued_at",
    "updated_at",
)


def _copy_postgres(rows: list[tuple[Any, ...]]) -> None:
    """COPY into a per-connection staging table, then one INSERT … ON CONFLICT DO NOTHING: the
    outbox rides on the passage hook of every ANPR event, and COPY costs a fraction of a
    multi-row INSERT with its JSON parameters quoted one by one."""
    raw = connection.connection
    cols = ", ".join(OUTBOX_COLUMNS)
    # One transaction even when called in autocommit mode: the staging rows go at commit.
    with transaction.atomic(), connection.cursor() as cursor:
        if not getattr(raw, "_anfang_outbox_stage", False):
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS uplink_stage ON COMMIT DELETE ROWS AS "
                f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM uplink_outboxmessage WITH NO DATA"
            )
            transaction.on_commit(lambda: setattr(raw, "_anfang_outbox_stage", True))
        with cursor.copy(f"COPY uplink_stage ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO uplink_outboxmessage ({cols}) SELECT {cols} FROM uplink_stage "
            "ON CONFLICT (idempotency_key) DO NOTHING"
        )
        cursor.execute("DELETE FROM uplink_stage")  # a second call in the same transaction starts empty


def enqueue_many(items: Iterable[Outgoing], now: dt.datetime | None = None) -> None:
    """Queue records for the police platform; an idempotency key already queued is skipped
    (ON CONFLICT DO NOTHING), so a replayed passage never yields a second message.
    Call it inside the transaction that writes the records (a transactional outbox)."""
    now = now or timezone.now()
    items = list(items)
    if not items:
        return
    if connection.vendor == "postgresql":
        _copy_postgres(
            [
                (
                    item.kind,
                    item.object_id,
                    item.compound_id,
                    item.idempotency_key,
                    _external_id(item.kind, item.payload),
                    orjson.dumps(item.payload).decode(),
                    c.Status.PENDING.value,
                    0,
                    now,
                    "",
                    now,
                    now,
                    now,
                )
                for item in items
            ]
        )
        return
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                kind=item.kind,
                object_id=item.object_id,
                compound_id=item.compound_id,
                idempotency_key=item.idempotency_key,
                external_id=_external_id(item.kind, item.payload),
                payload=item.payload,
                next_attempt_at=now,
                created_at=now,
                queued_at=now,
            )
            for item in items
        ],
        ignore_conflicts=True,
    )


def enqueue(kind: str, object_id: int, compound_id: int, payload: dict[str, Any], idempotency_key: str) -> None:
    """Queue one record (see `enqueue_many`); a second call with the same key is a no-op."""
    enqueue_many([Outgoing(kind, object_id, compound_id, payload, idempotency_key)])


@transaction.atomic
def requeue(message: OutboxMessage, now: dt.datetime | None = None) -> OutboxMessage:
    """Send a failed or dead message again at once, with a fresh attempt budget (its attempt
    log is kept). Sent messages are not re-sent."""
    now = now or timezone.now()
    locked = OutboxMessage.objects.select_for_update().get(pk=message.pk)
    if locked.status not in REQUEUEABLE:
        raise RequeueRefused(
            _("消息状态为“%(status)s”，只有发送失败或已放弃的消息可以重新排队。")
            % {"status": locked.get_status_display()}
        )
    locked.status = c.Status.PENDING
    locked.attempts = 0
    locked.next_attempt_at = now
    locked.queued_at = now
    locked.save(update_fields=["status", "attempts", "next_attempt_at", "queued_at", "updated_at"])
    return locked


BULK_LIMIT = 1000  # messages re-queued per request, so one click stays short


def requeue_many(messages: QuerySet[OutboxMessage], now: dt.datetime | None = None, limit: int = BULK_LIMIT) -> int:
    """Re-queue the failed and dead messages among `messages` (at most `limit`, oldest first);
    returns how many. Typically after the platform was down longer than MAX_AGE_DAYS."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(messages.filter(status__in=REQUEUEABLE).order_by("id").values_list("id", flat=True)[:limit])
        return OutboxMessage.objects.filter(id__in=ids, status__in=REQUEUEABLE).update(
            status=c.Status.PENDING, attempts=0, next_attempt_at=now, queued_at=now, updated_at=now
        )
