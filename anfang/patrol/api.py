"""Patrol API (`/api/patrol/…`, Art 10): the phone's check-in queue, reader uploads, the current
guard's running patrols. A guard reaches only the compounds (and teams) they are granted; anything
else does not exist (404)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from anfang.core.schemas import errors
from anfang.devices.models import Device

from . import choices as c
from . import readers, selectors, services
from .models import Checkpoint, PatrolRun, RouteCheckpoint

router = Router(tags=["patrol"])


class CheckinBatchIn(Schema):
    sent_at: str | None = Field(None, description="手机发送时的本机时间（ISO 8601），用于校正手机时钟")
    items: list[dict[str, Any]] = Field(
        ...,
        description="签到队列：每条 {client_id (UUID), code, occurred_at (ISO 8601, 手机时间), run_id?, note?, "
        "photo? (Base64 JPEG/PNG), photo_name?}",
        max_length=500,
    )


class ItemErrorOut(Schema):
    field: str
    message: str


class ItemOut(Schema):
    index: int
    status: str = Field(description="stored | duplicate | rejected")
    id: int | None
    flags: list[str]
    errors: list[ItemErrorOut]


class CheckinBatchOut(Schema):
    stored: int
    duplicates: int
    rejected: int
    results: list[ItemOut]


@router.post("/checkins", response={200: CheckinBatchOut, **errors()}, summary="手机签到（离线队列批量提交，第10条）")
def post_checkins(request: HttpRequest, payload: CheckinBatchIn) -> dict[str, Any]:
    results = services.phone_checkins(request.user, payload.items, sent_at=payload.sent_at)
    return {
        "stored": sum(r.status == services.STORED for r in results),
        "duplicates": sum(r.status == services.DUPLICATE for r in results),
        "rejected": sum(r.status == services.REJECTED for r in results),
        "results": [r.as_dict() for r in results],
    }


class UploadErrorOut(Schema):
    line: int
    field: str
    message: str


class UploadOut(Schema):
    id: int
    replayed: bool = Field(description="同一内容此前已上传，本次未重复计入")
    read_count: int
    accepted: int
    duplicates: int
    unknown_tags: int
    rejected: int
    clock_offset_seconds: int
    errors: list[UploadErrorOut]


@router.post(
    "/readers/{device_id}/uploads",
    response={200: UploadOut, 201: UploadOut, **errors(404)},
    summary="巡更棒数据上传（CSV 或 JSON 原文）",
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": "tag,time\n04A1B2C3,2026-11-25 21:05:11\n"},
                "application/json": {"schema": {"type": "object"}},
            }
        }
    },
)
def post_reader_upload(request: HttpRequest, device_id: int, clock_offset_seconds: int | None = None) -> Status:
    reader = Device.objects.filter(
        pk=device_id,
        device_type="patrol_reader",
        compound__in=selectors.walkable_compounds(request.user).values("pk"),
    ).first()
    if reader is None:
        raise Http404
    result = readers.ingest_upload(
        reader,
        request.body,
        content_type=request.content_type or "",
        user=request.user,
        clock_offset_seconds=clock_offset_seconds,
    )
    upload = result.upload
    return Status(
        200 if result.replayed else 201,
        {
            "id": upload.pk,
            "replayed": result.replayed,
            "read_count": upload.read_count,
            "accepted": upload.accepted_count,
            "duplicates": upload.duplicate_count,
            "unknown_tags": upload.unknown_count,
            "rejected": upload.rejected_count,
            "clock_offset_seconds": upload.clock_offset_seconds,
            "errors": upload.errors,
        },
    )


class StopOut(Schema):
    position: int
    checkpoint_id: int
    name: str
    location: str
    expected_minutes: int
    done: bool


class RunOut(Schema):
    id: int
    compound_id: int
    compound: str
    route: str
    ordered: bool
    window_start: dt.datetime
    window_end: dt.datetime
    guard_id: int | None
    status: str
    completed_count: int
    expected_count: int
    stops: list[StopOut]


def run_out(run: PatrolRun, stops: list[RouteCheckpoint], done: set[int]) -> dict[str, Any]:
    return {
        "id": run.pk,
        "compound_id": run.compound_id,
        "compound": run.compound.name,
        "route": run.route.name,
        "ordered": run.route.ordered,
        "window_start": run.window_start,
        "window_end": run.window_end,
        "guard_id": run.guard_id,
        "status": run.status,
        "completed_count": run.completed_count,
        "expected_count": run.expected_count,
        "stops": [
            {
                "position": s.position,
                "checkpoint_id": s.checkpoint_id,
                "name": s.checkpoint.name,
                "location": s.checkpoint.location,
                "expected_minutes": s.expected_minutes,
                "done": s.checkpoint_id in done,
            }
            for s in stops
        ],
    }


def runs_out(runs: list[PatrolRun]) -> list[dict[str, Any]]:
    from collections import defaultdict

    from .models import Checkin

    stops: dict[int, list[RouteCheckpoint]] = defaultdict(list)
    for stop in RouteCheckpoint.objects.filter(route__in={r.route_id for r in runs}).select_related("checkpoint"):
        stops[stop.route_id].append(stop)
    done: dict[int, set[int]] = defaultdict(set)
    for run_id, cp in Checkin.objects.filter(run_id__in=[r.pk for r in runs], eligible=True).values_list(
        "run_id", "checkpoint_id"
    ):
        if run_id is not None and cp is not None:
            done[run_id].add(cp)
    return [run_out(r, stops[r.route_id], done[r.pk]) for r in runs]


@router.get("/runs/running", response={200: list[RunOut], **errors()}, summary="当前可执行的巡查任务")
def get_running(request: HttpRequest) -> list[dict[str, Any]]:
    return runs_out(selectors.running_runs(request.user))


def _run_for(request: HttpRequest, run_id: int) -> PatrolRun:
    run = selectors.runs_for(request.user).filter(pk=run_id).select_related("route", "compound", "team").first()
    if run is None or not selectors.may_walk(request.user, run):
        raise Http404
    return run


@router.post("/runs/{run_id}/start", response={200: RunOut, **errors(404)}, summary="领取并开始巡查任务")
def post_start(request: HttpRequest, run_id: int) -> dict[str, Any]:
    run = services.start_run(_run_for(request, run_id), request.user)
    return runs_out([run])[0]


class ExceptionIn(Schema):
    compound_id: int
    kind: c.ExceptionKind
    at: dt.datetime | None = None
    note: str = Field("", max_length=2000)
    run_id: int | None = None
    checkpoint_id: int | None = None
    photo: str | None = Field(None, description="Base64 JPEG/PNG")
    photo_name: str = Field("", max_length=64)
    client_id: str = Field("", max_length=64)


class ExceptionOut(Schema):
    id: int
    kind: str
    at: dt.datetime
    photo: bool


@router.post("/exceptions", response={201: ExceptionOut, **errors(404)}, summary="上报巡查异常（可附照片）")
def post_exception(request: HttpRequest, payload: ExceptionIn) -> Status:
    compound = selectors.walkable_compounds(request.user).filter(pk=payload.compound_id).first()
    if compound is None:
        raise Http404
    run = _run_for(request, payload.run_id) if payload.run_id else None
    checkpoint = (
        Checkpoint.objects.filter(pk=payload.checkpoint_id, compound=compound).first()
        if payload.checkpoint_id
        else None
    )
    if payload.checkpoint_id and checkpoint is None:
        raise ValidationError({"checkpoint_id": _("巡查点不存在或不属于该小区。")})
    photo = None
    if payload.photo:
        try:
            photo = base64.b64decode(payload.photo.split(",", 1)[-1], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationError({"photo": _("照片不是有效的 Base64 数据。")}) from exc
    exception = services.record_exception(
        request.user,
        compound=compound,
        kind=payload.kind,
        at=payload.at or timezone.now(),
        note=payload.note,
        run=run,
        checkpoint=checkpoint,
        photo=photo,
        photo_name=payload.photo_name,
        client_id=payload.client_id,
    )
    return Status(201, {"id": exception.pk, "kind": exception.kind, "at": exception.at, "photo": bool(exception.photo)})
