"""Retention API (`/api/retention/…`): policies (a setting below its floor answers 422 naming the
article, Art 33(2)), and the video retention reports recorders or integrations send."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Router, Schema

from anfang.compounds.models import Compound
from anfang.core.api import visible_or_404
from anfang.core.schemas import errors
from anfang.devices.models import Device
from anfang.events.adapters.batch import INGEST_ROLES
from anfang.events.api import BATCH_AUTH

from . import selectors, services
from .choices import DataClass, VideoSource

router = Router(tags=["retention"])


class PolicyOut(Schema):
    data_class: str
    label: str
    compound_id: int | None
    days: int
    floor_days: int
    article: str = Field(description="法规条款；空表示法规未规定期限，下限为平台设定")
    basis: str


class PolicyIn(Schema):
    data_class: DataClass
    days: int = Field(ge=1)
    compound_id: int | None = Field(None, description="留空为全局设置（仅平台管理员）")
    note: str = Field("", max_length=255)


@router.get("/policies", response=list[PolicyOut])
def list_policies(request: HttpRequest) -> list[dict[str, Any]]:
    """The global setting of every class and the overrides of the compounds you see."""
    return selectors.policy_rows(request.user)


@router.post("/policies", response={200: PolicyOut, **errors(403, 404, 422)})
def set_policy(request: HttpRequest, payload: PolicyIn) -> Any:
    compound = None
    if payload.compound_id is not None:
        compound = visible_or_404(Compound.objects.visible_to(request.user), pk=payload.compound_id)
    policy = services.set_policy(
        request.user, payload.data_class.value, payload.days, compound=compound, note=payload.note
    )
    return selectors.policy_row(policy.data_class, policy.compound_id, policy.days)


class ChannelIn(Schema):
    channel: int = Field(ge=1, le=999, description="录像机通道号")
    earliest: dt.datetime | None = Field(description="该通道最早录像时间（无录像为 null）")
    latest: dt.datetime | None = None
    camera_id: int | None = Field(None, description="该通道的摄像机（本小区设备 id），可选")


class VideoReportIn(Schema):
    device_id: int | None = Field(None, description="录像设备 id；以设备令牌调用时省略（即令牌所属设备）")
    channels: list[ChannelIn] = Field(..., min_length=1, max_length=512)


class VideoReportOut(Schema):
    stored: int
    days: list[int | None]


@router.post("/video-reports", auth=BATCH_AUTH, response={200: VideoReportOut, **errors(403, 404, 422)})
def video_reports(request: HttpRequest, payload: VideoReportIn) -> Any:
    """Per channel, the earliest recording the recorder still holds (Art 33(2): 视频图像不少于1个月).
    A device token reports for its own device; a person or integration token names the device
    (within the compounds where it holds an ingest role)."""
    caller = getattr(request, "auth", None)
    if isinstance(caller, Device):
        recorder = caller
        if payload.device_id not in (None, recorder.pk):
            raise PermissionDenied(gettext("设备令牌只能上报本设备的录像情况。"))
    else:
        if payload.device_id is None:
            raise ValidationError({"device_id": gettext("请指定录像设备。")})
        recorder = visible_or_404(Device.objects.visible_to(request.user), pk=payload.device_id)
        if not Compound.objects.in_scope_of_roles(request.user, INGEST_ROLES).filter(pk=recorder.compound_id).exists():
            raise PermissionDenied(gettext("您不能为该设备上报录像情况。"))
    rows = services.store_video_reports(recorder, [c.dict() for c in payload.channels], source=VideoSource.API)
    return {"stored": len(rows), "days": [r.days for r in rows]}
