"""Plate search API (`/api/vehicles/search/`), the same search as the page (vehicles.search): scoped
to the caller's jurisdiction or compounds, a purpose required, every call audited (Art 33(5))."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import ValidationError as NinjaValidationError

from anfang.core.schemas import Id, Text, errors

from . import search as s

router = Router(tags=["vehicles"])


class SearchParams(Schema):
    q: Annotated[str, Field(max_length=32, description="车牌号或其一部分")]
    mode: s.Mode = Field(s.Mode.CONTAINS, description="exact / prefix / contains / wildcard / fuzzy")
    purpose: Text = Field(..., description="查询事由（必填，第33条第5款），记入访问审计日志")
    since: dt.datetime | None = Field(None, description="接收时间起（默认结束时间前7天）")
    until: dt.datetime | None = Field(None, description="接收时间止（默认现在）；时间范围最多90天")
    compound: list[Id] = Field(default_factory=list, description="小区编号，可重复；不填则为全部可查小区")
    direction: str = Field("", description="in / out / unknown；不填为全部")
    any_province: bool = Field(False, description="模糊查询时忽略省份简称")
    before: str | None = Field(None, description="翻页游标：更早的一页")
    after: str | None = Field(None, description="翻页游标：更新的一页")


class PictureOut(Schema):
    role: str
    url: str


class PassageHit(Schema):
    id: int
    compound_id: int
    compound: str
    place: str
    received_at: dt.datetime
    captured_at: dt.datetime
    plate: str
    plate_raw: str
    plate_valid: bool
    plate_series: str
    plate_colour: str
    confirmed_plate: str
    confidence: int | None
    direction: str
    lane: str
    pictures: list[PictureOut]
    detail_url: str


class SearchOut(Schema):
    term: str = Field(description="规范化后的查询条件")
    count: int = Field(description="符合条件的记录数（最多计到10,000）")
    capped: bool
    audit_seq: int = Field(description="本次查询的审计记录序号")
    older: str | None = Field(description="下一页（更早）游标")
    newer: str | None = Field(description="上一页（更新）游标")
    items: list[PassageHit]


class _CursorRequest:
    """keyset_page reads its cursors from request.GET; the API takes them as typed parameters."""

    def __init__(self, request: HttpRequest, before: str | None, after: str | None) -> None:
        self._request = request
        self.GET = {k: v for k, v in (("before", before), ("after", after)) if v}

    def __getattr__(self, name: str):
        return getattr(self._request, name)


@router.get("/", response={200: SearchOut, **errors(403)}, summary="按车牌查询过车记录")
def search_passages(request: HttpRequest, params: Query[SearchParams]):
    query = s.PlateQuery(
        text=params.q,
        mode=params.mode,
        since=params.since,
        until=params.until,
        compounds=tuple(params.compound),
        direction=params.direction,
        any_province=params.any_province,
    )
    try:
        result = s.search(_CursorRequest(request, params.before, params.after), query, params.purpose)  # type: ignore[arg-type]
    except ValidationError as exc:
        # The search names its fields as the query parameters do (q, since, purpose, …).
        raise NinjaValidationError(
            [
                {"loc": ["query", name], "msg": msg, "type": "invalid"}
                for name, msgs in exc.message_dict.items()
                for msg in msgs
            ]
        ) from exc
    items = [
        {
            "id": p.pk,
            "compound_id": p.compound_id,
            "compound": p.compound_obj.name if p.compound_obj else "",
            "place": p.place_obj.name if p.place_obj else "",
            "received_at": p.received_at,
            "captured_at": p.captured_at,
            "plate": p.plate,
            "plate_raw": p.plate_raw,
            "plate_valid": p.plate_valid,
            "plate_series": p.plate_series,
            "plate_colour": p.plate_colour,
            "confirmed_plate": p.confirmed_plate,
            "confidence": p.confidence,
            "direction": p.direction,
            "lane": p.lane,
            "pictures": [
                {"role": pic["role"], "url": request.build_absolute_uri(pic["url"])} for pic in p.picture_links
            ],
            "detail_url": p.detail_url,
        }
        for p in result.rows
    ]
    page = result.page
    return {
        "term": result.term,
        "count": page.total,
        "capped": page.capped,
        "audit_seq": result.audit_seq,
        "older": page.older,
        "newer": page.newer,
        "items": items,
    }
