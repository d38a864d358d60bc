"""The media store: event pictures (ANPR plates, alarm snapshots) and approved export files.

Keys are content-addressed (SHA-256), so a picture sent twice is stored once and a replay after a
crash rewrites nothing; the type is decided by the bytes, not by what the sender says; each kind of
object has its own size limit and allowed types. Two backends behind one interface, chosen by
`ANFANG_MEDIA_STORE`: the filesystem under MEDIA_ROOT (default) and any S3-compatible object store
(the scale-out option). A reference — `{"path", "type", "size", "sha256"}` — is the same for both,
so data can move between them.

Errors callers must tell apart: `BadMedia` (the data itself is unusable: dead-letter it, never
retry) and `StoreUnavailable` (an `OSError`: the store cannot be reached or written — retry later,
nothing was lost). A missing object raises `FileNotFoundError`.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import io
import os
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings

JPEG = ("image/jpeg", "jpg")
PNG = ("image/png", "png")
XLSX = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
ZIP = ("application/zip", "zip")
CSV = ("text/csv", "csv")
CHUNK = 256 * 1024


class BadMedia(ValueError):
    """The data is not acceptable for its kind (too big, wrong type): not worth retrying."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class StoreUnavailable(OSError):
    """The store could not be reached or written: retry later (the data is not lost)."""


def sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) decided by the leading bytes, or None when unknown."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"PK\x03\x04"):
        # An xlsx is a ZIP holding a workbook part.
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return XLSX if "xl/workbook.xml" in archive.namelist() else ZIP
        except (zipfile.BadZipFile, ValueError, EOFError):
            return None
    head = data[:4096]
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the 4096th byte is still text.
            if exc.start < len(head) - 3:
                return None
        return CSV
    return None


@dataclass(frozen=True)
class Policy:
    """What a kind of object may be: its folder in the store, its types, its size limit."""

    prefix: str
    types: frozenset[tuple[str, str]]
    limit_setting: str

    @property
    def limit(self) -> int:
        return int(getattr(settings, self.limit_setting))


POLICIES: dict[str, Policy] = {
    "picture": Policy("events", frozenset({JPEG, PNG}), "ANFANG_MAX_PICTURE_BYTES"),
    "export": Policy("exports", frozenset({XLSX, ZIP, CSV}), "ANFANG_MAX_EXPORT_BYTES"),
}
PREFIXES = frozenset(p.prefix for p in POLICIES.values())


def check(data: bytes, kind: str) -> tuple[str, str]:
    """The sniffed type of `data`, or BadMedia naming the limit or the type that was refused."""
    policy = POLICIES[kind]
    if len(data) > policy.limit:
        raise BadMedia(f"{len(data)} 字节，超过上限 {policy.limit} 字节")
    if not data:
        raise BadMedia("内容为空")
    sniffed = sniff(data)
    if sniffed is None or sniffed not in policy.types:
        allowed = "、".join(sorted(ext.upper() for _, ext in policy.types))
        raise BadMedia(f"类型不允许（只接受 {allowed}）")
    return sniffed


def key_of(ref: dict[str, Any]) -> str:
    """The store key of a reference; refuses anything outside the store's folders."""
    path = str(ref.get("path") or "")
    parts = path.split("/")
    if len(parts) < 2 or parts[0] not in PREFIXES or any(p in ("", ".", "..") or "\\" in p for p in parts):
        raise FileNotFoundError(path)
    return path


class MediaStore(ABC):
    """put/open/exists/delete/stream over content-addressed keys."""

    name = ""

    def put(self, data: bytes, kind: str) -> dict[str, Any]:
        """Store `data` (checked against the kind's policy); returns its reference."""
        content_type, ext = check(data, kind)
        digest = hashlib.sha256(data).hexdigest()
        key = f"{POLICIES[kind].prefix}/{digest[:2]}/{digest[2:4]}/{digest}.{ext}"
        self._write(key, data, content_type)
        return {"path": key, "type": content_type, "size": len(data), "sha256": digest}

    @abstractmethod
    def _write(self, key: str, data: bytes, content_type: str) -> None: ...

    @abstractmethod
    def open(self, ref: dict[str, Any]) -> IO[bytes]:
        """A readable binary file (close it). FileNotFoundError when missing."""

    @abstractmethod
    def exists(self, ref: dict[str, Any]) -> bool: ...

    @abstractmethod
    def delete(self, ref: dict[str, Any]) -> bool:
        """Remove the object; False when it was not there (deleting twice is fine)."""

    def stream(self, ref: dict[str, Any], chunk: int = CHUNK) -> Iterator[bytes]:
        with self.open(ref) as handle:
            while block := handle.read(chunk):
                yield block

    def read(self, ref: dict[str, Any]) -> bytes:
        with self.open(ref) as handle:
            return handle.read()

    def url(self, ref: dict[str, Any], expires: int = 300) -> str | None:
        """A direct, time-limited URL when the backend has one; None: serve through `stream`."""
        return None


class FileSystemStore(MediaStore):
    """Under MEDIA_ROOT; writes are atomic (temp file, fsync, rename)."""

    name = "fs"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, ref: dict[str, Any]) -> Path:
        path = (self.root / key_of(ref)).resolve()
        if self.root.resolve() not in path.parents:
            raise FileNotFoundError(ref.get("path"))
        return path

    def _write(self, key: str, data: bytes, content_type: str) -> None:
        path = self.root / key
        if path.exists():
            return
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise StoreUnavailable(f"媒体存储不可写 / media store not writable: {exc}") from exc

    def open(self, ref: dict[str, Any]) -> IO[bytes]:
        return self.path(ref).open("rb")

    def exists(self, ref: dict[str, Any]) -> bool:
        try:
            return self.path(ref).is_file()
        except FileNotFoundError:
            return False

    def delete(self, ref: dict[str, Any]) -> bool:
        try:
            self.path(ref).unlink()
        except FileNotFoundError:
            return False
        return True


class S3Store(MediaStore):
    """An S3-compatible bucket (AWS, MinIO, Ceph RGW…). Short timeouts and few retries: a store
    that is down must fail the request quickly with StoreUnavailable, not hang it."""

    name = "s3"

    def __init__(self, endpoint: str, bucket: str, access_key: str, secret_key: str, region: str) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            region_name=region,
            config=Config(
                connect_timeout=2,
                read_timeout=10,
                retries={"max_attempts": 2, "mode": "standard"},
                s3={"addressing_style": "path"},
            ),
        )

    def _call(self, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if error.get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(kwargs.get("Key", "")) from exc
            if status >= 500 or error.get("Code") in ("SlowDown", "ServiceUnavailable", "NoSuchBucket"):
                raise StoreUnavailable(f"对象存储不可用 / object store unavailable: {error.get('Code')}") from exc
            raise
        except BotoCoreError as exc:  # connection refused, timeouts, DNS…
            raise StoreUnavailable(f"对象存储不可用 / object store unavailable: {exc}") from exc

    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self._call("head_bucket")
        except (ClientError, StoreUnavailable, FileNotFoundError):
            self._call("create_bucket")

    def _write(self, key: str, data: bytes, content_type: str) -> None:
        if self._exists(key):
            return
        digest = hashlib.md5(data, usedforsecurity=False).digest()
        self._call(
            "put_object", Key=key, Body=data, ContentType=content_type, ContentMD5=base64.b64encode(digest).decode()
        )

    def _exists(self, key: str) -> bool:
        try:
            self._call("head_object", Key=key)
        except FileNotFoundError:
            return False
        return True

    def open(self, ref: dict[str, Any]) -> IO[bytes]:
        body = self._call("get_object", Key=key_of(ref))["Body"]
        return io.BufferedReader(_Body(body), buffer_size=CHUNK)

    def exists(self, ref: dict[str, Any]) -> bool:
        try:
            return self._exists(key_of(ref))
        except FileNotFoundError:
            return False

    def delete(self, ref: dict[str, Any]) -> bool:
        key = key_of(ref)
        if not self._exists(key):
            return False
        self._call("delete_object", Key=key)
        return True

    def url(self, ref: dict[str, Any], expires: int = 300) -> str | None:
        return str(
            self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key_of(ref)}, ExpiresIn=expires
            )
        )


class _Body(io.RawIOBase):
    """A boto3 response body as a plain readable file (no seek: FileResponse streams it)."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        from botocore.exceptions import BotoCoreError

        try:
            return bytes(self._body.read() if size is None or size < 0 else self._body.read(size))
        except BotoCoreError as exc:
            raise StoreUnavailable(f"对象存储读取中断 / object store read failed: {exc}") from exc

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


@functools.lru_cache(maxsize=8)
def _store(backend: str, root: str, endpoint: str, bucket: str, access: str, secret: str, region: str) -> MediaStore:
    if backend == "s3":
        return S3Store(endpoint, bucket, access, secret, region)
    if backend == "fs":
        return FileSystemStore(Path(root))
    raise ValueError(f"ANFANG_MEDIA_STORE must be fs or s3, not {backend!r}")


def get_store() -> MediaStore:
    """The configured store (one client per configuration: tests override settings freely)."""
    return _store(
        settings.ANFANG_MEDIA_STORE,
        str(settings.MEDIA_ROOT),
        settings.ANFANG_S3_ENDPOINT,
        settings.ANFANG_S3_BUCKET,
        settings.ANFANG_S3_ACCESS_KEY,
        settings.ANFANG_S3_SECRET_KEY,
        settings.ANFANG_S3_REGION,
    )
