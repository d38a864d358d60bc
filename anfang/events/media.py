"""Event pictures (ANPR plates, alarm snapshots) in the media store (`anfang.core.storage`: the
filesystem under MEDIA_ROOT by default, or S3). Content-addressed (SHA-256), so a picture sent twice
is stored once and a replay after a crash rewrites nothing. Type is decided by the bytes, not by
what the device says.

Bad data raises `Rejected(bad_media)` (the picture becomes a dead letter); a store that cannot be
reached raises `storage.StoreUnavailable` — an OSError, so the push endpoints answer 503 with
Retry-After and the device sends the whole payload again (nothing is stored half-way; the pictures
already written are found again by their hash)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from anfang.core import storage

from . import choices as c
from .ingest import Rejected


def sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a picture (JPEG or PNG), or None."""
    kind = storage.sniff(data)
    return kind if kind in storage.POLICIES["picture"].types else None


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT) / storage.POLICIES["picture"].prefix


def save_picture(data: bytes, *, name: str = "") -> dict[str, Any]:
    """Store one picture; returns the reference kept in `Event.media`. Raises Rejected(bad_media)
    for bad data, `storage.StoreUnavailable` when the store is down (retry)."""
    try:
        ref = storage.get_store().put(data, "picture")
    except storage.BadMedia as bad:
        raise Rejected(c.DeadLetterReason.BAD_MEDIA, f"图片 {name or ''} {bad.detail}") from bad
    ref["name"] = name[:64]
    return ref


class StoredPicture:
    """A picture in a store without local paths: the part of `Path` callers use."""

    def __init__(self, ref: dict[str, Any]) -> None:
        self.ref = ref
        self.name = storage.key_of(ref).rsplit("/", 1)[-1]
        self.suffix = "." + self.name.rsplit(".", 1)[-1] if "." in self.name else ""

    def open(self, mode: str = "rb") -> Any:
        return storage.get_store().open(self.ref)

    def read_bytes(self) -> bytes:
        return storage.get_store().read(self.ref)


def open_picture(ref: dict[str, Any]) -> Path | StoredPicture:
    """The file of a stored reference (a Path on the filesystem store); refuses paths outside
    the picture folder."""
    if not str(ref.get("path", "")).startswith(storage.POLICIES["picture"].prefix + "/"):
        raise FileNotFoundError(ref.get("path"))
    store = storage.get_store()
    if isinstance(store, storage.FileSystemStore):
        return store.path(ref)
    return StoredPicture(ref)


# What a stored reference may be served as (the picture policy's types).
PICTURE_TYPES = frozenset(content_type for content_type, _ext in storage.POLICIES["picture"].types)


def picture_response(ref: Any, filename: str) -> HttpResponseBase:
    """A stored picture as an inline, privately cached response named `filename`.<ext>: 404 when
    the reference is not a picture or its file is gone, 503 (retry) while the store is down.
    Callers check scope before and audit the view after a 200 (Art 33(5))."""
    if not isinstance(ref, dict) or ref.get("type") not in PICTURE_TYPES:
        raise Http404(_("图片不存在。"))
    try:
        picture = open_picture(ref)
        handle = picture.open("rb")
    except storage.StoreUnavailable:
        return HttpResponse(_("媒体存储暂时不可用，请稍后重试。"), status=503, headers={"Retry-After": "5"})
    except (KeyError, OSError) as exc:
        raise Http404(_("图片不存在。")) from exc
    response = FileResponse(handle, content_type=ref["type"])
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = f'inline; filename="{filename}{picture.suffix}"'
    return response
