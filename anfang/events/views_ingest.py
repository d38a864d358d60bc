"""Device push endpoints (issue 5 §2, §6). Thin: the whole flow is events.http.handle_push.

Devices cannot send a CSRF token; they authenticate with their own credential instead (bearer token,
or secret path plus source address), so these views are CSRF-exempt."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .adapters.isapi import ADAPTER as ISAPI
from .choices import Source
from .http import handle_push


@csrf_exempt
@require_POST
def isapi_push(request: HttpRequest, secret: str | None = None) -> JsonResponse:
    """Hikvision "HTTP listening" target: EventNotificationAlert XML/JSON, or multipart with pictures."""
    return handle_push(request, Source.ISAPI, ISAPI, secret=secret)
