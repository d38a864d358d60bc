"""What an approved export contains: exporters registered per kind, and the watermarked file made
from what they return (Art 33(5)).

An app plugs in its own export with `register_exporter(kind, fn)` in its AppConfig.ready();
`fn(request: ExportRequest) -> ExportFile` reads only the request's compounds and date range.
Until an app registers one, generic exporters read `vehicles.Passage` (vehicle data; pictures) and
events' pictures through `apps.get_model`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.utils import timezone

from anfang.core import storage

from . import files
from .choices import ExportFormat, ExportKind

if TYPE_CHECKING:
    from .models import ExportRequest


@dataclass
class ExportFile:
    """Rows for a table (`headers` + `rows`), or pictures as (file name, media ref)."""

    title: str = "export"
    headers: Sequence[str] = ()
    rows: Iterable[Sequence[Any]] = ()
    pictures: Iterable[tuple[str, dict[str, Any]]] = field(default_factory=list)


Exporter = Callable[["ExportRequest"], ExportFile]
EXPORTERS: dict[str, Exporter] = {}
# The most rows / pictures one export may hold: bigger requests are split by date range.
MAX_ROWS = 500_000
MAX_PICTURES = 5_000


def register_exporter(kind: str, fn: Exporter) -> None:
    """Plug in the export of `kind` (an ExportKind value); a later registration replaces an earlier one."""
    if kind not in ExportKind.values:
        raise ValueError(f"unknown export kind {kind!r}")
    EXPORTERS[kind] = fn


def exporter_for(kind: str) -> Exporter | None:
    return EXPORTERS.get(kind) or GENERIC.get(kind)


def day_range(request: ExportRequest) -> tuple[dt.datetime, dt.datetime]:
    """[start of date_from, start of the day after date_to) in the current (Beijing) time zone."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(request.date_from, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(request.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def _passages(request: ExportRequest) -> Any:
    try:
        model = apps.get_model("vehicles", "Passage")
    except LookupError:
        return None
    start, end = day_range(request)
    qs = model.objects.filter(compound_id__in=request.compound_ids, received_at__gte=start, received_at__lt=end)
    plate = str(request.filters.get("plate") or "").strip().upper()
    if plate:
        qs = qs.filter(plate=plate)
    direction = request.filters.get("direction")
    if direction:
        qs = qs.filter(direction=direction)
    return qs.order_by("received_at", "id")


PASSAGE_FIELDS = (
    ("id", "编号"),
    ("compound_id", "小区编号"),
    ("received_at", "接收时间"),
    ("captured_at", "抓拍时间"),
    ("plate", "车牌号"),
    ("confirmed_plate", "确认车牌"),
    ("plate_colour", "车牌颜色"),
    ("plate_series", "号牌种类"),
    ("plate_valid", "车牌有效"),
    ("confidence", "置信度"),
    ("direction", "方向"),
    ("lane", "车道"),
    ("entrance_id", "出入口编号"),
    ("parking_lot_id", "停车场编号"),
    ("device_id", "设备编号"),
    ("decision", "道闸判定"),
    ("decision_reason", "判定原因"),
    ("list_match", "名单匹配"),
)


def passage_rows(request: ExportRequest) -> ExportFile:
    """Vehicle passages (vehicles-interface.md fields) of the request's compounds and days."""
    qs = _passages(request)
    if qs is None:
        return ExportFile(title="过车记录", headers=[label for _, label in PASSAGE_FIELDS])
    names = [name for name, _ in PASSAGE_FIELDS]
    return ExportFile(
        title="过车记录",
        headers=[label for _, label in PASSAGE_FIELDS],
        rows=(list(row) for row in qs.values_list(*names)[:MAX_ROWS].iterator(chunk_size=2000)),
    )


def _stamp(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y%m%d-%H%M%S")


def pictures(request: ExportRequest) -> ExportFile:
    """Passage pictures (plate and scene) and event pictures of the request's compounds and days."""
    found: list[tuple[str, dict[str, Any]]] = []
    qs = _passages(request)
    if qs is not None:
        for pk, plate, received, refs in qs.values_list("id", "plate", "received_at", "pictures")[:MAX_PICTURES]:
            for ref in refs or []:
                if isinstance(ref, dict) and ref.get("path"):
                    ext = str(ref["path"]).rsplit(".", 1)[-1]
                    found.append(
                        (f"passages/{_stamp(received)}-{plate or 'unread'}-{pk}-{ref.get('role', '')}.{ext}", ref)
                    )
    if not request.filters.get("passages_only"):
        from anfang.events.models import Event

        start, end = day_range(request)
        events = Event.objects.filter(
            compound_id__in=request.compound_ids, received_at__gte=start, received_at__lt=end
        ).exclude(media=[])
        for pk, kind, received, refs in events.values_list("id", "kind", "received_at", "media")[:MAX_PICTURES]:
            for i, ref in enumerate(refs or []):
                if isinstance(ref, dict) and ref.get("path") and ref.get("type") in ("image/jpeg", "image/png"):
                    ext = str(ref["path"]).rsplit(".", 1)[-1]
                    found.append((f"events/{_stamp(received)}-{kind}-{pk}-{i}.{ext}", ref))
    return ExportFile(title="图片", pictures=found[:MAX_PICTURES])


RESIDENT_FIELDS = (
    ("compound_id", "小区编号"),
    ("plate", "车牌号"),
    ("plate_colour", "车牌颜色"),
    ("household", "房号"),
    ("owner_name", "车主姓名"),
    ("owner_phone", "车主电话"),
    ("valid_from", "有效期起"),
    ("valid_to", "有效期止"),
)


def resident_vehicles(request: ExportRequest) -> ExportFile:
    """Personal data: the resident vehicle register (owner names and phones) of the compounds."""
    try:
        model = apps.get_model("vehicles", "ResidentVehicle")
    except LookupError:
        return ExportFile(title="住户车辆", headers=[label for _, label in RESIDENT_FIELDS])
    names = [name for name, _ in RESIDENT_FIELDS]
    qs = model.objects.filter(compound_id__in=request.compound_ids).order_by("compound_id", "plate")
    return ExportFile(
        title="住户车辆",
        headers=[label for _, label in RESIDENT_FIELDS],
        rows=(list(row) for row in qs.values_list(*names)[:MAX_ROWS].iterator(chunk_size=2000)),
    )


GENERIC: dict[str, Exporter] = {
    ExportKind.VEHICLE_DATA: passage_rows,
    ExportKind.PICTURES: pictures,
    ExportKind.PERSONAL_DATA: resident_vehicles,
}


@dataclass
class Generated:
    data: bytes
    name: str
    count: int
    missing: list[str] = field(default_factory=list)


def build(request: ExportRequest, watermark: files.Watermark) -> Generated:
    """The watermarked file of an approved request. Pictures missing from the store are listed in
    the ZIP (MISSING.txt) rather than failing the export; a store that is down raises
    StoreUnavailable (try again)."""
    exporter = exporter_for(request.kind)
    if exporter is None:
        raise LookupError(f"no exporter registered for {request.kind}")
    content = exporter(request)
    base = f"anfang-export-{request.pk}-{_stamp(watermark.at)}"
    pictures_given = list(content.pictures)
    if request.kind == ExportKind.PICTURES or pictures_given:
        store = storage.get_store()
        missing: list[str] = []

        def marked() -> Iterable[tuple[str, bytes]]:
            for name, ref in pictures_given:
                try:
                    data = store.read(ref)
                except FileNotFoundError:
                    missing.append(name)
                    continue
                yield name, files.watermark_picture(data, watermark)
            if missing:
                yield "MISSING.txt", ("\n".join(missing) + "\n").encode()

        data, count = files.write_zip(marked(), watermark=watermark)
        return Generated(data, base + ".zip", count - (1 if missing else 0), missing)
    if request.fmt == ExportFormat.CSV:
        data, count = files.write_csv(content.headers, content.rows, watermark=watermark)
        return Generated(data, base + ".csv", count)
    data, count = files.write_xlsx(content.headers, content.rows, title=content.title, watermark=watermark)
    return Generated(data, base + ".xlsx", count)
