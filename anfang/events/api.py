"""Events API (`/api/events/…`): the JSON batch intake for integrations (issue 5 §5), the scoped
event list, and the published JSON Schema of an event."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyHeader, HttpBearer, SessionAuth
from pydantic import field_validator

from anfang.compounds.models import Compound
from anfang.compounds.querysets import compound_scope
from anfang.core.api import visible_or_404
from anfang.core.choices import choice_label
from anfang.core.grants import has_role
from anfang.core.models import ApiToken
from anfang.core.schemas import FieldError, Id, PageParams, errors, page_of, paginate
from anfang.devices import services as devices
from anfang.devices.models import Device

from . import choices as c
from .adapters import batch, jsonevent
from .http import payload_from
from .models import Event
from .services import refuse
from .writer import UNAVAILABLE

log = logging.getLogger(__name__)

router = Router(tags=["events"])


# ---------------------------------------------------------------- who is calling


def _device_for(request: HttpRequest, token: str) -> Device | None:
    """The device holding this token; an unknown or disabled one is refused and recorded
    (rate-limited), like a push from it would be."""
    device = devices.device_by_token(token)
    if device is None:
        try:
            body = request.body[: settings.ANFANG_MAX_DEAD_LETTER_BYTES]
        except Exception:  # e.g. over Django's upload limit: record what we know
            body = b""
        try:
            refuse(
                payload_from(request, c.Source.API, body), "未知或已停用的设备令牌 / unknown or disabled device token"
            )
        except (OSError, *UNAVAILABLE):
            log.warning("could not record a refused batch", exc_info=True)
    return device


class BearerAuth(HttpBearer):
    """`Authorization: Bearer afd_…` (a device) or `Bearer afg_…` (a user's API token)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        if token.startswith("afd_"):
            return _device_for(request, token)
        api_token = ApiToken.authenticate(token)
        if api_token is None:
            return None
        request.user = api_token.user
        return api_token.user


class DeviceTokenHeader(APIKeyHeader):
    """`X-Device-Token: afd_…`, for devices whose firmware cannot set Authorization."""

    param_name = "X-Device-Token"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return _device_for(request, key) if key and key.startswith("afd_") else None


class CookieSessionAuth(SessionAuth):
    """Session (CSRF-checked) only when a session cookie is sent, as in anfang.api."""

    def __call__(self, request: HttpRequest) -> Any:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super().__call__(request)


BATCH_AUTH = [BearerAuth(), DeviceTokenHeader(), CookieSessionAuth()]


# ---------------------------------------------------------------- POST /batch


class BatchIn(Schema):
    events: list[Any] = Field(
        ...,
        description=f"At most {batch.MAX_EVENTS} events, each following the event schema (GET /api/events/schema).",
    )


class EventResult(Schema):
    index: int = Field(description="事件在请求中的位置（从 0 起）")
    status: Literal["stored", "duplicate", "spooled", "rejected"] = Field(
        description="stored 已保存；duplicate 已保存过（event_id 为首次保存的 id）；spooled 数据库暂不可用，已落盘待写入；"
        "rejected 被拒绝（见 errors，原文已存为死信）"
    )
    event_id: int | None = None
    dead_letter: int | None = Field(None, description="被拒绝事件保存为的死信 id")
    errors: list[FieldError] = Field(default_factory=list, description="loc 为事件内的字段路径")


class BatchOut(Schema):
    stored: int
    duplicates: int
    spooled: int
    rejected: int
    results: list[EventResult]


def _devices_in_scope(user: Any) -> Any:
    scope = Compound.objects.in_scope_of_roles(user, batch.INGEST_ROLES)

    def look_up(ids: Iterable[int]) -> dict[int, Device]:
        rows = Device.objects.filter(pk__in=list(ids), compound__in=scope.values("pk")).only("id", "compound_id")
        return {d.pk: d for d in rows}

    return look_up


@router.post(
    "/batch",
    auth=BATCH_AUTH,
    response={200: BatchOut, **errors(403, 503)},
    summary="批量提交事件（JSON，按 external_id 幂等）",
    description=(
        f"At most {batch.MAX_EVENTS} events per request; each is validated, stored or rejected on its own, "
        "and the answer lists the outcome of every event by index. Repeating a request is safe: events with "
        "the same external_id answer `duplicate` with the id stored first. Authenticate as a device "
        "(`Authorization: Bearer afd_…` or `X-Device-Token`; events are that device's) or as a user with "
        "an ingest role (platform admin, property manager, community manager, duty operator; every event "
        "names its `device`, and devices outside the user's compounds are rejected as `unknown_device`). "
        "503 when the events cannot be kept right now: send the same request again."
    ),
)
def post_batch(request: HttpRequest, payload: BatchIn) -> Any:
    caller = request.auth  # type: ignore[attr-defined]
    if len(payload.events) > batch.MAX_EVENTS:
        raise NinjaValidationError(
            [
                {
                    "loc": ["body", "events"],
                    "msg": gettext("每次最多提交 %(max)d 条事件，本次 %(count)d 条。")
                    % {"max": batch.MAX_EVENTS, "count": len(payload.events)},
                    "type": "too_long",
                }
            ]
        )
    device = caller if isinstance(caller, Device) else None
    if device is None and not has_role(caller, batch.INGEST_ROLES):
        raise PermissionDenied(gettext("您的角色不能提交事件。"))
    body = payload_from(request, c.Source.API, b"")
    try:
        results = batch.ingest(
            payload.events,
            payload=body,
            device=device,
            devices_in_scope=_devices_in_scope(caller),
        )
    except (OSError, *UNAVAILABLE):
        response = JsonResponse({"detail": gettext("事件暂时无法保存，请稍后重试。")}, status=503)
        response["Retry-After"] = "5"
        return response
    statuses = [r.status for r in results]
    return {
        "stored": statuses.count("stored"),
        "duplicates": statuses.count("duplicate"),
        "spooled": statuses.count("spooled"),
        "rejected": statuses.count("rejected"),
        "results": [r.__dict__ for r in results],
    }


# ---------------------------------------------------------------- GET / (list) and /{id}


Kind = Literal[tuple(c.EventKind.values)]  # type: ignore[valid-type]
SourceValue = Literal[tuple(c.Source.values)]  # type: ignore[valid-type]
DEFAULT_WINDOW = dt.timedelta(hours=24)


class EventOut(Schema):
    id: int
    compound: int = Field(validation_alias="compound_id")
    device: int = Field(validation_alias="device_id")
    channel: int | None
    kind: Kind  # type: ignore[valid-type]
    kind_label: str
    state: Literal[tuple(c.EventState.values)]  # type: ignore[valid-type]
    severity: int = Field(description="0 信息 · 1 提示 · 2 警告 · 3 紧急")
    occurred_at: dt.datetime = Field(description="发生时间（设备时钟）")
    received_at: dt.datetime = Field(description="接收时间（平台时钟）")
    source: SourceValue  # type: ignore[valid-type]
    external_id: str
    vendor_code: str
    flags: list[str] = Field(description="zone_assumed · clock_skew · late · replayed")
    payload: dict[str, Any]
    media: list[dict[str, Any]]

    @staticmethod
    def resolve_kind_label(obj: Event) -> str:
        return choice_label(c.EventKind, obj.kind)


class EventFilter(Schema):
    compound: Id | None = Field(None, description="小区 id")
    device: Id | None = Field(None, description="设备 id")
    kind: Kind | None = Field(None, description="事件类型")  # type: ignore[valid-type]
    source: SourceValue | None = Field(None, description="来源")  # type: ignore[valid-type]
    since: dt.datetime | None = Field(None, description="接收时间不早于（默认：until 前 24 小时）")
    until: dt.datetime | None = Field(None, description="接收时间早于（默认：现在）")

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        # Any zone offset the client sends becomes UTC here; years the database cannot compare with
        # a day's window are refused (422) rather than failing in the query.
        if value is None:
            return None
        value = _aware(value).astimezone(dt.UTC)
        if not 1970 <= value.year <= 9000:
            raise ValueError("out of range")
        return value


def _aware(moment: dt.datetime) -> dt.datetime:
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _visible(user: Any) -> Any:
    q = compound_scope(user)
    rows = Event.objects.all()
    return rows if q is None else rows.filter(compound_id__in=Compound.objects.filter(q).values("pk"))


@router.get(
    "/",
    response={200: page_of(EventOut), **errors()},
    summary="事件列表（按权限范围，按接收时间倒序）",
    description="Events of the compounds the user can see, newest first, within a window of receive time "
    "(default the last 24 hours: the table is partitioned by day on it).",
)
def list_events(request: HttpRequest, filters: Query[EventFilter], page: Query[PageParams]) -> dict:
    until = filters.until or timezone.now()
    since = filters.since or until - DEFAULT_WINDOW
    rows = _visible(request.auth).filter(received_at__gte=since, received_at__lt=until)  # type: ignore[attr-defined]
    for name in ("compound", "device"):
        value = getattr(filters, name)
        if value is not None:
            rows = rows.filter(**{f"{name}_id": value})
    for name in ("kind", "source"):
        value = getattr(filters, name)
        if value is not None:
            rows = rows.filter(**{name: value})
    return paginate(rows.order_by("-received_at", "-id"), page)


@router.get("/schema", auth=None, response={200: dict[str, Any]}, summary="事件 JSON Schema（MQTT 与批量接口共用）")
def event_schema(request: HttpRequest) -> dict[str, Any]:
    return jsonevent.json_schema()


@router.get("/{event_id}", response={200: EventOut, **errors(404)}, summary="事件详情")
def get_event(request: HttpRequest, event_id: Id) -> Any:
    return visible_or_404(_visible(request.auth), pk=event_id)  # type: ignore[attr-defined]
