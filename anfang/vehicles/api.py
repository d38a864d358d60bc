"""Vehicles API (`/api/vehicles/…`): the barrier decision a gate controller asks for (Art 11) and
the guard's manual open.

`POST /barrier/decide` authenticates like the event intake: a device token (`Authorization:
Bearer afd_…` or `X-Device-Token`; the device's own entrance is the default place) or a user (API
token or session) on duty for the compound. It answers from a few indexed reads and the cached
watch list, and writes nothing: the passage the camera reports records the decision taken."""

from __future__ import annotations

import time
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from anfang.compounds.models import Entrance, ParkingEntrance
from anfang.core.schemas import errors
from anfang.devices.models import Device
from anfang.events.api import BATCH_AUTH

from . import barrier, services
from .models import Passage

router = Router(tags=["vehicles"])


class DecideIn(Schema):
    plate: str = Field(..., max_length=64, description="车牌号，按相机识别原样提交")
    entrance: int | None = Field(None, description="小区出入口 id；设备调用时默认为设备所在出入口")
    parking_entrance: int | None = Field(None, description="停车场出入口 id")
    direction: Literal["in", "out"] = Field("in", description="in 驶入，out 驶出")
    colour: str = Field("", max_length=16, description="车牌颜色（可选）")


class DecideOut(Schema):
    decision: Literal["allow", "deny", "ask"] = Field(description="allow 放行；deny 禁止；ask 请值班员确认")
    reason: str = Field(description="resident / visitor / watch / lot_full / unknown / unreadable / exit")
    reason_label: str
    plate: str = Field(description="规范化后的车牌（无法识别时为空）")
    plate_valid: bool
    list_match: str
    problems: list[str] = Field(default_factory=list, description="车牌无效时的原因")


# Entrance → (compound, lot): asked on every decision, changed almost never; kept a minute per process.
PLACE_SECONDS = 60.0
_places: dict[tuple[str, int], tuple[float, tuple[int, tuple[int, int | None] | None]]] = {}


def _where(kind: str, pk: int) -> tuple[int, tuple[int, int | None] | None]:
    now = time.monotonic()
    cached = _places.get((kind, pk))
    if cached and cached[0] > now:
        return cached[1]
    if kind == "p":
        row = (
            ParkingEntrance.objects.filter(pk=pk)
            .values_list("compound_id", "parking_lot_id", "parking_lot__spaces")
            .first()
        )
        found: tuple[int, tuple[int, int | None] | None] | None = None if row is None else (row[0], (row[1], row[2]))
    else:
        compound_id = Entrance.objects.filter(pk=pk).values_list("compound_id", flat=True).first()
        found = None if compound_id is None else (compound_id, None)
    if found is None:
        raise Http404
    _places[(kind, pk)] = (now + PLACE_SECONDS, found)
    return found


def _place(caller: Any, payload: DecideIn) -> tuple[int, tuple[int, int | None] | None]:
    """(compound id, (lot id, spaces) or None) of the place asked about; 404 outside the caller's reach."""
    device = caller if isinstance(caller, Device) else None
    entrance_id, parking_entrance_id = payload.entrance, payload.parking_entrance
    if device is not None and entrance_id is None and parking_entrance_id is None:
        entrance_id, parking_entrance_id = device.entrance_id, device.parking_entrance_id
        if entrance_id is None and parking_entrance_id is None:
            raise PermissionDenied(_("该设备未关联出入口，请在请求中指明 entrance 或 parking_entrance。"))
    if parking_entrance_id is not None:
        compound_id, lot = _where("p", parking_entrance_id)
    elif entrance_id is not None:
        compound_id, lot = _where("e", entrance_id)
    else:
        raise PermissionDenied(_("请指明 entrance 或 parking_entrance。"))
    if device is not None:
        if device.compound_id != compound_id:
            raise Http404
    elif not services.holds(caller, compound_id, services.GUARD_DESK_ROLES):
        raise Http404
    return compound_id, lot


@router.post(
    "/barrier/decide",
    auth=BATCH_AUTH,
    response={200: DecideOut, **errors(403, 404)},
    summary="道闸判定：该车牌能否通行（第11条）",
    description=(
        "Answers allow / deny / ask the guard with the reason: resident (业主车辆), visitor (有效访客), "
        "watch (布控名单: held for the guard, never refused by the machine), lot_full (车位已满), unknown "
        "(未登记), unreadable (车牌无法识别), exit (驶出). A device asks about its own entrance by default."
    ),
)
def decide(request: HttpRequest, payload: DecideIn) -> Any:
    compound_id, lot = _place(request.auth, payload)  # type: ignore[attr-defined]
    answer = barrier.decide_at(
        compound_id,
        payload.plate,
        direction=payload.direction,
        colour=payload.colour,
        parking_lot=lot if lot and lot[0] else None,
    )
    d = answer.decision
    return {
        "decision": d.decision,
        "reason": d.reason,
        "reason_label": d.reason_label,
        "plate": answer.plate,
        "plate_valid": answer.plate_valid,
        "list_match": d.list_match,
        "problems": answer.problems,
    }


class OpenIn(Schema):
    reason: str = Field(..., max_length=255, description="开闸原因（必填，第11条）")
    entrance: int | None = None
    parking_entrance: int | None = None
    passage: int | None = Field(None, description="对应的过车记录 id（可选）")
    plate: str = Field("", max_length=16)


class OpenOut(Schema):
    id: int
    opened_at: str
    plate: str
    reason: str


@router.post(
    "/barrier/open",
    response={200: OpenOut, **errors(403, 404)},
    summary="人工开闸（须填写原因，记入值班日志）",
)
def open_barrier(request: HttpRequest, payload: OpenIn) -> Any:
    scope = services.compounds_for(request.user, services.GUARD_DESK_ROLES)
    entrance = parking_entrance = passage = None
    if payload.passage is not None:
        passage = Passage.objects.filter(pk=payload.passage, compound__in=scope.values("pk")).first()
        if passage is None:
            raise Http404
    if payload.entrance is not None:
        entrance = Entrance.objects.filter(pk=payload.entrance, compound__in=scope.values("pk")).first()
        if entrance is None:
            raise Http404
    if payload.parking_entrance is not None:
        parking_entrance = ParkingEntrance.objects.filter(
            pk=payload.parking_entrance, compound__in=scope.values("pk")
        ).first()
        if parking_entrance is None:
            raise Http404
    place = passage or entrance or parking_entrance
    if place is None:
        raise PermissionDenied(_("请指明 entrance、parking_entrance 或 passage。"))
    opened = services.open_barrier(
        request.user,
        place.compound,
        reason=payload.reason,
        entrance=entrance,
        parking_entrance=parking_entrance,
        passage=passage,
        plate=payload.plate,
    )
    return {"id": opened.pk, "opened_at": opened.opened_at.isoformat(), "plate": opened.plate, "reason": opened.reason}
