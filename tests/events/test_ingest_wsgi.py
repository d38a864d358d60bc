"""The WSGI entry point sends /ingest/ through the middleware-free handler and everything else
through the full stack."""

from __future__ import annotations

import io
from wsgiref.util import setup_testing_defaults

import pytest

from anfang.events.models import Event
from anfang.wsgi import application
from tests.events.fixtures.isapi.payloads import fixture

pytestmark = pytest.mark.django_db(transaction=True)


def call(path: str, body: bytes = b"", method: str = "GET", **headers: str):
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update(
        {
            "PATH_INFO": path,
            "REQUEST_METHOD": method,
            "SERVER_NAME": "testserver",
            "HTTP_HOST": "testserver",
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": headers.pop("content_type", "application/xml"),
            "wsgi.input": io.BytesIO(body),
        }
    )
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    status: list[str] = []
    response_headers: list = []

    def start_response(s, h, exc_info=None):
        status.append(s)
        response_headers.extend(h)

    content = b"".join(application(environ, start_response))
    return status[0], dict(response_headers), content


def test_a_push_is_stored_without_the_middleware_stack(camera, camera_token):
    status, headers, _ = call("/ingest/isapi/", fixture("vmd.xml"), "POST", authorization=f"Bearer {camera_token}")
    assert status.startswith("200") and Event.objects.filter(device=camera, kind="motion").exists()
    assert "X-Frame-Options" not in headers and "Vary" not in headers  # no security/session/locale middleware


def test_an_unauthenticated_push_is_still_refused(camera):
    status, _, _ = call("/ingest/isapi/", fixture("vmd.xml"), "POST", authorization="Bearer afd_wrong")
    assert status.startswith("401")


def test_pages_keep_the_full_stack():
    status, headers, _ = call("/accounts/login/")
    assert status.startswith("200") and headers.get("X-Frame-Options") == "DENY"
