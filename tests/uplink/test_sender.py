"""The sender against the fake police platform on real sockets, with a controllable clock."""

import datetime as dt
import random

import pytest
from django.core.management import CommandError, call_command

from anfang.uplink import choices as c
from anfang.uplink import services
from anfang.uplink.fakeplatform import FakePlatform
from anfang.uplink.models import OutboxMessage, UplinkAttempt
from anfang.uplink.sender import HttpClient, PlatformError, backoff, claim, parse_statuses, send_due
from tests import factories as f

from .factories import T0, queue

USER, PASSWORD, IDENTIFY = "anfang", "s3cret", "21080000002000000001"


@pytest.fixture
def compound(db):
    return f.CompoundFactory()


@pytest.fixture
def uplink_settings(settings):
    settings.ANFANG_UPLINK_BACKOFF_BASE = 10.0
    settings.ANFANG_UPLINK_BACKOFF_CAP = 900.0
    settings.ANFANG_UPLINK_MAX_ATTEMPTS = 500
    settings.ANFANG_UPLINK_MAX_AGE_DAYS = 7
    settings.ANFANG_UPLINK_LEASE_SECONDS = 120
    return settings


def client_for(fake, timeout=5.0, **kw):
    return HttpClient(fake.url, user=USER, password=PASSWORD, user_identify=IDENTIFY, timeout=timeout, **kw)


def drain(client, start, *, step=dt.timedelta(minutes=15), rounds=200, batch=10, rng=None):
    """Run rounds, moving the clock by `step` whenever nothing is due; return the final time."""
    now = start
    rng = rng or random.Random(7)
    for _ in range(rounds):
        report = send_due(now, client, batch=batch, rng=rng)
        if not OutboxMessage.objects.exclude(status__in=[c.Status.SENT, c.Status.DEAD]).exists():
            return now
        if not report.claimed or report.stopped:
            now += step
    raise AssertionError("outbox not drained")


def assert_exactly_once(fake, n):
    assert OutboxMessage.objects.filter(status=c.Status.SENT).count() == n
    sent_ids = set(OutboxMessage.objects.values_list("external_id", flat=True))
    assert set(fake.received.objects) == sent_ids and len(sent_ids) == n


def test_delivers_a_batch_after_digest_registration(compound, uplink_settings):
    queue(compound.pk, range(1, 31))
    with FakePlatform(username=USER, password=PASSWORD) as fake:
        client = client_for(fake)
        report = send_due(T0, client, batch=50)
    assert (report.claimed, report.sent, report.failed, report.stopped) == (30, 30, 0, "")
    assert fake.received.registrations == 1 and fake.received.user_identify == {IDENTIFY}
    assert fake.received.duplicates == {} and fake.received.rejected == []
    assert_exactly_once(fake, 30)
    message = OutboxMessage.objects.first()
    assert message.sent_at == T0 and message.attempts == 1 and message.last_status_code == 0
    assert UplinkAttempt.objects.filter(ok=True).count() == 30


def test_flaky_platform_every_record_arrives_once_in_effect(compound, uplink_settings):
    queue(compound.pk, range(1, 121))
    with FakePlatform(
        username=USER, password=PASSWORD, failure_rate=0.3, refuse_rate=0.1, timeout_rate=0.2, delay=0.4, seed=3
    ) as fake:
        drain(client_for(fake, timeout=0.2), T0, step=dt.timedelta(minutes=16), rounds=400)
    assert_exactly_once(fake, 120)
    # Timed-out deliveries that did arrive were sent again: the fake saw their ids twice, and the
    # stable MotorVehicleID is what lets the platform drop the repeat.
    assert fake.received.duplicates
    assert not OutboxMessage.objects.filter(status=c.Status.DEAD).exists()
    failures = UplinkAttempt.objects.filter(ok=False)
    assert failures.filter(error__contains="HTTP 500").exists()
    assert failures.filter(error__contains="超时").exists()
    assert failures.filter(error__contains="StatusCode 1").exists()


def test_platform_down_for_a_day_then_everything_goes(compound, uplink_settings):
    queue(compound.pk, range(1, 101))
    now = T0
    with FakePlatform(username=USER, password=PASSWORD, down="503") as fake:
        client = client_for(fake)
        while now < T0 + dt.timedelta(hours=12):
            report = send_due(now, client, batch=20, rng=random.Random(1))
            assert report.sent == 0
            now += dt.timedelta(minutes=30)
        fake.behaviour.down = "reset"  # and then the connection itself fails
        while now < T0 + dt.timedelta(days=1):
            report = send_due(now, client, batch=20, rng=random.Random(1))
            assert (report.sent == 0 and "无法连接" in report.stopped) or not report.claimed
            now += dt.timedelta(minutes=30)
        # One probe per round while down, not one request per message.
        assert fake.received.requests <= 24 * 2 + 1
        assert not OutboxMessage.objects.filter(status__in=[c.Status.SENT, c.Status.DEAD]).exists()
        fake.behaviour.down = ""
        back = drain(client, now, batch=20)
    assert_exactly_once(fake, 100)
    assert back - now <= dt.timedelta(hours=1)


def test_gives_up_after_max_attempts_keeps_the_message_and_requeue_sends_it(compound, uplink_settings):
    uplink_settings.ANFANG_UPLINK_MAX_ATTEMPTS = 3
    queue(compound.pk, [1])
    with FakePlatform(username=USER, password=PASSWORD, failure_rate=1.0) as fake:
        client = client_for(fake)
        now = T0
        for _ in range(3):
            send_due(now, client)
            now += dt.timedelta(hours=1)
        message = OutboxMessage.objects.get()
        assert message.status == c.Status.DEAD and message.attempts == 3
        assert message.last_error == "HTTP 500" and message.last_status_code == 500
        assert send_due(now, client).claimed == 0  # dead is not retried
        fake.behaviour.failure_rate = 0.0
        services.requeue(message, now=now)
        assert send_due(now, client).sent == 1
    message.refresh_from_db()
    assert message.status == c.Status.SENT and message.attempts == 1
    assert message.attempt_log.count() == 4  # the log of the dead attempts is kept


def test_requeue_refuses_a_pending_or_sent_message(compound):
    queue(compound.pk, [1])
    message = OutboxMessage.objects.get()
    with pytest.raises(services.RequeueRefused, match="待发送"):
        services.requeue(message)


def test_dead_after_max_age_counted_from_queueing(compound, uplink_settings):
    uplink_settings.ANFANG_UPLINK_MAX_AGE_DAYS = 1
    queue(compound.pk, [1])
    with FakePlatform(down="503") as fake:
        client = HttpClient(fake.url)
        send_due(T0, client)
        assert OutboxMessage.objects.get().status == c.Status.FAILED
        send_due(T0 + dt.timedelta(days=1, minutes=1), client)
    assert OutboxMessage.objects.get().status == c.Status.DEAD


def test_invalid_object_is_refused_with_the_field_named(compound, uplink_settings):
    queue(compound.pk, [1, 2])
    broken = OutboxMessage.objects.get(object_id=2)
    broken.payload["PassTime"] = "2026-11-02"
    broken.save()
    with FakePlatform() as fake:
        report = send_due(T0, HttpClient(fake.url))
    assert (report.sent, report.failed) == (1, 1)
    broken.refresh_from_db()
    assert broken.status == c.Status.FAILED and broken.last_status_code == 4
    assert "PassTime" in broken.last_error
    assert broken.next_attempt_at > T0


def test_lapsed_registration_is_renewed(compound, uplink_settings):
    queue(compound.pk, [1, 2])
    with FakePlatform(username=USER, password=PASSWORD) as fake:
        client = client_for(fake)
        send_due(T0, client, batch=1)
        fake.registered.clear()  # the platform forgot us (restart)
        assert send_due(T0, client, batch=1).sent == 1
    assert fake.received.registrations == 2


def test_wrong_credentials_fail_the_round_without_losing_anything(compound, uplink_settings):
    queue(compound.pk, [1])
    with FakePlatform(username=USER, password=PASSWORD) as fake:
        report = send_due(T0, HttpClient(fake.url, user=USER, password="wrong", user_identify=IDENTIFY))
    assert report.stopped.startswith("注册失败：HTTP 401")
    message = OutboxMessage.objects.get()
    assert message.status == c.Status.FAILED and message.attempts == 1


def test_a_claim_is_a_lease_taken_over_when_the_sender_dies(compound, uplink_settings):
    queue(compound.pk, [1, 2])
    assert len(claim(T0, 10)) == 2
    assert claim(T0 + dt.timedelta(seconds=60), 10) == []  # still leased
    assert len(claim(T0 + dt.timedelta(seconds=121), 10)) == 2


def test_backoff_grows_is_capped_and_jittered(uplink_settings):
    rng = random.Random(5)
    delays = [backoff(n, rng).total_seconds() for n in range(1, 15)]
    assert 5 <= delays[0] <= 10 and 40 <= delays[3] <= 80
    assert all(450 <= d <= 900 for d in delays[8:])
    assert len({round(d, 3) for d in delays[8:]}) > 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "不是 JSON 对象"),
        ({"foo": 1}, "缺少 ResponseStatusListObject"),
        ({"ResponseStatusListObject": {"ResponseStatusObject": "x"}}, "不是列表"),
        ({"ResponseStatusObject": {"StatusString": "x"}}, "StatusCode"),
    ],
)
def test_unusable_replies_are_named(body, message):
    with pytest.raises(PlatformError, match=message):
        parse_statuses(body)


def test_single_status_object_reply():
    (status,) = parse_statuses({"ResponseStatusObject": {"StatusCode": "0", "Id": "x"}})
    assert status.ok and status.id == "x"


def test_command_sends_everything_due(compound, uplink_settings, capsys):
    queue(compound.pk, range(1, 8))
    with FakePlatform(username=USER, password=PASSWORD) as fake:
        uplink_settings.ANFANG_UPLINK_URL = fake.url
        uplink_settings.ANFANG_UPLINK_USER = USER
        uplink_settings.ANFANG_UPLINK_PASSWORD = PASSWORD
        uplink_settings.ANFANG_UPLINK_USER_IDENTIFY = IDENTIFY
        uplink_settings.ANFANG_UPLINK_KEEPALIVE_SECONDS = 0  # keepalive before every round
        call_command("uplink_send", "--once", "--batch", "3")
    assert "sent 7" in capsys.readouterr().out
    assert_exactly_once(fake, 7)


def test_command_refuses_without_an_endpoint_or_with_a_bad_batch(db, uplink_settings):
    uplink_settings.ANFANG_UPLINK_URL = ""
    with pytest.raises(CommandError, match="ANFANG_UPLINK_URL"):
        call_command("uplink_send", "--once")
    uplink_settings.ANFANG_UPLINK_URL = "http://127.0.0.1:9"
    with pytest.raises(CommandError, match="--batch"):
        call_command("uplink_send", "--once", "--batch", "0")


@pytest.mark.django_db(transaction=True)
def test_a_second_sender_skips_rows_another_holds(uplink_settings):
    """PostgreSQL: FOR UPDATE SKIP LOCKED — a claim neither waits for nor takes rows another
    sender has locked."""
    import threading

    from django.db import connection, connections, transaction

    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is a PostgreSQL feature; SQLite serialises writers")
    compound = f.CompoundFactory()
    queue(compound.pk, range(1, 41))
    held = sorted(OutboxMessage.objects.values_list("id", flat=True))[:10]
    locked, release = threading.Event(), threading.Event()

    def other_sender():
        try:
            with transaction.atomic():
                list(OutboxMessage.objects.select_for_update().filter(id__in=held))
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_sender)
    thread.start()
    try:
        assert locked.wait(10)
        claimed = claim(T0, 100)
    finally:
        release.set()
        thread.join()
    assert len(claimed) == 30 and not {m.pk for m in claimed} & set(held)


def test_inline_images_sends_the_stored_picture_bytes(compound, uplink_settings, tmp_path):
    import base64

    from anfang.core import storage

    uplink_settings.MEDIA_ROOT = tmp_path / "media"
    uplink_settings.ANFANG_MEDIA_STORE = "fs"
    uplink_settings.ANFANG_UPLINK_MEDIA_BASE_URL = "https://anfang.example/media"
    uplink_settings.ANFANG_UPLINK_INLINE_IMAGES = True
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 200
    ref = storage.get_store().put(jpeg, "picture")
    gone = {**ref, "path": ref["path"].rsplit("/", 1)[0] + "/missing.jpg"}
    queue(compound.pk, [1], pictures=[{**ref, "role": "scene"}, {**gone, "role": "plate"}])
    with FakePlatform() as fake:
        assert send_due(T0, HttpClient(fake.url)).sent == 1
    (obj,) = fake.received.objects.values()
    scene, plate = obj["SubImageList"]["SubImageInfoObject"]
    assert scene["StoragePath"] == f"https://anfang.example/media/{ref['path']}"
    assert base64.b64decode(scene["Data"]) == jpeg
    assert "Data" not in plate  # no longer stored: sent by reference only
    assert "Data" not in OutboxMessage.objects.get().payload["SubImageList"]["SubImageInfoObject"][0]


def test_keepalive_refused_means_register_again(compound, uplink_settings):
    queue(compound.pk, [1, 2])
    with FakePlatform(username=USER, password=PASSWORD) as fake:
        client = client_for(fake)
        send_due(T0, client, batch=1)
        assert client.keepalive() is True
        fake.registered.clear()  # the platform restarted
        assert client.keepalive() is False and client.registered is False
        assert send_due(T0, client, batch=1).sent == 1
        fake.behaviour.down = "503"
        assert client.keepalive() is False
    assert fake.received.registrations == 2
