"""A WSGI handler for device pushes only (see anfang/wsgi.py): Django's request cycle — URL
resolution, the view, exception-to-response conversion, request_finished (which closes stale
database connections) — without any middleware."""

from __future__ import annotations

from typing import Any

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler


class IngestWSGIHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        self._middleware_chain = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
