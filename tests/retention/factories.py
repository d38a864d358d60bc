"""Rows of the retained data classes, dated where a test needs them."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.utils import timezone

from anfang.events import choices as ec
from anfang.events.media import save_picture
from anfang.events.models import Event

JPEG = b"\xff\xd8\xff\xe0" + b"retention-test"


def picture(tag: str) -> dict[str, Any]:
    """A distinct JPEG stored in the media store; its reference."""
    return save_picture(JPEG + hashlib.sha256(tag.encode()).digest(), name="scene")


def days_ago(n: float, now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) - dt.timedelta(days=n)


def event(device: Any, at: dt.datetime, media: list | None = None, **kw: Any) -> Event:
    return Event.objects.create(
        compound_id=device.compound_id,
        device=device,
        kind=kw.pop("kind", ec.EventKind.MOTION),
        occurred_at=at,
        received_at=at,
        source=ec.Source.API,
        media=media or [],
        **kw,
    )
