"""POST /ingest/isapi/ end to end: authentication both ways, storage, media, limits, 503."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.urls import reverse

from anfang.devices import services as device_services
from anfang.events import choices as c
from anfang.events import spool, writer
from anfang.events.models import DeadLetter, Event
from tests import factories as f

from .fixtures.isapi.payloads import JPEG, MULTIPART_TYPE, anpr_multipart, fixture

URL = "/ingest/isapi/"


def push(client, body: bytes, token: str | None = None, content_type: str = "application/xml", **extra):
    if token:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    extra.setdefault("REMOTE_ADDR", "10.0.0.20")
    return client.post(extra.pop("url", URL), data=body, content_type=content_type, **extra)


@pytest.fixture
def path_secret(camera):
    return device_services.issue_push_path(None, camera, "10.0.0.0/24")


@pytest.mark.django_db
def test_urls_are_mounted():
    assert reverse("ingest:isapi") == URL
    assert reverse("ingest:isapi_secret", args=["abc"]) == URL + "abc/"


@pytest.mark.django_db
def test_token_push_stores_the_event(client, camera, camera_token):
    response = push(client, fixture("vmd.xml"), camera_token)
    assert response.status_code == 200, response.content
    assert response.json() | {"rejected": []} == {
        "accepted": 1,
        "stored": 1,
        "duplicates": 0,
        "spooled": 0,
        "rejected": [],
    }
    event = Event.objects.get()
    assert (event.device_id, event.kind, event.state, event.channel) == (camera.pk, "motion", "start", 1)
    assert event.source == c.Source.ISAPI and event.received_at >= event.occurred_at


@pytest.mark.django_db
def test_x_device_token_header_is_accepted(client, camera, camera_token):
    assert push(client, fixture("vmd.xml"), HTTP_X_DEVICE_TOKEN=camera_token).status_code == 200


@pytest.mark.django_db
def test_csrf_is_not_required(camera, camera_token):
    from django.test import Client

    response = push(Client(enforce_csrf_checks=True), fixture("vmd.xml"), camera_token)
    assert response.status_code == 200


@pytest.mark.django_db
def test_bad_token_is_refused_and_recorded(client, camera, camera_token):
    response = push(client, fixture("vmd.xml"), "afd_not-the-token")
    assert response.status_code == 401
    letter = DeadLetter.objects.get()
    assert letter.reason == c.DeadLetterReason.UNAUTHENTICATED and letter.device_id is None
    assert bytes(letter.body) == fixture("vmd.xml")
    assert "not-the-token" not in str(letter.headers)  # the credential is not kept
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_no_credential_is_refused(client, camera):
    assert push(client, fixture("vmd.xml")).status_code == 401
    assert DeadLetter.objects.get().reason == c.DeadLetterReason.UNAUTHENTICATED


@pytest.mark.django_db
def test_secret_path_from_an_allowed_address(client, camera, path_secret):
    response = push(client, fixture("io.xml"), url=f"{URL}{path_secret}/", REMOTE_ADDR="10.0.0.99")
    assert response.status_code == 200
    assert Event.objects.get().kind == c.EventKind.ALARM_INPUT


@pytest.mark.django_db
def test_secret_path_from_a_wrong_address_is_refused_without_leaking_the_secret(client, camera, path_secret):
    response = push(client, fixture("io.xml"), url=f"{URL}{path_secret}/", REMOTE_ADDR="192.168.1.5")
    assert response.status_code == 401
    letter = DeadLetter.objects.get()
    assert letter.reason == c.DeadLetterReason.UNAUTHENTICATED and path_secret not in letter.endpoint
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_disabled_device_is_refused(client, camera, camera_token, path_secret):
    device_services.set_ingest_enabled(None, camera, False)
    assert push(client, fixture("vmd.xml"), camera_token).status_code == 401
    assert push(client, fixture("vmd.xml"), url=f"{URL}{path_secret}/").status_code == 401
    assert not Event.objects.exists() and DeadLetter.objects.count() == 2


@pytest.mark.django_db
def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


@pytest.mark.django_db
def test_anpr_multipart_stores_pictures_linked_to_the_event(client, camera, camera_token, settings):
    response = push(client, anpr_multipart(), camera_token, MULTIPART_TYPE)
    assert response.status_code == 200 and response.json()["stored"] == 1
    event = Event.objects.get()
    assert event.kind == c.EventKind.ANPR_PASSAGE and event.payload["plate"] == "辽H12345"
    assert [m["role"] for m in event.media] == ["licensePlatePicture", "detectionPicture"]
    for ref in event.media:
        assert (settings.MEDIA_ROOT / ref["path"]).read_bytes() == JPEG


@pytest.mark.django_db
def test_oversized_picture_stores_the_event_and_dead_letters_the_picture(client, camera, camera_token, settings):
    settings.ANFANG_MAX_PICTURE_BYTES = 100
    response = push(client, anpr_multipart(), camera_token, MULTIPART_TYPE)
    assert response.status_code == 200
    body = response.json()
    assert body["stored"] == 1 and [r["reason"] for r in body["rejected"]] == ["bad_media", "bad_media"]
    event = Event.objects.get()
    assert event.media == [] and len(event.payload["media_errors"]) == 2
    letters = DeadLetter.objects.filter(reason=c.DeadLetterReason.BAD_MEDIA)
    assert [bytes(letter.body) for letter in letters] == [JPEG, JPEG]
    assert {letter.device_id for letter in letters} == {camera.pk}


@pytest.mark.django_db
def test_duplicates_are_counted_not_stored_twice(client, camera, camera_token):
    first = push(client, fixture("anpr.xml"), camera_token).json()
    again = push(client, fixture("anpr.xml"), camera_token).json()
    plain = [push(client, fixture("linedetection.xml"), camera_token).json() for _ in range(2)]
    assert (first["stored"], again["stored"], again["duplicates"]) == (1, 0, 1)  # same UUID
    assert [p["duplicates"] for p in plain] == [0, 1]  # no id: same content
    assert Event.objects.count() == 2


@pytest.mark.django_db
def test_malformed_push_is_kept_as_dead_letter_with_202(client, camera, camera_token):
    body = fixture("vmd.xml")[:200]
    response = push(client, body, camera_token)
    assert response.status_code == 202
    [rejected] = response.json()["rejected"]
    letter = DeadLetter.objects.get(pk=rejected["dead_letter"])
    assert (letter.reason, bytes(letter.body), letter.device_id) == ("malformed", body, camera.pk)
    assert letter.content_type == "application/xml"


@pytest.mark.django_db
def test_xml_bomb_is_refused_and_kept(client, camera, camera_token):
    from .test_isapi import BOMB

    response = push(client, BOMB, camera_token)
    assert response.status_code == 202
    letter = DeadLetter.objects.get()
    assert letter.reason == c.DeadLetterReason.MALFORMED and "defusedxml" in letter.detail


@pytest.mark.django_db
def test_wrong_content_type_is_a_dead_letter(client, camera, camera_token):
    response = push(client, fixture("vmd.xml"), camera_token, content_type="text/plain")
    assert response.status_code == 202
    assert DeadLetter.objects.get().reason == c.DeadLetterReason.BAD_CONTENT_TYPE


@pytest.mark.django_db
def test_body_over_the_limit_is_refused_before_parsing(client, camera, camera_token, settings, monkeypatch):
    settings.ANFANG_MAX_PUSH_BYTES = 1000
    from anfang.events.adapters import isapi

    def never(*args, **kwargs):
        raise AssertionError("parsed a body over the limit")

    monkeypatch.setattr(isapi.IsapiAdapter, "parse", never)
    response = push(client, anpr_multipart(), camera_token, MULTIPART_TYPE)
    assert response.status_code == 413
    letter = DeadLetter.objects.get()
    assert letter.reason == c.DeadLetterReason.TOO_LARGE and letter.device_id == camera.pk
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_503_when_neither_database_nor_spool_can_store(client, camera, camera_token, monkeypatch):
    device_services._device_cache.clear()
    token = camera_token
    push(client, fixture("heartbeat.xml"), token)  # warm the credential cache

    def database_down(events):
        raise OperationalError("connection refused")

    def disk_full(kind, records):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "write", database_down)
    monkeypatch.setattr(spool, "append", disk_full)
    response = push(client, fixture("vmd.xml"), token)
    assert response.status_code == 503 and response["Retry-After"]
    monkeypatch.undo()
    assert Event.objects.filter(kind=c.EventKind.MOTION).count() == 0


@pytest.mark.django_db(transaction=True)
def test_database_down_spools_and_answers_200(client, camera, camera_token, monkeypatch):
    push(client, fixture("heartbeat.xml"), camera_token)

    def database_down(events):
        raise OperationalError("connection refused")

    monkeypatch.setattr(writer, "write", database_down)
    response = push(client, fixture("vmd.xml"), camera_token)
    assert response.status_code == 200 and response.json()["spooled"] == 1
    monkeypatch.undo()
    assert writer.replay_spool() == 1
    assert Event.objects.filter(kind=c.EventKind.MOTION).count() == 1


@pytest.mark.django_db
def test_push_for_a_perimeter_alarm_host(client):
    host = f.DeviceFactory(subsystem="perimeter", device_type="alarm_host")
    token = device_services.issue_device_token(None, host)
    assert push(client, fixture("io.xml"), token).status_code == 200
    assert Event.objects.get().kind == c.EventKind.PERIMETER_INTRUSION


@pytest.mark.django_db
def test_a_dead_lettered_multipart_is_replayable_after_a_fix(client, camera, camera_token, monkeypatch):
    from anfang.events.adapters import isapi
    from anfang.events.ingest import Rejected
    from anfang.events.services import replay_dead_letter

    def not_yet_supported(alert, device, where=""):
        raise Rejected(c.DeadLetterReason.INVALID, "mapping missing")

    monkeypatch.setattr(isapi, "alert_event", not_yet_supported)
    assert push(client, anpr_multipart(), camera_token, MULTIPART_TYPE).status_code == 202
    monkeypatch.undo()
    letter = DeadLetter.objects.get()
    assert letter.headers["Content-Type"] == MULTIPART_TYPE  # the boundary survives for the replay
    report = replay_dead_letter(None, letter)
    assert [o.status for o in report.outcomes] == ["stored"] and not report.rejects
    event = Event.objects.get()
    assert len(event.media) == 2 and c.Flag.REPLAYED in event.flags
    letter.refresh_from_db()
    assert letter.status == c.DeadLetterStatus.REPLAYED
