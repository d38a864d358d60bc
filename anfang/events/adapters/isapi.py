"""Hikvision ISAPI push ("HTTP listening" / alarm host, issue 5 §2 and §10).

What a Hikvision device POSTs to a listening host:
- `EventNotificationAlert` XML as the whole body (application/xml or text/xml), in the namespace
  `http://www.hikvision.com/ver20/XMLSchema`, `http://www.isapi.org/ver20/XMLSchema` or (heartbeat
  examples) `http://www.isapi.com/ver20/XMLSchema` — the namespace varies by firmware, so elements
  are matched by local name;
- `multipart/form-data`: the XML part (ANPR: `name="anpr.xml"`; smart events: named after the event
  type) followed by JPEG parts (`licensePlatePicture.jpg`, `detectionPicture.jpg`, …);
- access controllers and face terminals: the same alert in JSON, with an `AccessControllerEvent`
  object carrying `majorEventType` / `subEventType`, as the body or as a multipart part
  (`event_log`) followed by a `Picture` part.

Sources followed (field names, codes and the heartbeat rule):
- Hikvision Device Network SDK developer guides V6.1.x (Person Arming, Thermal, Traffic, Behavior
  Analysis, Card-Based Access Control), messages XML_EventNotificationAlert_AlarmEventInfo,
  XML_EventNotificationAlert_HeartbeatInfo, XML_EventNotificationAlert_ANPR,
  JSON_EventNotificationAlert_Alarm/EventInfo and "Access Control Event Types";
- Hikvision ISAPI developer guide, "Event Messages Parsing" (multipart part headers);
- the event-type names used by pyHik (mezz64/pyHik constants.SENSOR_MAP) and captured payloads of
  DS-2CD cameras (linedetection multipart) and a DS-TCG405-E ANPR camera.

The adapter never writes events; it may store pictures (content-addressed, idempotent), because an
event references its pictures. Everything it cannot use is raised or returned as `Rejected`.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import orjson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring
from django.utils.http import parse_header_parameters

from anfang.devices.choices import Subsystem
from anfang.devices.models import Device

from .. import choices as c
from .. import media
from ..ingest import Incoming, Rejected, parse_device_time
from .base import Parsed, Payload, mapped

log = logging.getLogger(__name__)

K = c.EventKind
R = c.DeadLetterReason
START, STOP, PULSE = c.EventState.START, c.EventState.STOP, c.EventState.PULSE

# --- Mapping tables ---------------------------------------------------------------------------

# eventType (lower-cased: firmwares differ in case, "VMD"/"vmd", "IO"/"io") → canonical kind.
EVENT_TYPES: dict[str, str] = {
    "vmd": K.MOTION,  # motion detection
    "pir": K.MOTION,  # passive-infrared alarm on cameras that have one
    "videoloss": K.VIDEO_LOSS,  # but see HEARTBEAT below
    "tamperdetection": K.TAMPER,  # video tampering
    "shelteralarm": K.TAMPER,  # lens covered (遮挡报警)
    "linedetection": K.LINE_CROSSING,  # 越界侦测
    # fielddetection is Hikvision's "intrusion detection" (区域入侵侦测: a target stays inside the
    # drawn region for the set time). It is the rule installers draw along walls and fences, so it
    # is a perimeter intrusion; regionEntrance (merely entering a region) stays region_entrance.
    "fielddetection": K.PERIMETER_INTRUSION,
    "regionentrance": K.REGION_ENTRANCE,
    "regionexiting": K.REGION_EXIT,
    # Alarm input (IO): an alarm input of a device in the perimeter subsystem (alarm host, fence,
    # beam detector wired into an NVR registered as perimeter) is a perimeter intrusion; any other
    # input stays alarm_input — see PERIMETER_INPUT.
    "io": K.ALARM_INPUT,
    "anpr": K.ANPR_PASSAGE,
    "diskfull": K.STORAGE_FAULT,
    "diskerror": K.STORAGE_FAULT,
    "illaccess": K.ILLEGAL_ACCESS,  # repeated failed logins
    "heartbeat": K.HEARTBEAT,  # newer firmwares: eventType heartBeat
}

# (majorEventType, subEventType) → (kind, state), from "Access Control Event Types"
# (MAJOR_ALARM 0x1, MAJOR_EXCEPTION 0x2, MAJOR_OPERATION 0x3, MAJOR_EVENT 0x5).
_GRANTED = (K.ACCESS_GRANTED, PULSE)
_DENIED = (K.ACCESS_DENIED, PULSE)
ACCESS_CODES: dict[tuple[int, int], tuple[str, str]] = {
    # MAJOR_ALARM
    (0x1, 0x400): (K.ALARM_INPUT, START),  # zone short circuit
    (0x1, 0x401): (K.ALARM_INPUT, START),  # zone broken circuit
    (0x1, 0x402): (K.ALARM_INPUT, START),  # zone exception
    (0x1, 0x403): (K.ALARM_INPUT, STOP),  # zone restored
    (0x1, 0x404): (K.TAMPER, START),  # controller tampered (HOST_DESMANTLE_ALARM)
    (0x1, 0x405): (K.TAMPER, STOP),
    (0x1, 0x406): (K.TAMPER, START),  # card reader tampered
    (0x1, 0x407): (K.TAMPER, STOP),
    (0x1, 0x408): (K.ALARM_INPUT, START),  # alarm input triggered (CASE_SENSOR_ALARM)
    (0x1, 0x409): (K.ALARM_INPUT, STOP),
    (0x1, 0x40D): (K.STORAGE_FAULT, PULSE),  # SD card full
    (0x1, 0x40F): (K.TAMPER, START),  # secure door control unit tampered
    (0x1, 0x410): (K.TAMPER, STOP),
    # MAJOR_EVENT: the door itself (door contact), not the lock relay (0x15/0x16 stay unmapped)
    (0x5, 0x19): (K.DOOR_OPEN, PULSE),  # DOOR_OPEN_NORMAL
    (0x5, 0x1A): (K.DOOR_CLOSED, PULSE),  # DOOR_CLOSE_NORMAL
    (0x5, 0x1B): (K.DOOR_FORCED, PULSE),  # DOOR_OPEN_ABNORMAL
    (0x5, 0x1C): (K.DOOR_HELD, PULSE),  # DOOR_OPEN_TIMEOUT
    (0x5, 0x87): (K.DOOR_FORCED, PULSE),  # FORCE_ACCESS (turnstile pushed through)
    (0x5, 0x25): (K.INTERCOM_CALL, PULSE),  # DOORBELL_RINGING
    (0x5, 0x83): (K.HEARTBEAT, PULSE),  # HEART_BEAT
    # MAJOR_EVENT: authentication results
    **dict.fromkeys(
        [(0x5, m) for m in (0x01, 0x02, 0x10, 0x26, 0x28, 0x2B, 0x2E, 0x36, 0x39, 0x3C, 0x3F, 0x42, 0x45, 0x48)],
        _GRANTED,
    ),
    **dict.fromkeys([(0x5, m) for m in (0x4B, 0x4D, 0x65, 0x69, 0x99)], _GRANTED),
    **dict.fromkeys(
        [(0x5, m) for m in (0x03, 0x04, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x27, 0x29, 0x2A, 0x2C, 0x2D, 0x2F, 0x30, 0x31)],
        _DENIED,
    ),
    **dict.fromkeys(
        [(0x5, m) for m in (0x37, 0x38, 0x3A, 0x3B, 0x3D, 0x3E, 0x40, 0x41, 0x43, 0x44, 0x46, 0x47, 0x49, 0x4A)],
        _DENIED,
    ),
    **dict.fromkeys(
        [(0x5, m) for m in (0x4C, 0x4E, 0x4F, 0x50, 0x66, 0x67, 0x70, 0x71, 0x97, 0x98, 0x9A, 0x9B)], _DENIED
    ),
}

# Kinds that are one-off occurrences whatever eventState says (a plate read, a login failure).
PULSE_KINDS = frozenset({K.ANPR_PASSAGE, K.HEARTBEAT, K.ILLEGAL_ACCESS})
# Devices of these subsystems raise perimeter intrusions on their alarm inputs (Art. 7, 周界电子防护).
PERIMETER_INPUT = frozenset({Subsystem.PERIMETER})

ACCESS_EVENT = "accesscontrollerevent"
XML_TYPES = frozenset({"application/xml", "text/xml"})
JSON_TYPES = frozenset({"application/json", "text/json"})
MAX_XML_DEPTH = 32
MAX_RAW_FIELDS_BYTES = 16 * 1024
PICTURE_SUFFIXES = (".jpg", ".jpeg", ".png")

# --- Payload shapes -----------------------------------------------------------------------------


@dataclass(slots=True)
class Part:
    """One part of a multipart body."""

    name: str
    filename: str
    content_type: str
    data: bytes
    complete: bool = True

    @property
    def label(self) -> str:
        return self.filename or self.name or "?"


@dataclass(slots=True)
class Document:
    """An event part (XML or JSON) and where it came from, for error messages."""

    fmt: str  # "xml" | "json"
    data: bytes
    where: str = ""


def _header(headers: dict[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def _local(tag: Any) -> str:
    tag = tag if isinstance(tag, str) else ""
    return tag.rsplit("}", 1)[-1]


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, "", [], {}):
        target[key] = value


# --- XML and JSON -------------------------------------------------------------------------------

_ENCODING_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"'][^>]*\?>")


_EXTERNAL_ENTITY = re.compile(rb"<!ENTITY\s+%?\s*[^\s>]+\s+(SYSTEM|PUBLIC)\b")


def _refused_dtd(data: bytes, where: str, exc: Exception) -> Rejected:
    """Devices never send a DTD; one in a push is the carrier of an XML attack. Say which."""
    if _EXTERNAL_ENTITY.search(data):
        what = "外部实体（XXE）/ external entity"
    elif b"<!ENTITY" in data:
        what = "实体声明（实体扩展攻击）/ entity expansion"
    else:
        what = "文档类型定义（DTD，可引用外部资源）/ DTD"
    return Rejected(R.MALFORMED, f"{where}XML 含{what}，已拒绝（defusedxml: {type(exc).__name__}）")


def _defused(data: bytes | str) -> Element:
    return defused_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)


def _parse_xml_root(data: bytes, where: str) -> Element:
    try:
        return _defused(data)
    except DefusedXmlException as exc:  # DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
        raise _refused_dtd(data, where, exc) from exc
    except ParseError as exc:
        if "unknown encoding" in str(exc):
            return _parse_transcoded(data, where)
        raise Rejected(R.MALFORMED, f"{where}XML 格式错误 / not well-formed: {exc}") from exc
    except (LookupError, ValueError) as exc:  # pyexpat: unknown or multi-byte encoding
        if "encoding" not in str(exc):
            raise
        return _parse_transcoded(data, where)


def _parse_transcoded(data: bytes, where: str) -> Element:
    """Expat reads UTF-8/16 and Latin-1 only; some firmwares declare GB2312/GBK. Decode with the
    declared codec and parse the text instead."""
    match = _ENCODING_DECL.match(data)
    name = match.group(1).decode("ascii") if match else ""
    try:
        codec = codecs.lookup(name)
    except LookupError as exc:
        raise Rejected(R.MALFORMED, f"{where}XML 声明的编码 {name!r} 未知 / unknown encoding") from exc
    try:
        text = data[match.end() if match else 0 :].decode(codec.name)
    except UnicodeDecodeError as exc:
        raise Rejected(
            R.MALFORMED, f"{where}XML 内容不是有效的 {name} 编码（第 {exc.start} 字节）/ bytes do not match encoding"
        ) from exc
    try:
        return _defused(text)
    except DefusedXmlException as exc:
        raise _refused_dtd(data, where, exc) from exc
    except ParseError as exc:
        raise Rejected(R.MALFORMED, f"{where}XML 格式错误 / not well-formed: {exc}") from exc


def _element_dict(element: Element, depth: int = 0) -> Any:
    """Element → nested dict by local name (repeated names become lists); leaves → text."""
    if depth > MAX_XML_DEPTH:
        raise Rejected(R.MALFORMED, f"XML 嵌套超过 {MAX_XML_DEPTH} 层 / nesting too deep")
    children = list(element)
    if not children:
        return (element.text or "").strip()
    out: dict[str, Any] = {}
    for child in children:
        key = _local(child.tag)
        value = _element_dict(child, depth + 1)
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return out


def _xml_alert(data: bytes, where: str) -> dict[str, Any]:
    if not data.strip():
        raise Rejected(R.MALFORMED, f"{where}XML 为空 / empty body")
    root = _parse_xml_root(data, where)
    if _local(root.tag) != "EventNotificationAlert":
        raise Rejected(
            R.INVALID, f"{where}根元素为 {_local(root.tag)[:64]!r}，应为 EventNotificationAlert / unexpected root"
        )
    alert = _element_dict(root)
    return alert if isinstance(alert, dict) else {}


def _json_alert(data: bytes, where: str) -> dict[str, Any]:
    if not data.strip():
        raise Rejected(R.MALFORMED, f"{where}JSON 为空 / empty body")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise Rejected(R.MALFORMED, f"{where}JSON 无法解析 / not valid JSON: {exc}") from exc
    if b"\\u0000" in data:  # no database text column can hold NUL
        raise Rejected(R.INVALID, f"{where}JSON 含 NUL 字符（\\u0000）/ NUL characters are not accepted")
    if isinstance(value, dict) and set(value) == {"EventNotificationAlert"}:
        value = value["EventNotificationAlert"]  # the alert-stream wrapping
    if not isinstance(value, dict):
        raise Rejected(R.INVALID, f"{where}JSON 顶层应为 EventNotificationAlert 对象 / expected an object")
    return value


# --- Multipart ----------------------------------------------------------------------------------

_HEADER_LINE = re.compile(rb"^[A-Za-z0-9-]{1,64}:")


def _split_part(chunk: bytes, complete: bool) -> Part:
    headers: dict[str, str] = {}
    pos = 0
    while pos < len(chunk):
        end = chunk.find(b"\n", pos)
        line = chunk[pos : end if end >= 0 else len(chunk)].rstrip(b"\r")
        if not line:
            pos = end + 1 if end >= 0 else len(chunk)
            break  # the blank line ending the headers
        if not _HEADER_LINE.match(line) or end < 0:
            break  # a device that leaves the blank line out: content starts here
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
        pos = end + 1
    data = chunk[pos:]
    _, disposition = parse_header_parameters(headers.get("content-disposition", "form-data"))
    content_type = parse_header_parameters(headers.get("content-type", ""))[0]
    declared = headers.get("content-length", "")
    if declared.isdigit() and len(data) < int(declared):
        complete = False
    return Part(disposition.get("name", ""), disposition.get("filename", ""), content_type, data, complete)


def split_multipart(body: bytes, boundary: str) -> list[Part]:
    """The parts of a multipart body. A part with no closing delimiter is returned as incomplete."""
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    start = body.find(delimiter)
    if start < 0 and boundary.startswith("--"):
        delimiter = boundary.encode("latin-1", "replace")  # firmwares that put the dashes in the parameter
        start = body.find(delimiter)
    if start < 0:
        raise Rejected(R.MALFORMED, "multipart 正文中找不到分隔符（boundary）/ boundary not found")
    parts: list[Part] = []
    pos = start + len(delimiter)
    while not body.startswith(b"--", pos):
        line_end = body.find(b"\n", pos)
        if line_end < 0:
            break
        begin = line_end + 1
        following = body.find(b"\n" + delimiter, begin)
        complete = following >= 0
        chunk = body[begin : following if complete else len(body)]
        if complete and chunk.endswith(b"\r"):
            chunk = chunk[:-1]
        parts.append(_split_part(chunk, complete))
        if not complete:
            break
        pos = following + 1 + len(delimiter)
    return parts


def _kind_of_part(part: Part) -> str:
    label = (part.filename or part.name).lower()
    if "xml" in part.content_type or label.endswith(".xml"):
        return "xml"
    if "json" in part.content_type or label.endswith(".json") or part.name == "event_log":
        return "json"
    if part.content_type.startswith("image/") or label.endswith(PICTURE_SUFFIXES):
        return "picture"
    head = part.data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "xml"
    if head.startswith(b"{"):
        return "json"
    return "picture"  # whatever it is, it is kept: a non-image becomes a bad_media dead letter


# --- One alert → one event ----------------------------------------------------------------------


def _int(value: Any, path: str, where: str) -> int | None:
    text = _text(value)
    if not text:
        return None
    try:
        number = int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError as exc:
        raise Rejected(R.INVALID, f"{where}{path} 不是整数：{text[:32]!r} / not an integer") from exc
    if not -(2**31) <= number <= 2**53:
        raise Rejected(R.INVALID, f"{where}{path} 超出范围：{text[:32]!r} / out of range")
    return number


def _channel(value: Any, path: str, where: str) -> int | None:
    number = _int(value, path, where)
    if number is not None and not 0 <= number <= 65535:
        raise Rejected(R.INVALID, f"{where}{path} 超出范围 0–65535：{number}")
    return number


def _external_id(value: str) -> str:
    value = value.strip()
    if len(value) > 128:
        return "sha1:" + hashlib.sha1(value.encode()).hexdigest()  # an id, not a secret
    return value


def _regions(alert: dict[str, Any]) -> list[dict[str, str]]:
    regions = []
    region_list = alert.get("DetectionRegionList")
    entries = region_list.get("DetectionRegionEntry") if isinstance(region_list, dict) else region_list
    for entry in _as_list(entries):
        if isinstance(entry, dict) and isinstance(entry.get("DetectionRegionEntry"), dict):
            entry = entry["DetectionRegionEntry"]  # the JSON form wraps each entry
        if isinstance(entry, dict):
            region: dict[str, str] = {}
            _put(region, "region", _text(entry.get("regionID")))
            _put(region, "target", _text(entry.get("detectionTarget") or entry.get("targetType")))
            if region:
                regions.append(region)
    return regions


def _anpr(alert: dict[str, Any], payload: dict[str, Any], where: str) -> None:
    anpr = alert.get("ANPR")
    if not isinstance(anpr, dict):
        raise Rejected(R.INVALID, f"{where}EventNotificationAlert/ANPR 缺失 / missing")
    plate = _text(anpr.get("licensePlate"))
    if not plate:
        raise Rejected(R.INVALID, f"{where}EventNotificationAlert/ANPR/licensePlate 缺失 / missing")
    payload["plate"] = plate[:32]
    for key, field in (
        ("plate_type", "plateType"),
        ("plate_color", "plateColor"),
        ("direction", "direction"),
        ("confidence", "confidenceLevel"),
        ("country", "country"),
        ("lane", "line"),
        ("vehicle_type", "vehicleType"),
        ("list_type", "listType"),
    ):
        _put(payload, key, _text(anpr.get(field))[:64])


def _picture_roles(alert: dict[str, Any]) -> dict[str, str]:
    """fileName → type from ANPR/pictureInfoList (licensePlatePicture, detectionPicture, …)."""
    roles: dict[str, str] = {}
    anpr = alert.get("ANPR")
    info_list = anpr.get("pictureInfoList") if isinstance(anpr, dict) else None
    infos = info_list.get("pictureInfo") if isinstance(info_list, dict) else None
    for info in _as_list(infos):
        if isinstance(info, dict) and _text(info.get("fileName")):
            roles[_text(info.get("fileName"))] = _text(info.get("type"))
    return roles


def _access(alert: dict[str, Any], where: str) -> tuple[str, str, str, int | None, str, dict[str, Any]]:
    """kind, state, vendor code, channel, external id, payload of an AccessControllerEvent."""
    ace = alert.get("AccessControllerEvent")
    if not isinstance(ace, dict):
        raise Rejected(R.INVALID, f"{where}EventNotificationAlert/AccessControllerEvent 缺失 / missing")
    path = "EventNotificationAlert/AccessControllerEvent/"
    major = _int(ace.get("majorEventType"), path + "majorEventType", where)
    minor = _int(ace.get("subEventType"), path + "subEventType", where)
    if major is None or minor is None:
        missing = "majorEventType" if major is None else "subEventType"
        raise Rejected(R.INVALID, f"{where}{path}{missing} 缺失 / missing")
    kind, state = ACCESS_CODES.get((major, minor), (K.UNMAPPED, PULSE))
    channel = None
    for field in ("doorNo", "cardReaderNo", "alarmInNo"):
        number = _channel(ace.get(field), path + field, where)
        if number:
            channel = number
            break
    payload: dict[str, Any] = {"major": major, "minor": minor, "minor_hex": hex(minor)}
    for key, field in (
        ("card_no", "cardNo"),
        ("card_type", "cardType"),
        ("employee_no", "employeeNoString"),
        ("name", "name"),
        ("user_type", "userType"),
        ("verify_mode", "currentVerifyMode"),
        ("door", "doorNo"),
        ("card_reader", "cardReaderNo"),
        ("alarm_input", "alarmInNo"),
        ("serial_no", "serialNo"),
        ("device_name", "deviceName"),
    ):
        _put(payload, key, _text(ace.get(field))[:64])
    if "employee_no" not in payload:
        _put(payload, "employee_no", _text(ace.get("employeeNo"))[:64])
    serial = _text(ace.get("serialNo"))
    # serialNo counts per device; with the device's timestamp it survives a counter reset.
    external_id = _external_id(f"acs:{serial}:{_text(alert.get('dateTime'))}") if serial else ""
    return kind, state, f"AccessControllerEvent/{major}/{minor}", channel, external_id, payload


def alert_event(alert: dict[str, Any], device: Device, where: str = "") -> Incoming:
    """One EventNotificationAlert (XML converted to a dict, or JSON) → one canonical event.
    Raises Rejected(invalid) naming the element that is missing or wrong."""
    root = "EventNotificationAlert/"
    event_type = _text(alert.get("eventType"))
    if not event_type:
        raise Rejected(R.INVALID, f"{where}{root}eventType 缺失 / missing")
    date_text = _text(alert.get("dateTime"))
    if not date_text:
        raise Rejected(R.INVALID, f"{where}{root}dateTime 缺失 / missing")
    try:
        occurred_at, zone_assumed = parse_device_time(date_text)
        occurred_at.timestamp()  # raises OverflowError for dates a database cannot hold
    except Rejected as exc:
        raise Rejected(R.INVALID, f"{where}{root}dateTime: {exc.detail}") from exc
    except (OverflowError, ValueError) as exc:
        raise Rejected(R.INVALID, f"{where}{root}dateTime 超出可表示范围：{date_text[:64]!r}") from exc
    if not 1970 <= occurred_at.year <= 2200:
        raise Rejected(R.INVALID, f"{where}{root}dateTime 不可能的年份 {occurred_at.year} / impossible timestamp")

    code = event_type.lower()
    raw_state = _text(alert.get("eventState")).lower()
    post_count = _int(alert.get("activePostCount"), root + "activePostCount", where)
    channel_field = "channelID" if _text(alert.get("channelID")) else "dynChannelID"
    channel = _channel(alert.get(channel_field), root + channel_field, where)
    external_id = _external_id(_text(alert.get("UUID") or alert.get("uuid")))
    payload: dict[str, Any] = {}
    _put(payload, "description", _text(alert.get("eventDescription"))[:128])
    _put(payload, "active_post_count", post_count)
    _put(payload, "device_ip", _text(alert.get("ipAddress"))[:64])
    _put(payload, "mac", _text(alert.get("macAddress"))[:32])
    _put(payload, "channel_name", _text(alert.get("channelName"))[:64])

    vendor_code = event_type[:96]
    state = ""
    if code == ACCESS_EVENT:
        kind, state, vendor_code, access_channel, access_id, details = _access(alert, where)
        channel = access_channel if access_channel is not None else channel
        external_id = external_id or access_id
        payload.update(details)
    elif code == "videoloss" and raw_state == "inactive" and not post_count:
        # The documented heartbeat: "eventType for heartbeat is videoloss, eventState inactive"
        # (activePostCount 0). A real video loss ending counts from 1.
        kind = K.HEARTBEAT
    else:
        kind = mapped(EVENT_TYPES, code)
        if code == "io":
            port = _channel(alert.get("inputIOPortID"), root + "inputIOPortID", where)
            channel = port if port is not None else channel
            _put(payload, "input_port", port)
            if device.subsystem in PERIMETER_INPUT:
                kind = K.PERIMETER_INTRUSION
        elif kind == K.ANPR_PASSAGE:
            _anpr(alert, payload, where)
        _put(payload, "regions", _regions(alert))
        if kind == K.UNMAPPED:
            _keep_raw(alert, payload)

    if not state:
        state = _state(kind, raw_state, where)
    return Incoming(
        device_id=device.pk,
        compound_id=device.compound_id,
        kind=kind,
        occurred_at=occurred_at,
        source=c.Source.ISAPI,
        state=state,
        channel=channel,
        external_id=external_id,
        vendor_code=vendor_code,
        payload=payload,
        flags=[c.Flag.ZONE_ASSUMED] if zone_assumed else [],
    )


def _state(kind: str, raw_state: str, where: str) -> str:
    if kind in PULSE_KINDS:
        return PULSE
    if raw_state == "active" or (not raw_state and kind != K.UNMAPPED):
        return START
    if raw_state == "inactive":
        return STOP
    if kind == K.UNMAPPED:
        return PULSE  # nothing is known about it; keep it as it came
    raise Rejected(
        R.INVALID,
        f"{where}EventNotificationAlert/eventState 取值 {raw_state[:32]!r} 无效，应为 active 或 inactive",
    )


def _keep_raw(alert: dict[str, Any], payload: dict[str, Any]) -> None:
    """An unmapped event keeps every field the device sent, so a mapping can be added later."""
    raw = orjson.dumps(alert, option=orjson.OPT_NON_STR_KEYS)
    if len(raw) <= MAX_RAW_FIELDS_BYTES:
        payload["fields"] = orjson.loads(raw)
    else:
        payload["fields_omitted_bytes"] = len(raw)


# --- The adapter --------------------------------------------------------------------------------


class IsapiAdapter:
    source: str = c.Source.ISAPI

    def parse(self, payload: Payload, device: Device | None) -> Parsed:
        if device is None:
            raise Rejected(R.UNKNOWN_DEVICE, "ISAPI 推送必须来自已认证的设备 / device required")
        try:
            return self._parse(payload, device)
        except (Rejected, OSError):
            raise  # OSError: the media store failed — the device must retry (503)
        except Exception as exc:
            # A parser bug must not lose the payload: keep it as a dead letter to replay after the fix.
            log.exception("ISAPI adapter failed on a payload from device %s", device.pk)
            raise Rejected(R.MALFORMED, f"ISAPI 解析器内部错误 / parser error: {type(exc).__name__}") from exc

    def _parse(self, payload: Payload, device: Device) -> Parsed:
        full_type = _header(payload.headers, "Content-Type") or payload.content_type
        mime, params = parse_header_parameters(full_type or "")
        mime = mime.lower()
        pictures: list[tuple[int, Part]] = []
        if not payload.body.strip():
            raise Rejected(R.MALFORMED, "正文为空 / empty body")
        if mime in XML_TYPES or mime.endswith("+xml"):
            documents = [Document("xml", payload.body)]
        elif mime in JSON_TYPES or mime.endswith("+json"):
            documents = [Document("json", payload.body)]
        elif mime.startswith("multipart/"):
            boundary = params.get("boundary", "")
            if not boundary:
                raise Rejected(R.MALFORMED, "multipart 缺少 boundary 参数 / no boundary in Content-Type")
            documents, pictures = self._split(payload.body, boundary)
        else:
            raise Rejected(
                R.BAD_CONTENT_TYPE,
                f"内容类型 {(mime or '（空）')[:64]!r} 不受支持；ISAPI 推送应为 application/xml、"
                "application/json 或 multipart/form-data",
            )
        return self._events(documents, pictures, device)

    @staticmethod
    def _split(body: bytes, boundary: str) -> tuple[list[Document], list[tuple[int, Part]]]:
        documents: list[Document] = []
        pictures: list[tuple[int, Part]] = []  # (index of the event part before it, part)
        for part in split_multipart(body, boundary):
            kind = _kind_of_part(part)
            if kind == "picture":
                pictures.append((max(len(documents) - 1, 0), part))
            else:
                documents.append(Document(kind, part.data, f"部分 {part.label[:64]!r}: "))
        if not documents:
            raise Rejected(R.INVALID, "multipart 中没有 EventNotificationAlert 部分（XML 或 JSON）/ no event part")
        return documents, pictures

    def _events(self, documents: list[Document], pictures: list[tuple[int, Part]], device: Device) -> Parsed:
        parsed = Parsed()
        made: list[tuple[Incoming, dict[str, str]] | None] = []
        for document in documents:
            try:
                alert = (_xml_alert if document.fmt == "xml" else _json_alert)(document.data, document.where)
                made.append((alert_event(alert, device, document.where), _picture_roles(alert)))
            except Rejected as rejected:
                if len(documents) == 1:
                    raise  # the whole payload is the dead letter (pictures included, replayable)
                parsed.rejects.append((rejected, document.data))
                made.append(None)
        if not any(made):
            raise parsed.rejects[0][0]
        for index, part in pictures:
            # A picture belongs to the event part before it; when that one failed, to the first event.
            target = made[index] if index < len(made) and made[index] else next(m for m in made if m)
            assert target is not None
            self._attach(target[0], part, target[1], parsed)
        parsed.events = [m[0] for m in made if m]
        return parsed

    @staticmethod
    def _attach(event: Incoming, part: Part, roles: dict[str, str], parsed: Parsed) -> None:
        name = part.filename or part.name
        try:
            if not part.complete:
                raise Rejected(R.BAD_MEDIA, f"图片 {name[:64]!r} 不完整（缺少结束分隔符或短于 Content-Length）")
            ref = media.save_picture(part.data, name=name)
        except Rejected as rejected:
            # The event is still stored; the picture is kept as its own dead letter.
            event.payload.setdefault("media_errors", []).append(
                {"name": name[:64], "reason": str(rejected.reason), "detail": rejected.detail[:256]}
            )
            parsed.rejects.append((rejected, part.data))
            return
        ref["role"] = roles.get(name) or name.rsplit(".", 1)[0][:64]
        event.media.append(ref)


ADAPTER = IsapiAdapter()
