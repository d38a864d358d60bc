"""Uploads from handheld patrol readers (巡更棒): the batch of reads (tag id + timestamp + reader id)
a reader stored on the round, read off at the dock. Two formats:

CSV, one read a line: `tag,time[,reader]`. A first line naming the columns (`tag,time,reader`) is
skipped, as are blank lines and lines starting with `#`. A line `clock,<time>` gives the reader's
clock at upload, from which its offset is corrected.

JSON: `{"reader": "<serial or id>", "clock": "<time>", "reads": [{"tag": …, "time": …, "reader": …}, …]}`
or just the list of reads.

Times are ISO 8601 (naive = Asia/Shanghai), `YYYY-MM-DD HH:MM:SS` or POSIX seconds. Each rejected
line is named with its line number (for JSON: the read's number, 1-based) and field. The raw upload is
kept; an upload of the same bytes from the same reader again is recognised by its content hash and
stores nothing (counted once)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import choices as c
from .models import ReaderUpload
from .services import (
    CLOCK_TOLERANCE,
    DUPLICATE,
    MAX_READ_AGE,
    STORED,
    CheckinInput,
    _parse_time,
    _reader_compounds,
    record_checkins,
)

MAX_READS = 50_000
HEADER_WORDS = {"tag", "code", "uid", "标签", "time", "timestamp", "时间"}


@dataclass(frozen=True, slots=True)
class ParsedRead:
    line: int
    tag: str
    device_time: dt.datetime


@dataclass
class ParsedUpload:
    reads: list[ParsedRead] = field(default_factory=list)
    reader_clock: dt.datetime | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, line: int, field_name: str, message: str) -> None:
        self.errors.append({"line": line, "field": field_name, "message": message})


def parse_time(value: object) -> dt.datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(float(value), dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value or "").strip()
    if text.isdigit() and len(text) >= 9:
        return parse_time(int(text))
    moment = _parse_time(text)
    return moment.astimezone(dt.UTC) if moment else None


def _matches_reader(value: str, reader: Any) -> bool:
    return not value or value in {str(reader.pk), reader.serial, reader.name}


def decode(body: bytes | str) -> str:
    if isinstance(body, str):
        return body
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue
    return body.decode("utf-8", errors="replace")


def parse_csv(text: str, reader: Any) -> ParsedUpload:
    parsed = ParsedUpload()
    # Line by line, so that a line number is the physical line whatever quoting a reader gets wrong.
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            row = next(csv.reader([line]), [])
        except csv.Error as exc:
            parsed.reject(number, "line", _("CSV 格式错误：%(error)s") % {"error": exc})
            continue
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() in HEADER_WORDS:
            continue
        if cells[0].lower() == "clock":
            clock = parse_time(cells[1]) if len(cells) > 1 else None
            if clock is None:
                parsed.reject(number, "clock", _("巡更棒时钟格式错误。"))
            else:
                parsed.reader_clock = clock
            continue
        _one(parsed, number, cells[0], cells[1] if len(cells) > 1 else "", cells[2] if len(cells) > 2 else "", reader)
    return parsed


def parse_json(text: str, reader: Any) -> ParsedUpload:
    parsed = ParsedUpload()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        parsed.reject(exc.lineno, "body", _("JSON 格式错误：%(error)s") % {"error": exc.msg})
        return parsed
    if isinstance(data, dict):
        if not _matches_reader(str(data.get("reader") or ""), reader):
            parsed.reject(0, "reader", _("上传中的巡更棒编号与所选巡更棒不符。"))
            return parsed
        if data.get("clock") not in (None, ""):
            parsed.reader_clock = parse_time(data["clock"])
            if parsed.reader_clock is None:
                parsed.reject(0, "clock", _("巡更棒时钟格式错误。"))
        reads = data.get("reads")
    else:
        reads = data
    if not isinstance(reads, list):
        parsed.reject(0, "reads", _("缺少签到记录列表 reads。"))
        return parsed
    for number, item in enumerate(reads, start=1):
        if not isinstance(item, dict):
            parsed.reject(number, f"reads.{number}", _("每条记录须为一个对象。"))
            continue
        tag = item.get("tag", item.get("code", ""))
        when = item.get("time", item.get("timestamp", ""))
        _one(parsed, number, str(tag or ""), when, str(item.get("reader") or ""), reader)
    return parsed


def _one(parsed: ParsedUpload, number: int, tag: str, when: object, reader_ref: str, reader: Any) -> None:
    tag = tag.strip()
    if not tag:
        parsed.reject(number, "tag", _("缺少标签编号。"))
    elif len(tag) > 128:
        parsed.reject(number, "tag", _("标签编号过长（最多 128 个字符）。"))
    elif (moment := parse_time(when)) is None:
        parsed.reject(number, "time", _("时间“%(value)s”格式错误。") % {"value": str(when)[:40]})
    elif not _matches_reader(reader_ref.strip(), reader):
        parsed.reject(number, "reader", _("巡更棒编号“%(value)s”与所选巡更棒不符。") % {"value": reader_ref[:40]})
    else:
        parsed.reads.append(ParsedRead(number, tag, moment))


def parse(body: bytes | str, content_type: str, reader: Any) -> ParsedUpload:
    text = decode(body)
    kind = "json" if "json" in content_type or text.lstrip()[:1] in ("{", "[") else "csv"
    return parse_json(text, reader) if kind == "json" else parse_csv(text, reader)


@dataclass
class UploadResult:
    upload: ReaderUpload
    replayed: bool = False

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.upload.errors


def content_hash(reader: Any, body: bytes | str) -> str:
    data = body.encode() if isinstance(body, str) else body
    return hashlib.sha256(f"{reader.pk}:".encode() + data).hexdigest()


def ingest_upload(
    reader: Any,
    body: bytes | str,
    *,
    content_type: str = "",
    user: Any = None,
    received_at: dt.datetime | None = None,
    clock_offset_seconds: int | None = None,
) -> UploadResult:
    """Parse and record one reader upload. The reader's clock offset comes from the offset given,
    else from its reported clock against our receipt time. Reads older than 30 days or later than
    now are rejected by line; the others are recorded (flagged as needed)."""
    received_at = received_at or timezone.now()
    digest = content_hash(reader, body)
    existing = ReaderUpload.objects.filter(content_hash=digest).first()
    if existing is not None:
        return UploadResult(existing, replayed=True)
    parsed = parse(body, content_type, reader)
    if len(parsed.reads) > MAX_READS:
        parsed.reads = parsed.reads[:MAX_READS]
        parsed.reject(0, "body", _("单次上传最多 %(n)s 条记录，其余未处理。") % {"n": MAX_READS})
    if clock_offset_seconds is not None:
        offset = dt.timedelta(seconds=clock_offset_seconds)
    elif parsed.reader_clock is not None and abs(received_at - parsed.reader_clock) > CLOCK_TOLERANCE:
        offset = received_at - parsed.reader_clock
    else:
        offset = dt.timedelta(0)
    reads = []
    for read in parsed.reads:
        at = read.device_time + offset
        if at > received_at + CLOCK_TOLERANCE:
            parsed.reject(read.line, "time", _("时间晚于当前时间（巡更棒时钟可能有误）。"))
        elif received_at - at > MAX_READ_AGE:
            parsed.reject(read.line, "time", _("时间早于 30 天前，不予接收。"))
        else:
            reads.append(read)
    parsed.errors.sort(key=lambda e: e["line"])
    text = decode(body)
    with transaction.atomic():
        try:
            with transaction.atomic():
                upload = ReaderUpload.objects.create(
                    reader=reader,
                    compound_id=reader.compound_id,
                    uploaded_by=user if getattr(user, "is_authenticated", False) else None,
                    received_at=received_at,
                    content_type="json" if text.lstrip()[:1] in ("{", "[") else "csv",
                    content_hash=digest,
                    raw=text,
                    reader_clock=parsed.reader_clock,
                    clock_offset_seconds=int(offset.total_seconds()),
                    read_count=len(parsed.reads),
                    rejected_count=len(parsed.errors),
                    errors=parsed.errors,
                )
        except IntegrityError:
            # The same bytes arrived concurrently and the other request won.
            return UploadResult(ReaderUpload.objects.get(content_hash=digest), replayed=True)
        results = record_checkins(
            [CheckinInput(code=r.tag, device_time=r.device_time) for r in reads],
            source=c.Source.READER,
            compound_ids=_reader_compounds(reader.compound_id),
            reader=reader,
            received_at=received_at,
            clock_offset=offset,
            upload_id=upload.pk,
        )
        upload.accepted_count = sum(r.status == STORED for r in results)
        upload.duplicate_count = sum(r.status == DUPLICATE for r in results)
        upload.unknown_count = sum(r.status == STORED and c.CheckinFlag.UNKNOWN_TAG in r.flags for r in results)
        upload.save(update_fields=["accepted_count", "duplicate_count", "unknown_count"])
    return UploadResult(upload)
