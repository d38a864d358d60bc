"""Dahua event stream (issue 5 §3): the multipart stream a Dahua device sends to a client attached
with `GET /cgi-bin/eventManager.cgi?action=attach&codes=[All]&heartbeat=N`, and the mapping of its
event codes onto canonical kinds.

The wire format (Dahua HTTP API, eventManager `attach`; what devices send in practice):

    HTTP/1.1 200 OK
    Content-Type: multipart/x-mixed-replace; boundary=myboundary

    --myboundary
    Content-Type: text/plain
    Content-Length: 39

    Code=VideoMotion;action=Start;index=0

    --myboundary
    Content-Type: text/plain
    Content-Length: 9

    Heartbeat

Newer firmware appends `;data={…}`: pretty-printed JSON over several lines (rule name, object,
direction, plate, card, UTC/LocaleTime). Devices are not consistent about the framing, so the parser
also takes: no blank line between headers and body, `Content-Length:39` without a space, a
Content-Length that is missing or wrong, bare LF line ends, several `Code=` lines in one part, and
stray bytes between parts (kept as a dead letter, never dropped).

`StreamParser` cuts the byte stream into blocks incrementally (a block may arrive in any number of
reads); the connector (`anfang.events.connectors.dahua`) hands each block to `ADAPTER` as one
Payload, so an unusable block becomes a dead letter holding exactly that block, and replaying it
parses the same bytes again."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from anfang.devices.models import Device

from .. import choices as c
from ..ingest import Incoming, Rejected, parse_device_time
from .base import Parsed, Payload, mapped

K = c.EventKind
SOURCE = c.Source.DAHUA
BOUNDARY = "myboundary"
HEARTBEAT = "Heartbeat"

# A part of the event stream is a line of text with at most a few KiB of JSON; anything near this
# size is a broken stream, not an event.
MAX_BLOCK_BYTES = 256 * 1024
MAX_HEADER_LINE = 8 * 1024

# --- Mapping table: Dahua event code → canonical kind -------------------------------------------
# Codes from the Dahua HTTP API event list (eventManager) and what access controllers, door
# stations and ITC cameras send on the same stream. Some codes need the event's data to decide
# (see `_refine`); the kind here is then the one used when the data says nothing.
CODES: dict[str, str] = {
    "VideoMotion": K.MOTION,
    "SmartMotionHuman": K.MOTION,
    "SmartMotionVehicle": K.MOTION,
    "VideoLoss": K.VIDEO_LOSS,
    "VideoBlind": K.TAMPER,
    "CrossLineDetection": K.LINE_CROSSING,
    "CrossRegionDetection": K.PERIMETER_INTRUSION,
    "AlarmLocal": K.ALARM_INPUT,
    "StorageFailure": K.STORAGE_FAULT,
    "StorageNotExist": K.STORAGE_FAULT,
    "StorageLowSpace": K.STORAGE_FAULT,
    "TrafficJunction": K.ANPR_PASSAGE,
    "AccessControl": K.ACCESS_GRANTED,
    "DoorStatus": K.DOOR_OPEN,
    "BreakIn": K.DOOR_FORCED,
    "DoorNotClosed": K.DOOR_HELD,
    "ChassisIntruded": K.TAMPER,
    "CallNoAnswered": K.INTERCOM_CALL,
    "Invite": K.INTERCOM_CALL,
}

# Codes whose `index` counts disks, not video channels / inputs / doors: the index stays in the
# payload, the event has no channel (an NVR's "channel 1" would point at a camera).
NOT_A_CHANNEL = frozenset({"StorageFailure", "StorageNotExist", "StorageLowSpace"})

ACTIONS = {"start": c.EventState.START, "stop": c.EventState.STOP, "pulse": c.EventState.PULSE}

_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,96}")
_ACTION = re.compile(r"[A-Za-z_]{1,32}")
_INDEX = re.compile(r"-?\d{1,9}")
_KEY = re.compile(r";\s*([A-Za-z_][A-Za-z0-9_]{0,31})=")
_VALUE = re.compile(r"[^;\r\n]*")
_EVENT_START = re.compile(r"^Code=", re.MULTILINE)
_HEADER = re.compile(rb"^([A-Za-z0-9][A-Za-z0-9\-]{0,63})[ \t]*:[ \t]*(.*?)[ \t]*\r?\n?$")
_WS = b" \t\r\n"


# --- Stream framing ------------------------------------------------------------------------------


@dataclass(slots=True)
class Block:
    """One part of the stream as received: `raw` is every byte of it (boundary line, headers,
    body) for the dead letter; `problem` is set when the framing itself is broken."""

    raw: bytes
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    problem: Rejected | None = None

    @property
    def is_heartbeat(self) -> bool:
        return self.problem is None and self.body.strip() == HEARTBEAT.encode()

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "text/plain")


def boundary_from(content_type: str | None) -> str:
    """The boundary of `multipart/x-mixed-replace; boundary=myboundary` (quotes and a leading `--`
    that some firmware adds are dropped); Dahua's fixed `myboundary` when none is given."""
    match = re.search(r"boundary\s*=\s*\"?([^\";,\s]+)", content_type or "", re.IGNORECASE)
    boundary = match.group(1) if match else BOUNDARY
    return boundary[2:] if boundary.startswith("--") and len(boundary) > 2 else boundary


_SEEK, _HEADERS, _BODY = "seek", "headers", "body"


class StreamParser:
    """Incremental multipart cutter: `feed` any chunk of the stream, get the blocks it completed;
    `finish` at the end of the connection returns what was left over.

    A block with a Content-Length is delivered as soon as its bytes are in, without waiting for
    the next boundary (a device may send nothing more for minutes). A Content-Length that runs
    past the next boundary is not trusted: the boundary ends the block. Without a Content-Length
    the next boundary ends the block."""

    def __init__(self, boundary: str = BOUNDARY, *, max_block: int = MAX_BLOCK_BYTES) -> None:
        self.delimiter = b"--" + boundary.encode("ascii", "replace")
        self.max_block = max_block
        self.buf = bytearray()
        self.state = _SEEK
        self._reset_block()

    def _reset_block(self) -> None:
        self.head = bytearray()  # boundary line and header lines, verbatim
        self.headers: dict[str, str] = {}
        self.length: int | None = None
        self.dropped = 0  # body bytes beyond max_block: counted, not kept

    # -- public ---------------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Block]:
        self.buf += data
        blocks: list[Block] = []
        steps = {_SEEK: self._seek, _HEADERS: self._read_header, _BODY: self._read_body}
        while steps[self.state](blocks):
            pass
        return blocks

    def finish(self) -> list[Block]:
        """The connection ended. A part still waiting for its boundary is delivered as it is; one
        cut short inside its headers or its Content-Length, and stray bytes, come with a problem."""
        blocks: list[Block] = []
        rest = bytes(self.buf)
        self.buf.clear()
        if self.state == _SEEK:
            if rest.strip(_WS) and not self._is_delimiter_prefix(rest.strip(_WS)):
                blocks.append(self._stray(rest))
        elif self.state == _HEADERS and not self.headers and not rest.strip(_WS):
            pass  # a boundary line opening a part that never came: nothing was sent
        elif self.state == _BODY and (self.length is None or self.length > self.max_block):
            self.buf += rest
            self._deliver(blocks, len(rest), len(rest), by_boundary=True)
        else:
            raw = bytes(self.head) + rest[: self.max_block]
            problem = Rejected(
                c.DeadLetterReason.MALFORMED,
                f"连接结束时块不完整（收到 {len(raw)} 字节）/ stream ended inside a part ({len(raw)} bytes)",
            )
            blocks.append(Block(raw=raw, headers=dict(self.headers), body=rest[: self.max_block], problem=problem))
        self.state = _SEEK
        self._reset_block()
        return blocks

    # -- states: each returns whether it made progress -------------------------------------------

    def _is_delimiter_prefix(self, data: bytes) -> bool:
        return len(data) < len(self.delimiter) and self.delimiter.startswith(data)

    def _stray(self, data: bytes) -> Block:
        return Block(
            raw=bytes(data[: self.max_block]),
            problem=Rejected(
                c.DeadLetterReason.MALFORMED,
                f"分隔符之外的 {len(data)} 字节 / {len(data)} bytes outside any part: {bytes(data[:60])!r}",
            ),
        )

    def _seek(self, blocks: list[Block]) -> bool:
        start = 0
        while start < len(self.buf) and self.buf[start] in _WS:
            start += 1
        if start:
            del self.buf[:start]
        if not self.buf:
            return False
        if not self.buf.startswith(self.delimiter):
            if self._is_delimiter_prefix(bytes(self.buf)):
                return False
            # Bytes that are not a part (a device's stray status line, the tail of a part whose
            # Content-Length fell short): kept as one block up to the next boundary.
            at = self.buf.find(self.delimiter)
            if at < 0:
                if len(self.buf) < self.max_block:
                    return False
                at = len(self.buf) - len(self.delimiter)
            blocks.append(self._stray(bytes(self.buf[:at])))
            del self.buf[:at]
            return True
        end = self.buf.find(b"\n")
        if end < 0:
            if len(self.buf) > MAX_HEADER_LINE:
                blocks.append(self._stray(bytes(self.buf)))
                self.buf.clear()
                return True
            return False
        line = bytes(self.buf[: end + 1])
        del self.buf[: end + 1]
        if line.rstrip(_WS) == self.delimiter + b"--":
            return True  # closing delimiter: the device ends the stream
        self.head += line
        self.state = _HEADERS
        return True

    def _read_header(self, blocks: list[Block]) -> bool:
        end = self.buf.find(b"\n")
        if end < 0:
            if len(self.buf) > MAX_HEADER_LINE:
                self.state = _BODY  # too long for a header line: it is body
                return True
            return False
        line = bytes(self.buf[: end + 1])
        if not line.strip(_WS):
            self.head += line
            del self.buf[: end + 1]
            self.state = _BODY
            return True
        match = None if line.startswith(self.delimiter) else _HEADER.match(line)
        if match is None:
            # Not a header: some firmware sends the body right after Content-Length without the
            # blank line (and a part may have no body at all).
            self.state = _BODY
            return True
        name = match.group(1).decode("ascii").title()
        value = match.group(2).decode("latin-1").replace("\x00", "")[:256]
        self.headers[name] = value
        if name == "Content-Length":
            self.length = int(value) if value.isdigit() and len(value) < 10 else None
        self.head += line
        del self.buf[: end + 1]
        return True

    def _read_body(self, blocks: list[Block]) -> bool:
        at = self.buf.find(self.delimiter)
        if self.length is not None and self.length <= self.max_block:
            if 0 <= at < self.length:
                # The Content-Length runs into the next part: the boundary ends this one.
                self._deliver(blocks, at, at, by_boundary=True)
                return True
            if len(self.buf) < self.length:
                return False
            following = bytes(self.buf[self.length : self.length + len(self.delimiter) + 4])
            after = following.lstrip(_WS)
            line_ended = self.buf[: self.length].endswith(b"\n") or following[:1] in (b"\r", b"\n")
            if not after or self.delimiter.startswith(after[: len(self.delimiter)]) or line_ended:
                # Complete; whatever follows that is not a boundary is stray, kept on its own.
                self._deliver(blocks, self.length, self.length, by_boundary=False)
                return True
            # The Content-Length ends mid-line and text goes on: it fell short of the body, so
            # read on to the boundary instead.
            self.length = None
            return True
        if at >= 0:
            self._deliver(blocks, at, at, by_boundary=True)
            return True
        if len(self.buf) > self.max_block + len(self.delimiter):
            # An oversized part: keep its head, count the rest, keep the last bytes in case they
            # begin the boundary.
            tail = len(self.buf) - len(self.delimiter)
            self.dropped += tail - self.max_block
            del self.buf[self.max_block : tail]
        return False

    def _deliver(self, blocks: list[Block], body_end: int, consumed: int, *, by_boundary: bool) -> None:
        body = bytes(self.buf[:body_end])
        del self.buf[:consumed]
        if by_boundary:
            body = body.rstrip(b"\r\n")  # the line ends before a boundary belong to the framing
        problem = None
        if self.dropped or len(body) > self.max_block:
            size = len(body) + self.dropped
            problem = Rejected(
                c.DeadLetterReason.TOO_LARGE,
                f"块长 {size} 字节，超过上限 {self.max_block} / part of {size} bytes exceeds {self.max_block}",
            )
            body = body[: self.max_block]
        blocks.append(Block(raw=bytes(self.head) + body, headers=dict(self.headers), body=body, problem=problem))
        self._reset_block()
        self.state = _SEEK


def split_stream(data: bytes, boundary: str | None = None) -> list[Block]:
    """All blocks of a captured stream (or of one stored block); a trailing torn block included."""
    if boundary is None:
        first = data.lstrip(_WS).split(b"\n", 1)[0].strip(_WS)
        boundary = first[2:].decode("ascii", "replace") if first.startswith(b"--") and len(first) > 2 else BOUNDARY
    parser = StreamParser(boundary)
    return parser.feed(data) + parser.finish()


# --- Event text ----------------------------------------------------------------------------------


@dataclass(slots=True)
class DahuaEvent:
    """One `Code=…;action=…;index=…[;data=…]` record."""

    code: str
    action: str = ""
    index: int | None = None
    data: Any = None
    data_raw: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def decode_text(body: bytes) -> tuple[str, str]:
    """Body text and its encoding: UTF-8, or GB18030 from firmware for the Chinese market that
    writes rule and door names in the local code page."""
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return body.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise Rejected(c.DeadLetterReason.MALFORMED, f"块不是 UTF-8 或 GB18030 文本 / not text: {exc}") from exc


def split_events(text: str) -> tuple[str, list[str]]:
    """(text before the first `Code=` line, one text per `Code=` record). Several records in one
    part are sent by some access controllers; a record's JSON may span many lines."""
    starts = [m.start() for m in _EVENT_START.finditer(text)]
    if not starts:
        return text, []
    bounds = [*starts, len(text)]
    return text[: starts[0]], [text[a:b] for a, b in itertools.pairwise(bounds)]


def _json_object(text: str) -> tuple[Any, str]:
    """Parse `data=`'s JSON. Returns (value, "") or (None, error); some firmware appends bytes
    after the object, so the balanced object is tried when the whole text is not JSON."""
    try:
        return orjson.loads(text), ""
    except orjson.JSONDecodeError as exc:
        error = str(exc)
    end = _balanced_end(text)
    if end is not None:
        try:
            return orjson.loads(text[:end]), ""
        except orjson.JSONDecodeError:
            pass
    return None, error[:200]


def _balanced_end(text: str) -> int | None:
    depth, in_string, escaped = 0, False, False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
            if depth < 0:
                return None
    return None


def parse_record(text: str) -> DahuaEvent:
    """`Code=CrossLineDetection;action=Start;index=0;data={…}` → DahuaEvent; Rejected(malformed or
    invalid) for what is not such a record. A `data` that is not JSON keeps the event (the code,
    action and channel say what happened) with the raw text in the payload."""
    text = text.strip()
    if not text.startswith("Code="):
        raise Rejected(c.DeadLetterReason.MALFORMED, f"不是 Code= 记录 / not a Code= record: {text[:80]!r}")
    code_match = _VALUE.match(text, 5)
    code = code_match.group(0).strip() if code_match else ""
    if not _CODE.fullmatch(code):
        raise Rejected(c.DeadLetterReason.MALFORMED, f"事件码无效 / invalid event code {code[:80]!r}")
    event = DahuaEvent(code=code)
    pos = code_match.end() if code_match else len(text)
    while pos < len(text):
        key = _KEY.match(text, pos)
        if key is None:
            raise Rejected(c.DeadLetterReason.MALFORMED, f"{code}: 无法解析 / cannot read {text[pos : pos + 80]!r}")
        name = key.group(1)
        if name == "data":
            event.data_raw = text[key.end() :].strip().replace("\x00", "")
            event.data, error = _json_object(event.data_raw)
            if error:
                event.extra["data_error"] = error
            else:
                event.data_raw = ""
            break
        value_match = _VALUE.match(text, key.end())
        value = value_match.group(0).strip() if value_match else ""
        pos = value_match.end() if value_match else len(text)
        if name == "action":
            event.action = value
        elif name == "index":
            if not _INDEX.fullmatch(value) or int(value) < 0:
                raise Rejected(c.DeadLetterReason.INVALID, f"{code}: index 无效 / invalid index {value[:40]!r}")
            event.index = int(value)
        else:
            event.extra[name] = value.replace("\x00", "")[:256]
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
    if not _ACTION.fullmatch(event.action):
        raise Rejected(c.DeadLetterReason.INVALID, f"{code}: action 缺失或无效 / missing action {event.action[:40]!r}")
    return event


# --- Mapping -------------------------------------------------------------------------------------


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str:
    return value.strip().replace("\x00", "")[:128] if isinstance(value, str) else ""


def plate_of(data: Any) -> str:
    """The plate of an ITC/ANPR event wherever the firmware puts it."""
    for path in (("TrafficCar", "PlateNumber"), ("Plate", "Text"), ("Plate", "PlateNumber"), ("PlateNumber",)):
        plate = _text(_get(data, *path))
        if plate:
            return plate
    if str(_get(data, "Object", "ObjectType")).lower() == "plate":
        return _text(_get(data, "Object", "Text"))
    return ""


def _refine(event: DahuaEvent, kind: str) -> str:
    """Codes whose kind depends on their data."""
    data = event.data
    if event.code == "CrossRegionDetection":
        # Dahua's "intrusion" rule reports how the object met the region. An object crossing the
        # edge inwards/outwards is a region entrance/exit (Hikvision regionEntrance/Exiting); an
        # object that appears or stays inside (Action Appear/Inside) is an intrusion proper. Without
        # data (older firmware) the code is what the API calls it, an intrusion event: erring to the
        # alarm side, since a missed intrusion costs more than a false one.
        action = str(_get(data, "Action") or "").lower()
        direction = str(_get(data, "Direction") or "").lower()
        if action == "disappear" or (action == "cross" and direction == "leave"):
            return K.REGION_EXIT
        if action == "cross" and direction == "enter":
            return K.REGION_ENTRANCE
        return K.PERIMETER_INTRUSION
    if event.code == "AccessControl":
        # Status 1 = opened for this person, 0 = refused; ErrorCode ≠ 0 is a refusal reason.
        status, error = _get(data, "Status"), _get(data, "ErrorCode")
        if status is not None and status is not False and str(status) not in ("0", "false"):
            return K.ACCESS_GRANTED if error in (None, 0, "0") else K.ACCESS_DENIED
        if status is not None:
            return K.ACCESS_DENIED
        if error is not None:
            return K.ACCESS_GRANTED if error in (0, "0") else K.ACCESS_DENIED
        return K.UNMAPPED  # an access record with no outcome: kept, not guessed
    if event.code == "DoorStatus":
        status = str(_get(data, "Status") or "").lower()
        return {"open": K.DOOR_OPEN, "close": K.DOOR_CLOSED, "closed": K.DOOR_CLOSED}.get(status, K.UNMAPPED)
    return kind


def _occurred_at(event: DahuaEvent, received_at: dt.datetime) -> tuple[dt.datetime, list[str], str]:
    """Device time from `data`: UTC (+UTCMS) when sent, else LocaleTime (Beijing time assumed),
    else the receive time (old firmware sends no time at all)."""
    utc = _get(event.data, "UTC")
    if isinstance(utc, int | float) and not isinstance(utc, bool) and utc > 0:
        ms = _get(event.data, "UTCMS")
        ms = ms if isinstance(ms, int) and not isinstance(ms, bool) and 0 <= ms < 1000 else 0
        try:
            moment = dt.datetime.fromtimestamp(float(utc), tz=dt.UTC) + dt.timedelta(milliseconds=ms)
        except (OverflowError, OSError, ValueError) as exc:
            raise Rejected(
                c.DeadLetterReason.INVALID, f"{event.code}: UTC 超出范围 / UTC out of range {utc!r}"
            ) from exc
        return moment, [], "device"
    local = _get(event.data, "LocaleTime")
    if isinstance(local, str) and local.strip():
        moment, assumed = parse_device_time(local)
        return moment, [c.Flag.ZONE_ASSUMED] if assumed else [], "device"
    return received_at, [], "received"


def _clean(value: Any, depth: int = 0) -> Any:
    """JSON from a device, made storable: no NUL characters (PostgreSQL text and jsonb refuse them)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {str(k).replace("\x00", ""): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value]
    return value


def to_incoming(event: DahuaEvent, device: Device, received_at: dt.datetime, encoding: str = "utf-8") -> Incoming:
    kind = _refine(event, mapped(CODES, event.code))
    state = ACTIONS.get(event.action.lower(), c.EventState.PULSE)
    occurred_at, flags, time_source = _occurred_at(event, received_at)
    payload: dict[str, Any] = {"index": event.index}
    if event.action.lower() not in ACTIONS:
        payload["action"] = event.action  # e.g. Invite/Hangup of door stations: kept as said
    if event.data is not None:
        payload["data"] = _clean(event.data)
    if event.data_raw:
        payload["data_raw"] = event.data_raw[:4000]
    payload.update(_clean(event.extra))
    if time_source == "received":
        payload["time"] = "received"
    if encoding != "utf-8":
        payload["encoding"] = encoding
    for name, path in (("rule", ("Name",)), ("object", ("Object", "ObjectType")), ("direction", ("Direction",))):
        value = _text(_get(event.data, *path))
        if value:
            payload[name] = value
    if kind == K.ANPR_PASSAGE:
        payload["plate"] = plate_of(event.data)
    if event.code in ("AccessControl", "DoorStatus"):
        for name, key in (
            ("user_id", "UserID"),
            ("card_no", "CardNo"),
            ("method", "Method"),
            ("door_status", "Status"),
        ):
            value = _get(event.data, key)
            if isinstance(value, str | int) and not isinstance(value, bool):
                payload[name] = _clean(value)
    channel = None
    if event.index is not None and event.code not in NOT_A_CHANNEL:
        # Dahua counts channels, alarm inputs and doors from 0; the device's own UI and ISAPI from 1.
        # The event stores the 1-based number people see; the raw index stays in the payload.
        channel = event.index + 1
    return Incoming(
        device_id=device.pk,
        compound_id=device.compound_id,
        kind=kind,
        state=state,
        channel=channel,
        occurred_at=occurred_at,
        received_at=received_at,
        source=SOURCE,
        vendor_code=event.code,
        payload=payload,
        flags=flags,
    )


# --- Adapter -------------------------------------------------------------------------------------


class DahuaAdapter:
    """One payload = one part of the stream (as the connector delivers it, boundary line and
    headers included), or a bare part body, or a captured stream of many parts."""

    source: str = SOURCE

    def parse(self, payload: Payload, device: Device | None) -> Parsed:
        if device is None:
            raise Rejected(
                c.DeadLetterReason.UNKNOWN_DEVICE, "大华事件流必须来自已登记设备 / no device for a Dahua stream"
            )
        data = payload.body
        blocks = split_stream(data) if data.lstrip(_WS).startswith(b"--") else [Block(raw=data, body=data)]
        parsed = Parsed()
        for block in blocks:
            if block.problem is not None:
                parsed.rejects.append((block.problem, block.raw))
                continue
            self._parse_block(block, device, payload.received_at, parsed)
        if parsed.rejects and not parsed.events:
            first = parsed.rejects[0][0]
            if len(parsed.rejects) == 1:
                raise first
            raise Rejected(first.reason, "；".join(r.detail for r, _ in parsed.rejects)[:4000])
        return parsed

    def _parse_block(self, block: Block, device: Device, received_at: dt.datetime, parsed: Parsed) -> None:
        try:
            text, encoding = decode_text(block.body)
        except Rejected as rejected:
            parsed.rejects.append((rejected, block.raw))
            return
        if text.strip() == HEARTBEAT:
            return
        if not text.strip():
            parsed.rejects.append((Rejected(c.DeadLetterReason.MALFORMED, "空块 / empty part"), block.raw))
            return
        before, records = split_events(text)
        if before.strip():
            parsed.rejects.append(
                (
                    Rejected(
                        c.DeadLetterReason.MALFORMED, f"不是 Code= 记录 / not a Code= record: {before.strip()[:80]!r}"
                    ),
                    before.encode(encoding, "replace"),
                )
            )
        for record in records:
            try:
                parsed.events.append(to_incoming(parse_record(record), device, received_at, encoding))
            except Rejected as rejected:
                fragment = block.raw if len(records) == 1 and not before.strip() else record.encode(encoding, "replace")
                parsed.rejects.append((rejected, fragment))


ADAPTER = DahuaAdapter()
