"""Event-ingestion fixtures: devices with credentials, canonical events, an isolated spool/media dir."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anfang.devices import services as device_services
from anfang.events import choices as c
from anfang.events import writer
from anfang.events.ingest import Incoming
from tests import factories as f


@pytest.fixture(autouse=True)
def event_dirs(settings, tmp_path):
    settings.ANFANG_SPOOL_DIR = tmp_path / "spool"
    settings.MEDIA_ROOT = tmp_path / "media"
    device_services._credential_cache.clear()
    device_services._device_cache.clear()
    writer.HEALTH.devices.clear()
    return tmp_path


@pytest.fixture
def camera(db):
    return f.DeviceFactory(ip_address="10.0.0.20")


@pytest.fixture
def camera_token(camera):
    return device_services.issue_device_token(None, camera)


def incoming(device, kind: str = c.EventKind.MOTION, *, seconds_ago: float = 1, **kwargs) -> Incoming:
    now = timezone.now()
    return Incoming(
        device_id=device.pk,
        compound_id=device.compound_id,
        kind=kind,
        occurred_at=kwargs.pop("occurred_at", now - dt.timedelta(seconds=seconds_ago)),
        source=kwargs.pop("source", c.Source.API),
        received_at=kwargs.pop("received_at", now),
        **kwargs,
    )
