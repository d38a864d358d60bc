"""What every HTTP push endpoint shares: read the body within the limit, find the device,
run the payload through its adapter and answer so that a device retries exactly when it must
(2xx only once the payload is durable as events or dead letters, 503 when it is not)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from anfang.devices import services as devices
from anfang.devices.models import Device

from . import choices as c
from .adapters.base import Adapter, Payload
from .ingest import Rejected
from .services import Report, process, refuse
from .writer import UNAVAILABLE

KEPT_HEADERS = ("Content-Type", "Content-Length", "User-Agent", "Authorization", "Host", "X-Forwarded-For")


def client_addr(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def payload_from(request: HttpRequest, source: str, body: bytes) -> Payload:
    return Payload(
        body=body,
        content_type=request.content_type or "",
        received_at=timezone.now(),
        source=source,
        headers={name: request.headers[name] for name in KEPT_HEADERS if name in request.headers},
        remote_addr=client_addr(request),
        endpoint=request.path,
    )


def read_body(request: HttpRequest, limit: int | None = None) -> tuple[bytes, bool]:
    """The body, or its first `limit` bytes and True when it is bigger (refused before parsing)."""
    limit = limit or settings.ANFANG_MAX_PUSH_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return request.read(min(declared, settings.ANFANG_MAX_DEAD_LETTER_BYTES)), True
    data = request.read(limit + 1)
    return data[:limit], len(data) > limit


def bearer_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authenticate(request: HttpRequest, secret: str | None) -> Device | None:
    if secret:
        return devices.device_by_push_path(secret, client_addr(request))
    token = bearer_token(request) or request.headers.get("X-Device-Token", "")
    return devices.device_by_token(token) if token else None


def answer(report: Report) -> JsonResponse:
    """200 with what was stored; 202 when everything went to dead letters (kept, nothing to retry)."""
    statuses = [o.status for o in report.outcomes]
    body = {
        "accepted": len(statuses),
        "stored": statuses.count("stored"),
        "duplicates": statuses.count("duplicate"),
        "spooled": statuses.count("spooled"),
        "rejected": [{"reason": r.reason, "detail": r.detail, "dead_letter": dl} for r, dl in report.rejects],
    }
    return JsonResponse(body, status=200 if statuses or not report.rejects else 202)


def unavailable() -> JsonResponse:
    response = JsonResponse({"error": "storage unavailable, retry later"}, status=503)
    response["Retry-After"] = "5"
    return response


def handle_push(request: HttpRequest, source: str, adapter: Adapter, secret: str | None = None) -> JsonResponse:
    """The whole push flow for one request; endpoints add only their protocol's adapter."""
    body, too_large = read_body(request)
    payload = payload_from(request, source, body)
    try:
        device = authenticate(request, secret)
        if device is None:
            refuse(payload, "未知、停用或来源地址不符的设备 / unknown, disabled or misplaced device", secret=secret)
            return JsonResponse({"error": "device not authenticated"}, status=401)
        if too_large:
            from . import deadletters

            rejected = Rejected(
                c.DeadLetterReason.TOO_LARGE,
                f"报文超过 {settings.ANFANG_MAX_PUSH_BYTES} 字节上限 / body over the limit",
            )
            deadletters.record(payload, rejected, device=device, secret=secret)
            return JsonResponse({"error": rejected.detail}, status=413)
        report = process(payload, device, adapter=adapter, secret=secret)
    except (OSError, *UNAVAILABLE):
        # Neither the database nor the spool could keep it (or the device could not be looked
        # up): the device must send it again.
        return unavailable()
    return answer(report)
