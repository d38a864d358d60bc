"""WSGI entry point. Device pushes under /ingest/ go through a handler without the middleware
stack: sessions, authentication, messages, locale and CSRF mean nothing to a camera posting an
alarm (devices authenticate by token or secret path, the views are CSRF-exempt), and running them
for every push cost more than parsing it. Every other path gets the full stack."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anfang.settings")
site = get_wsgi_application()

from anfang.events.wsgi import IngestWSGIHandler  # noqa: E402  (needs the apps loaded above)

ingest = IngestWSGIHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith("/ingest/"):
        return ingest(environ, start_response)
    return site(environ, start_response)
