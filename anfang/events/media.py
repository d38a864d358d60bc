"""Event pictures (ANPR plates, alarm snapshots) in the media store: the filesystem under
MEDIA_ROOT by default. Content-addressed (SHA-256), so a picture sent twice is stored once and a
replay after a crash rewrites nothing. Type is decided by the bytes, not by what the device says."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from django.conf import settings

from . import choices as c
from .ingest import Rejected

MAGIC = {b"\xff\xd8\xff": ("image/jpeg", "jpg"), b"\x89PNG\r\n\x1a\n": ("image/png", "png")}


def sniff(data: bytes) -> tuple[str, str] | None:
    for magic, kind in MAGIC.items():
        if data.startswith(magic):
            return kind
    return None


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "events"


def save_picture(data: bytes, *, name: str = "") -> dict[str, Any]:
    """Store one picture; returns the reference kept in `Event.media`. Raises Rejected(bad_media)."""
    limit = settings.ANFANG_MAX_PICTURE_BYTES
    if len(data) > limit:
        raise Rejected(c.DeadLetterReason.BAD_MEDIA, f"图片 {name or ''} 为 {len(data)} 字节，超过上限 {limit} 字节")
    kind = sniff(data)
    if kind is None:
        raise Rejected(c.DeadLetterReason.BAD_MEDIA, f"图片 {name or ''} 不是 JPEG 或 PNG")
    content_type, ext = kind
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{digest[:2]}/{digest[2:4]}/{digest}.{ext}"
    path = media_root() / relative
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    return {"path": "events/" + relative, "type": content_type, "size": len(data), "sha256": digest, "name": name[:64]}


def open_picture(ref: dict[str, Any]) -> Path:
    """The file of a stored reference; refuses paths outside the store."""
    path = (Path(settings.MEDIA_ROOT) / ref["path"]).resolve()
    if media_root().resolve() not in path.parents:
        raise FileNotFoundError(ref["path"])
    return path
