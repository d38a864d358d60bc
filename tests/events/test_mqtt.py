"""MQTT ingest against the real Mosquitto on 127.0.0.1:1883: a worker (in this process, on a topic
root of its own) stores events, keeps every bad message as a dead letter with its topic,
refuses what does not prove its device, and acknowledges a message only once it is durable."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from anfang.devices import services as device_services
from anfang.events import choices as c
from anfang.events import deadletters, writer
from anfang.events.adapters import mqtt as adapter
from anfang.events.models import DeadLetter, Event
from anfang.events.mqtt_worker import IngestWorker, WorkerConfig
from tests import factories as f
from tests.conftest import require_service

pytestmark = pytest.mark.django_db(transaction=True)


# ---------------------------------------------------------------- helpers shared with the fault test


def broker_address() -> tuple[str, int]:
    return WorkerConfig(url=settings.ANFANG_MQTT_URL).broker()


def broker_answers() -> bool:
    import socket

    try:
        with socket.create_connection(broker_address(), timeout=1):
            return True
    except OSError:
        return False


class Publisher:
    """A device side: QoS 1 publishes, waiting for the broker's PUBACKs on close."""

    def __init__(self, max_inflight: int = 1000) -> None:
        import paho.mqtt.client as paho

        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:12]}")
        self.client.max_inflight_messages_set(max_inflight)
        self.client.max_queued_messages_set(0)
        self.infos: list[Any] = []
        host, port = broker_address()
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()

    def publish(self, topic: str, body: bytes | dict) -> Any:
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        info = self.client.publish(topic, data, qos=1)
        self.infos.append(info)
        return info

    def close(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        for info in self.infos:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(condition: Callable[[], Any], timeout: float = 10, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def topic_root() -> str:
    """A topic root of the test's own: other processes using the broker never see its messages."""
    return f"anfangtest{uuid.uuid4().hex[:10]}"


def event_body(token: str | None, n: int = 1, **fields: Any) -> dict[str, Any]:
    body = {"external_id": f"m-{n}", "kind": "motion", "occurred_at": timezone.now().isoformat(), **fields}
    if token:
        body["token"] = token
    return body


# ---------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    deadletters._recent.clear()


def _read_uncommitted(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA read_uncommitted = 1")


@pytest.fixture(autouse=True)
def sqlite_readers_take_no_table_locks(transactional_db):
    """The SQLite test database is in memory with a shared cache, where a reader holds table locks
    that make a concurrent writer fail at once ("database table is locked") — a test artefact: a
    file database in WAL mode (the embedded default) has no such locks. Readers here read
    uncommitted data instead, so the test's polling does not get in the worker's way."""
    from django.db import connection
    from django.db.backends.signals import connection_created

    connection_created.connect(_read_uncommitted)
    if connection.vendor == "sqlite":
        _read_uncommitted(None, connection)
    yield
    connection_created.disconnect(_read_uncommitted)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA read_uncommitted = 0")


@pytest.fixture
def broker():
    require_service("mosquitto", broker_answers(), "MQTT broker at ANFANG_MQTT_URL")


@pytest.fixture
def root(broker) -> str:
    return topic_root()


@pytest.fixture
def start_worker(root) -> Iterator[Callable[..., IngestWorker]]:
    running: list[tuple[IngestWorker, threading.Thread]] = []

    def start(**options: Any) -> IngestWorker:
        config = WorkerConfig(
            client_prefix=f"{root}-w",
            topic_root=root,
            group=f"g-{root}",
            max_delay=0.02,
            session_expiry=30,
            replay_every=0.3,
            leave=True,
            **options,
        )
        worker = IngestWorker(config, slot=len(running))
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        assert worker.subscribed.wait(10), "worker did not subscribe"
        running.append((worker, thread))
        return worker

    yield start
    for worker, thread in running:
        worker.stop()
        thread.join(20)


@pytest.fixture
def publisher(broker) -> Iterator[Publisher]:
    pub = Publisher()
    yield pub
    pub.close()


@pytest.fixture
def device(db):
    return f.DeviceFactory()


@pytest.fixture
def token(device):
    return device_services.issue_device_token(None, device)


def on_topic(root: str, device) -> str:
    return adapter.topic(device.compound_id, device.pk, root)


# ---------------------------------------------------------------- the topic and the subscription


def test_topics_and_shared_subscription():
    assert adapter.subscription() == "$share/anfang-ingest/anfang/+/+/events"
    assert adapter.topic(3, 17) == "anfang/3/17/events"
    assert adapter.topic_ids("anfang/3/17/events") == (3, 17)
    assert adapter.topic_ids("anfangtest1/3/17/events") == (3, 17)
    assert adapter.topic_ids("anfang/x/17/events") is None
    assert adapter.topic_ids("anfang/3/17/status") is None


def test_redact_cuts_every_device_token_to_its_prefix():
    body = b'{"token": "afd_abcdefghSECRETSECRET", "x": "afd_12345678rest"}'
    assert adapter.redact(body) == b'{"token": "afd_abcdefgh...", "x": "afd_12345678..."}'


# ---------------------------------------------------------------- through the real broker


def test_an_event_is_stored_from_the_topics_device_and_acknowledged(start_worker, publisher, root, device, token):
    worker = start_worker()
    publisher.publish(on_topic(root, device), event_body(token, channel=2, payload={"zone": "北门"}))
    row = wait_for(lambda: Event.objects.filter(device=device).first())
    assert row is not None, worker.stats
    assert (row.source, row.compound_id, row.channel, row.payload) == ("mqtt", device.compound_id, 2, {"zone": "北门"})
    assert wait_for(lambda: worker.stats["acked"] == 1)


def test_a_redelivered_message_is_stored_once(start_worker, publisher, root, device, token):
    worker = start_worker()
    for _ in range(3):
        publisher.publish(on_topic(root, device), event_body(token, n=5))
    assert wait_for(lambda: worker.stats["acked"] == 3)
    assert Event.objects.filter(device=device).count() == 1
    assert worker.stats["duplicate"] == 2


def test_malformed_json_is_kept_verbatim_with_its_topic(start_worker, publisher, root, device):
    worker = start_worker()
    topic = on_topic(root, device)
    publisher.publish(topic, b'{"kind": "motion", "occurred_at": ')
    letter = wait_for(lambda: DeadLetter.objects.first())
    assert letter is not None, worker.stats
    assert (letter.reason, letter.endpoint, letter.source) == (c.DeadLetterReason.MALFORMED, topic, "mqtt")
    assert bytes(letter.body) == b'{"kind": "motion", "occurred_at": '
    assert letter.device_id is None  # nothing proves who sent it
    assert wait_for(lambda: worker.stats["acked"] == 1)


@pytest.mark.parametrize("case", ["no token", "unknown token", "token of another device", "topic of another device"])
def test_a_message_that_does_not_prove_its_device_is_refused(start_worker, publisher, root, device, token, case):
    other = f.DeviceFactory()
    other_token = device_services.issue_device_token(None, other)
    topic, body = on_topic(root, device), event_body(token)
    if case == "no token":
        body.pop("token")
    elif case == "unknown token":
        body["token"] = "afd_" + "x" * 43
    elif case == "token of another device":
        body["token"] = other_token
    else:
        topic = on_topic(root, other)
    worker = start_worker()
    publisher.publish(topic, body)
    letter = wait_for(lambda: DeadLetter.objects.first())
    assert letter is not None, worker.stats
    assert (letter.reason, letter.endpoint, letter.device_id) == (c.DeadLetterReason.UNAUTHENTICATED, topic, None)
    kept = bytes(letter.body).decode()
    assert token not in kept and other_token not in kept
    assert Event.objects.count() == 0
    assert wait_for(lambda: worker.stats["acked"] == 1)


def test_a_schema_error_is_kept_for_the_device_naming_the_fields(start_worker, publisher, root, device, token):
    worker = start_worker()
    publisher.publish(on_topic(root, device), event_body(token, occurred_at="soon", channel=-3, colour="red"))
    publisher.publish(on_topic(root, device), event_body(token, n=2, device=device.pk + 1000))
    letters = wait_for(lambda: list(DeadLetter.objects.order_by("id")) if DeadLetter.objects.count() == 2 else None)
    assert letters, worker.stats
    invalid = next(d for d in letters if d.reason == c.DeadLetterReason.INVALID)
    assert invalid.device_id == device.pk
    assert "occurred_at:" in invalid.detail and "channel:" in invalid.detail and "colour:" in invalid.detail
    assert token not in bytes(invalid.body).decode()
    mismatch = next(d for d in letters if d.reason == c.DeadLetterReason.UNKNOWN_DEVICE)
    assert mismatch.device_id == device.pk


def test_unknown_vendor_code_and_zoneless_time_are_kept_flagged(start_worker, publisher, root, device, token):
    start_worker()
    beijing_wall_clock = timezone.localtime().replace(tzinfo=None).isoformat()
    body = event_body(token, occurred_at=beijing_wall_clock, vendor_code="NEW_THING")
    body.pop("kind")
    publisher.publish(on_topic(root, device), body)
    row = wait_for(lambda: Event.objects.first())
    assert (row.kind, row.vendor_code, row.flags) == ("unmapped", "NEW_THING", [c.Flag.ZONE_ASSUMED])


def test_acknowledged_only_once_the_batch_is_committed(start_worker, publisher, root, device, token, monkeypatch):
    release = threading.Event()
    real_write = writer.write

    def slow_write(events):
        assert release.wait(10)
        return real_write(events)

    monkeypatch.setattr(writer, "write", slow_write)
    worker = start_worker()
    acks_seen_rows: list[bool] = []
    real_ack = worker.client.ack

    def ack(mid, qos):
        acks_seen_rows.append(Event.objects.filter(device=device).exists())
        return real_ack(mid, qos)

    worker.client.ack = ack
    publisher.publish(on_topic(root, device), event_body(token))
    assert wait_for(lambda: worker.stats["received"] == 1)
    time.sleep(0.3)
    assert worker.stats["acked"] == 0 and not Event.objects.exists()
    release.set()
    assert wait_for(lambda: worker.stats["acked"] == 1)
    assert acks_seen_rows == [True]


def test_database_down_events_are_spooled_acknowledged_and_written_on_recovery(
    start_worker, publisher, root, device, token, monkeypatch
):
    worker = start_worker()
    publisher.publish(on_topic(root, device), event_body(token, n=0))
    assert wait_for(lambda: Event.objects.count() == 1)  # the token is known from here on

    def down(events):
        raise OperationalError("connection refused")

    monkeypatch.setattr(writer, "write", down)
    for n in range(1, 6):
        publisher.publish(on_topic(root, device), event_body(token, n=n))
    assert wait_for(lambda: worker.stats["spooled"] == 5), worker.stats
    assert wait_for(lambda: worker.stats["acked"] == 6)
    assert Event.objects.count() == 1
    monkeypatch.undo()
    assert wait_for(lambda: Event.objects.count() == 6, timeout=10)
    assert sorted(Event.objects.values_list("external_id", flat=True)) == [f"m-{n}" for n in range(6)]


def test_a_token_not_yet_known_waits_unacknowledged_while_the_database_is_down(
    start_worker, publisher, root, device, token, monkeypatch
):
    def down(raw):
        raise OperationalError("connection refused")

    monkeypatch.setattr(device_services, "device_by_token", down)
    worker = start_worker()
    publisher.publish(on_topic(root, device), event_body(token))
    assert wait_for(lambda: worker.held)
    time.sleep(0.6)  # a retry or two, still down
    assert worker.stats["acked"] == 0 and worker.held
    monkeypatch.undo()
    assert wait_for(lambda: Event.objects.filter(device=device).exists())
    assert wait_for(lambda: worker.stats["acked"] == 1) and not worker.held


def test_a_known_token_is_trusted_while_the_database_is_down(device, token, monkeypatch):
    check = adapter.TokenCheck()
    assert check.device(token).pk == device.pk

    def down(raw):
        raise OperationalError("connection refused")

    monkeypatch.setattr(device_services, "device_by_token", down)
    assert check.device(token).pk == device.pk
    with pytest.raises(OperationalError):
        check.device("afd_never-seen")


def test_a_failed_spool_replay_keeps_its_file_and_a_later_one_is_not_renamed_over_it(device, monkeypatch):
    """Regression (found by the fault test): while the database stays down, each replay attempt
    renamed the writer's new spool file onto the one a failed attempt had left, losing it."""
    from anfang.events import spool
    from anfang.events.ingest import normalise

    from .conftest import incoming

    def down(*args):
        raise OperationalError("connection refused")

    def spooled(prefix: str) -> None:
        events = [normalise(incoming(device, external_id=f"{prefix}{i}"), timezone.now()) for i in range(3)]
        assert {o.status for o in writer.store(events)} == {"spooled"}

    monkeypatch.setattr(writer, "write", down)
    spooled("a")
    with pytest.raises(OperationalError):
        writer.replay_spool()
    spooled("b")
    with pytest.raises(OperationalError):
        writer.replay_spool()
    assert len(spool.pending()) == 2
    monkeypatch.undo()
    assert writer.replay_spool() == 2
    assert sorted(Event.objects.values_list("external_id", flat=True)) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert not spool.pending()


def test_an_acknowledgement_from_before_a_reconnect_is_not_sent():
    """The broker resends what was unacknowledged on the new connection and may reuse packet ids:
    an old id acknowledged late could acknowledge a different, unprocessed message."""
    from anfang.events.mqtt_worker import _Held

    class Message:
        mid, qos, retain, topic, payload = 7, 1, False, "anfang/1/2/events", b"{}"

    worker = IngestWorker(WorkerConfig(), 0)
    sent: list[int] = []
    worker.client.ack = lambda mid, qos: sent.append(mid)
    worker.generation = 1
    before = _Held(Message(), 1, timezone.now())
    worker._on_disconnect(worker.client, None, None, None, None)
    worker._ack(before)
    assert sent == [] and worker.stats["stale_acks_skipped"] == 1
    worker._ack(_Held(Message(), worker.generation, timezone.now()))
    assert sent == [7]
