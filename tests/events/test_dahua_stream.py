"""The Dahua connector against a fake device on a real socket (127.0.0.1, random port): digest
login, every mapped code end to end into the database, blocks split across TCP writes, wrong
password (no events, slow retries), a dropped connection (reconnect, nothing lost or stored twice),
malformed blocks as dead letters, heartbeats as device health, clean shutdown, the command and the
service that sets the pull connection."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from anfang.core.choices import Role
from anfang.core.models import ChangeRecord
from anfang.devices import services as device_services
from anfang.devices.choices import DeviceStatus, Vendor
from anfang.devices.models import DeviceCredential, DeviceHealth
from anfang.events import choices as c
from anfang.events import writer as writer_module
from anfang.events.connectors.dahua import (
    Backoff,
    DahuaConnector,
    Supervisor,
    WriterSink,
    process_block,
    pull_targets,
)
from anfang.events.models import DeadLetter, Event
from anfang.events.writer import BatchWriter
from anfang.simulator import dahua as fake
from tests import factories as f

# Tests that run a connector (threads with their own database connections) need committed data.
threaded = pytest.mark.django_db(transaction=True)

FIXTURES = Path(__file__).parent / "fixtures" / "dahua"
PASSWORD = "Anfang-dahua-1"
K = c.EventKind


def fast_backoff(**kwargs: Any) -> Backoff:
    return Backoff(**{"base": 0.02, "cap": 0.1, "auth_base": 0.4, "auth_cap": 0.8, **kwargs})


def wait_for(check: Callable[[], Any], timeout: float = 6.0) -> Any:
    """Poll in-memory counters (not the database: the SQLite test database is in memory with a
    shared cache, where a reader makes a concurrent writer fail with "table is locked")."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


@dataclass
class Rig:
    connector: DahuaConnector
    writer: BatchWriter
    sink: Any

    def written(self, count: int) -> bool:
        """`count` events written (stored, duplicate or spooled) by the batch writer."""
        return wait_for(lambda: self.writer.written >= count)


@pytest.fixture
def device_server() -> Iterator[fake.DahuaDevice]:
    server = fake.start("127.0.0.1", 0, "admin", PASSWORD)
    yield server
    server.stop()


@pytest.fixture
def nvr(device_server):
    device = f.DeviceFactory(vendor=Vendor.DAHUA, serial="6J0000ANFANG01")
    device_services.set_pull_connection(None, device, url=device_server.url, username="admin", password=PASSWORD)
    return device


@contextmanager
def connected(device, server, *, password: str = PASSWORD, deliver=None, **options: Any) -> Iterator[Rig]:
    writer = BatchWriter(max_delay=0.01).start()
    sink = deliver or WriterSink(writer)
    options.setdefault("backoff", fast_backoff())
    connector = DahuaConnector(device, url=server.url, username="admin", password=password, deliver=sink, **options)
    try:
        yield Rig(connector.start(), writer, sink)
    finally:
        connector.stop()
        writer.close()


def kinds(device) -> list[str]:
    return list(Event.objects.filter(device=device).order_by("id").values_list("kind", flat=True))


# --- Every mapped code, end to end ----------------------------------------------------------------

END_TO_END = [
    ("VideoMotion-start", K.MOTION),
    ("VideoLoss-start", K.VIDEO_LOSS),
    ("VideoBlind-start", K.TAMPER),
    ("CrossLineDetection-start", K.LINE_CROSSING),
    ("CrossRegionDetection-cross-enter", K.REGION_ENTRANCE),
    ("CrossRegionDetection-cross-leave", K.REGION_EXIT),
    ("CrossRegionDetection-appear", K.PERIMETER_INTRUSION),
    ("AlarmLocal-start", K.ALARM_INPUT),
    ("StorageFailure-start", K.STORAGE_FAULT),
    ("StorageNotExist-start", K.STORAGE_FAULT),
    ("StorageLowSpace-start", K.STORAGE_FAULT),
    ("TrafficJunction-pulse", K.ANPR_PASSAGE),
    ("AccessControl-granted", K.ACCESS_GRANTED),
    ("AccessControl-denied", K.ACCESS_DENIED),
    ("DoorStatus-open", K.DOOR_OPEN),
    ("DoorStatus-close", K.DOOR_CLOSED),
    ("BreakIn-pulse", K.DOOR_FORCED),
    ("DoorNotClosed-start", K.DOOR_HELD),
    ("ChassisIntruded-start", K.TAMPER),
    ("CallNoAnswered-start", K.INTERCOM_CALL),
    ("FaceDetection-start", K.UNMAPPED),
]


@threaded
def test_every_mapped_code_arrives_as_its_kind(nvr, device_server):
    with connected(nvr, device_server) as rig:
        assert device_server.wait_attached()
        for name, _ in END_TO_END:
            device_server.emit_raw((FIXTURES / f"{name}.block").read_bytes())
        device_server.heartbeat()
        assert rig.written(len(END_TO_END))
        assert wait_for(lambda: rig.connector.stats["heartbeats"] == 1)
    assert kinds(nvr) == [kind for _, kind in END_TO_END]
    rows = Event.objects.filter(device=nvr)
    assert set(rows.values_list("source", flat=True)) == {c.Source.DAHUA}
    plate = rows.get(kind=K.ANPR_PASSAGE)
    assert plate.payload["plate"] == "辽H12345" and plate.channel == 1 and c.Flag.LATE in plate.flags
    assert rows.get(kind=K.ALARM_INPUT).channel == 6
    assert rows.get(vendor_code="FaceDetection").kind == K.UNMAPPED
    assert not DeadLetter.objects.exists()
    # Digest login: the first request carries no credentials and is challenged, the retry accepted.
    assert [status for _, status in device_server.requests] == [401, 200]
    assert device_server.requests[1][0] == "/cgi-bin/eventManager.cgi?action=attach&codes=[All]&heartbeat=30"


@threaded
def test_a_block_split_across_tcp_writes_is_one_event(nvr, device_server):
    data = (FIXTURES / "CrossLineDetection-start.block").read_bytes()
    with connected(nvr, device_server) as rig:
        assert device_server.wait_attached()
        device_server.emit_raw(data, split=[3, 14, 40, 80, 81, 300, len(data) - 2])
        assert rig.written(1)
    assert kinds(nvr) == [K.LINE_CROSSING] and rig.connector.stats["blocks"] == 1
    assert Event.objects.get(device=nvr).payload["rule"] == "北门越界"


# --- Failures -------------------------------------------------------------------------------------


@threaded
def test_wrong_password_stores_nothing_and_retries_slowly(nvr, device_server, caplog):
    started = time.monotonic()
    with connected(nvr, device_server, password="wrong") as rig:
        device_server.emit("VideoMotion", "Start", 0)
        time.sleep(1.5)
        state = rig.connector.state
    elapsed = time.monotonic() - started
    attempts = rig.connector.stats["unauthorized"]
    # auth backoff 0.4 s doubling to 0.8 s (each at least half of that): at most ~5 in 1.5 s, never a
    # tight loop; a normal failure backoff (0.02 s) would have made ~50.
    assert 2 <= attempts <= 5, attempts
    assert device_server.attaches == 0 and not Event.objects.exists()
    assert state in ("unauthorized", "waiting") and elapsed < 4
    assert "refused the login" in caplog.text and "wrong" not in caplog.text


@threaded
def test_dropped_connection_reconnects_and_nothing_is_lost_or_stored_twice(nvr, device_server):
    # The device re-sends its last two parts to a client that attaches again.
    device_server.replay_on_attach = 2
    events = [("CrossLineDetection", "Start", 0, {"UTC": 1764050700 + i, "Name": f"rule{i}"}) for i in range(4)]
    # One transaction per block in the connector's thread: with the SQLite test database (in memory,
    # shared cache) a second writing thread would make the torn part's dead letter go to the spool.
    with connected(nvr, device_server, deliver=process_block) as rig:
        blocks = lambda n: wait_for(lambda: rig.connector.stats["blocks"] == n)  # noqa: E731
        assert device_server.wait_attached()
        device_server.emit(*events[0])
        device_server.emit(*events[1])
        assert blocks(2)
        device_server.emit(*events[2], cut_after=60)  # the connection breaks inside this part
        assert device_server.wait_attached(2)
        device_server.emit(*events[3])
        # the torn part, rule1 and rule2 re-sent on attach, then rule3
        assert blocks(6)
        assert rig.connector.stats["connects"] == 2
    rules = list(Event.objects.filter(device=nvr).order_by("occurred_at").values_list("payload__rule", flat=True))
    assert rules == ["rule0", "rule1", "rule2", "rule3"]
    writer_module.HEALTH.flush()
    assert DeviceHealth.objects.get(device=nvr).duplicates == 1  # rule1, again after the reconnect
    # The torn part is kept as received, not dropped.
    [torn] = DeadLetter.objects.all()
    assert torn.reason == c.DeadLetterReason.MALFORMED and bytes(torn.body) == fake.event_part(*events[2])[:60]


@threaded
def test_device_gone_then_back(nvr, device_server):
    port = device_server.port
    device_server.stop()
    with connected(nvr, device_server) as rig:
        assert wait_for(lambda: rig.connector.stats["failures"] >= 2)
        again = fake.start("127.0.0.1", port, "admin", PASSWORD)
        try:
            assert again.wait_attached()
            again.emit("VideoLoss", "Start", 3)
            assert rig.written(1)
        finally:
            rig.connector.stop()
            again.stop()
    assert Event.objects.filter(device=nvr, kind=K.VIDEO_LOSS, channel=4).exists()


@threaded
def test_malformed_block_becomes_a_dead_letter_and_the_stream_goes_on(nvr, device_server):
    bad = (FIXTURES / "malformed-not-a-record.block").read_bytes()
    with connected(nvr, device_server, deliver=process_block) as rig:
        assert device_server.wait_attached()
        device_server.emit_raw(b"HTTP/1.1 200 OK\r\n\r\n")
        device_server.emit_raw(bad)
        device_server.emit("VideoMotion", "Start", 0)
        assert wait_for(lambda: rig.connector.stats["blocks"] == 3)
    letters = list(DeadLetter.objects.order_by("id"))
    assert [bytes(d.body) for d in letters] == [b"HTTP/1.1 200 OK\r\n\r\n", bad.rstrip(b"\r\n") + b"\r\n"]
    for letter in letters:
        assert (letter.reason, letter.source, letter.device_id) == (c.DeadLetterReason.MALFORMED, "dahua", nvr.pk)
        assert (
            letter.endpoint.startswith("/cgi-bin/eventManager.cgi?action=attach") and letter.remote_addr == "127.0.0.1"
        )
    assert kinds(nvr) == [K.MOTION]


@threaded
def test_a_dead_letter_is_replayable_after_a_fix(nvr, device_server, monkeypatch):
    from anfang.events import services
    from anfang.events.adapters import dahua as adapter

    def not_yet_understood(text):
        raise adapter.Rejected(c.DeadLetterReason.MALFORMED, "parser cannot read this yet")

    monkeypatch.setattr(adapter, "parse_record", not_yet_understood)
    with connected(nvr, device_server) as rig:
        assert device_server.wait_attached()
        sent = device_server.emit("CrossRegionDetection", "Start", 0, data={"Action": "Cross", "Direction": "Enter"})
        assert wait_for(lambda: rig.sink.stats["dead_letters"] == 1)
    letter = DeadLetter.objects.get()
    assert bytes(letter.body) == sent.rstrip(b"\r\n") + b"\r\n" and not Event.objects.exists()
    monkeypatch.undo()  # the fix
    report = services.replay_dead_letter(None, letter)
    assert [o.status for o in report.outcomes] == ["stored"] and not report.rejects
    event = Event.objects.get()
    assert event.kind == K.REGION_ENTRANCE and c.Flag.REPLAYED in event.flags
    letter.refresh_from_db()
    assert letter.status == c.DeadLetterStatus.REPLAYED


@threaded
def test_heartbeats_update_device_health_and_are_not_stored(nvr, device_server):
    with connected(nvr, device_server, heartbeat=1, seen_interval=0) as rig:
        assert wait_for(lambda: rig.connector.stats["heartbeats"] >= 1, timeout=5)
    assert not Event.objects.exists()
    health = DeviceHealth.objects.get(device=nvr)
    assert health.last_seen_at is not None
    assert device_server.requests[-1][0].endswith("&heartbeat=1")


@threaded
def test_stop_is_prompt_while_streaming_with_a_long_heartbeat(nvr, device_server):
    with connected(nvr, device_server, heartbeat=300) as rig:
        connector = rig.connector
        assert device_server.wait_attached()
        assert wait_for(lambda: connector.state == "streaming")
        started = time.monotonic()
        connector.stop()
        assert time.monotonic() - started < 1.0 and not connector.thread.is_alive()
        assert connector.state == "stopped"


# --- Which devices; the command ---------------------------------------------------------------------


@pytest.mark.django_db
def test_pull_targets_are_enabled_dahua_devices_with_an_address(nvr, device_server):
    hik = f.DeviceFactory(vendor=Vendor.HIKVISION)
    device_services.set_pull_connection(None, hik, url="http://10.0.0.9", username="admin", password="x")
    retired = f.DeviceFactory(vendor=Vendor.DAHUA, status=DeviceStatus.RETIRED)
    device_services.set_pull_connection(None, retired, url="http://10.0.0.8", username="admin", password="x")
    disabled = f.DeviceFactory(vendor=Vendor.DAHUA)
    device_services.set_pull_connection(None, disabled, url="http://10.0.0.7", username="admin", password="x")
    device_services.set_ingest_enabled(None, disabled, False)
    targets = pull_targets()
    assert list(targets) == [nvr.pk]
    assert "Anfang" not in repr(targets[nvr.pk][1])  # the password is not in reprs or logs


@threaded
def test_supervisor_follows_changes(nvr, device_server):
    writer = BatchWriter(max_delay=0.01).start()
    supervisor = Supervisor(WriterSink(writer), backoff=fast_backoff)
    try:
        assert supervisor.sync() == (1, 0)
        assert device_server.wait_attached()
        assert supervisor.sync() == (0, 0)
        [(_, connector)] = supervisor.running.values()
        connector.stop()  # as if an error had ended its thread
        assert supervisor.sync() == (1, 1) and supervisor.running[nvr.pk][1] is not connector
        device_services.set_pull_connection(None, nvr, url=device_server.url, username="admin", password="changed")
        assert supervisor.sync() == (1, 1)  # restarted with the new login
        device_services.set_pull_connection(None, nvr, url="", username="")
        assert supervisor.sync() == (0, 1) and not supervisor.running
    finally:
        supervisor.stop()
        writer.close()


@threaded
def test_command_ingests_until_its_duration_ends(nvr, device_server):
    import threading

    def emit_when_attached():
        if device_server.wait_attached():
            device_server.emit("VideoBlind", "Start", 0)

    thread = threading.Thread(target=emit_when_attached)
    thread.start()
    call_command("ingest_dahua", devices=[nvr.pk], duration=1.0, stdout=_Sink())
    thread.join()
    assert kinds(nvr) == [K.TAMPER]


@pytest.mark.django_db
def test_command_refuses_devices_it_cannot_pull(nvr):
    hik = f.DeviceFactory(vendor=Vendor.HIKVISION)
    bare = f.DeviceFactory(vendor=Vendor.DAHUA)
    with pytest.raises(CommandError) as caught:
        call_command("ingest_dahua", devices=[nvr.pk, hik.pk, bare.pk, 999999], duration=0)
    message = str(caught.value)
    assert f"device {hik.pk} is not a Dahua device" in message and f"device {bare.pk} has no pull address" in message
    assert "device 999999 does not exist" in message and f"device {nvr.pk}" not in message


class _Sink:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


# --- Setting the pull connection ------------------------------------------------------------------


@pytest.mark.django_db
def test_set_pull_connection_checks_permission_and_keeps_the_password_out_of_history(world):
    device = f.DeviceFactory(compound=world["cx"], vendor=Vendor.DAHUA)
    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x")
    officer = f.user_with(Role.POLICE_STATION, organisation=world["station_a"], username="officer-a")
    other = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_y"], username="mgr-y")
    for user in (officer, other):
        with pytest.raises(PermissionDenied):
            device_services.set_pull_connection(user, device, url="http://10.0.0.5", username="admin", password="pw1")
    device_services.set_pull_connection(manager, device, url="http://10.0.0.5", username="admin", password="Secret-77")
    cred = DeviceCredential.objects.get(device=device)
    assert (cred.pull_url, cred.pull_username, cred.pull_password) == ("http://10.0.0.5", "admin", "Secret-77")
    device_services.set_pull_connection(manager, device, url="http://10.0.0.6:8080", username="admin")
    assert DeviceCredential.objects.get(device=device).pull_password == "Secret-77"  # kept when not given
    history = " ".join(str(r.__dict__) for r in ChangeRecord.objects.filter(object_id=str(device.pk)))
    assert "http://10.0.0.6:8080" in history and "Secret-77" not in history


@pytest.mark.parametrize(
    ("url", "username", "field"),
    [
        ("ftp://10.0.0.5", "admin", "pull_url"),
        ("10.0.0.5", "admin", "pull_url"),
        ("http://admin:pw@10.0.0.5", "admin", "pull_url"),
        ("http://10.0.0.5", "", "pull_username"),
    ],
)
@pytest.mark.django_db
def test_set_pull_connection_validates(db, url, username, field):
    device = f.DeviceFactory(vendor=Vendor.DAHUA)
    with pytest.raises(ValidationError) as caught:
        device_services.set_pull_connection(None, device, url=url, username=username, password="x")
    assert field in caught.value.message_dict
