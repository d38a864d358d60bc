"""The ingest path with the S3 store: pictures go to the bucket, are served (audited) from it, and
a store that is down makes the device retry (503) without losing or half-storing anything."""

from __future__ import annotations

import pytest

from anfang.audit.models import AuditEntry
from anfang.core import storage
from anfang.devices import services as device_services
from anfang.events.models import DeadLetter, Event
from tests import factories as f
from tests.events.fixtures.isapi.payloads import JPEG, MULTIPART_TYPE, anpr_multipart
from tests.media.conftest import free_port

URL = "/ingest/isapi/"


@pytest.fixture
def camera(db, settings, tmp_path):
    settings.ANFANG_SPOOL_DIR = tmp_path / "spool"
    device_services._credential_cache.clear()
    device_services._device_cache.clear()
    device = f.DeviceFactory(ip_address="10.0.0.20")
    return device, device_services.issue_device_token(None, device)


def push(client, token: str):
    return client.post(
        URL,
        data=anpr_multipart(),
        content_type=MULTIPART_TYPE,
        HTTP_AUTHORIZATION=f"Bearer {token}",
        REMOTE_ADDR="10.0.0.20",
    )


def test_pictures_are_stored_in_s3_and_served_audited(client, camera, s3_settings):
    device, token = camera
    assert push(client, token).status_code == 200
    event = Event.objects.get()
    store = storage.get_store()
    assert [store.read(ref) for ref in event.media] == [JPEG, JPEG]
    admin = f.admin_user()
    client.force_login(admin)
    response = client.get(f"/events/{event.pk}/pictures/1/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == JPEG
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_type, entry.object_id) == ("view", "events.picture", str(event.pk))
    assert entry.compound_id == device.compound_id and entry.actor_id == admin.pk and entry.detail["index"] == 1


def test_store_down_makes_the_device_retry_and_loses_nothing(client, camera, s3_settings):
    _, token = camera
    bucket_endpoint = s3_settings.ANFANG_S3_ENDPOINT
    s3_settings.ANFANG_S3_ENDPOINT = f"http://127.0.0.1:{free_port()}"
    response = push(client, token)
    assert response.status_code == 503 and response["Retry-After"]
    # Nothing half-stored: no event without its pictures, no picture turned into a dead letter.
    assert not Event.objects.exists() and not DeadLetter.objects.exists()
    s3_settings.ANFANG_S3_ENDPOINT = bucket_endpoint
    assert push(client, token).json()["stored"] == 1
    assert len(Event.objects.get().media) == 2


def test_picture_view_answers_503_while_the_store_is_down(client, camera, s3_settings):
    _, token = camera
    push(client, token)
    event = Event.objects.get()
    client.force_login(f.admin_user())
    s3_settings.ANFANG_S3_ENDPOINT = f"http://127.0.0.1:{free_port()}"
    response = client.get(f"/events/{event.pk}/pictures/0/")
    assert response.status_code == 503
    assert not AuditEntry.objects.exists()  # no access happened


def test_missing_picture_is_404_not_an_error(client, camera, s3_settings):
    _, token = camera
    push(client, token)
    event = Event.objects.get()
    storage.get_store().delete(event.media[0])
    client.force_login(f.admin_user())
    assert client.get(f"/events/{event.pk}/pictures/0/").status_code == 404
    assert not AuditEntry.objects.exists()
