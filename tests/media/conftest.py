"""A real S3-compatible endpoint for the media store tests: moto's HTTP server in a thread."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest

from tests.conftest import require_service


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - dev dependency missing
        require_service("s3 (moto[server])", False, str(exc))
        raise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_settings(settings, s3_endpoint, request):
    """The store switched to S3, in a bucket of its own per test."""
    from anfang.core import storage

    settings.ANFANG_MEDIA_STORE = "s3"
    settings.ANFANG_S3_ENDPOINT = s3_endpoint
    settings.ANFANG_S3_BUCKET = "anfang-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    settings.ANFANG_S3_ACCESS_KEY = "test"
    settings.ANFANG_S3_SECRET_KEY = "test"
    store = storage.get_store()
    assert isinstance(store, storage.S3Store)
    store.ensure_bucket()
    return settings


@pytest.fixture
def fs_settings(settings, tmp_path):
    settings.ANFANG_MEDIA_STORE = "fs"
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings
