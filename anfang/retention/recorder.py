"""Ask a Hikvision recorder (NVR, or a camera with its own storage) how far back its recordings
reach, per channel, over ISAPI (Art 33(2): 视频图像的存储时间不少于1个月).

- `GET /ISAPI/ContentMgmt/InputProxy/channels` lists an NVR's channels (`InputProxyChannel/id`);
  a camera is channel 1.
- `POST /ISAPI/ContentMgmt/search` with a `CMSearchDescription` for the main-stream track of the
  channel (`<channel>01`) over the last LOOKBACK days, `maxResults` 1: the recorder returns its
  segments oldest first, so the first `searchMatchItem/timeSpan/startTime` is the earliest
  recording kept; `responseStatusStrg` NO MATCHES means none.

Digest authentication with the DeviceCredential's pull login; XML parsed with defusedxml."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from xml.etree.ElementTree import Element

import httpx
from defusedxml.ElementTree import fromstring
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from anfang.devices.choices import DeviceType, Vendor
from anfang.devices.models import Device, DeviceCredential

from .choices import VideoSource
from .services import store_video_reports

LOOKBACK = dt.timedelta(days=400)
TIMEOUT = 10.0
RECORDER_TYPES = (DeviceType.NVR, DeviceType.CAMERA, DeviceType.ANPR_CAMERA)


class RecorderError(Exception):
    pass


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find_all(root: Element, name: str) -> list[Element]:
    return [e for e in root.iter() if _local(e.tag) == name]


def _text(root: Element, name: str) -> str:
    found = _find_all(root, name)
    return (found[0].text or "").strip() if found else ""


def _when(text: str) -> dt.datetime | None:
    """ISAPI times: `2026-10-01T08:00:00Z` (UTC) or with an offset; one without a zone is the
    recorder's local time, taken as Asia/Shanghai."""
    value = parse_datetime(text.strip()) if text else None
    if value is None:
        return None
    return value if timezone.is_aware(value) else timezone.make_aware(value, timezone.get_fixed_timezone(480))


def search_body(track: int, start: dt.datetime, end: dt.datetime) -> str:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<CMSearchDescription version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">'
        f"<searchID>{str(uuid.uuid4()).upper()}</searchID>"
        f"<trackIDList><trackID>{track}</trackID></trackIDList>"
        f"<timeSpanList><timeSpan><startTime>{start.astimezone(dt.UTC):{fmt}}</startTime>"
        f"<endTime>{end.astimezone(dt.UTC):{fmt}}</endTime></timeSpan></timeSpanList>"
        "<maxResults>1</maxResults><searchResultPostion>0</searchResultPostion>"
        "<metadataList><metadataDescriptor>//recordType.meta.std-cgi.com</metadataDescriptor></metadataList>"
        "</CMSearchDescription>"
    )


@dataclass(frozen=True)
class ChannelSpan:
    channel: int
    earliest: dt.datetime | None
    latest: dt.datetime | None
    detail: str = ""


def _parse(response: httpx.Response, what: str) -> Element:
    if response.status_code == 401:
        raise RecorderError(f"{what}: 401 认证失败（用户名或密码错误）")
    if response.status_code >= 400:
        raise RecorderError(f"{what}: HTTP {response.status_code}")
    try:
        return fromstring(response.content)
    except Exception as exc:
        raise RecorderError(f"{what}: 无法解析的 XML（{type(exc).__name__}）") from exc


def channels(client: httpx.Client, device: Device) -> list[int]:
    if device.device_type != DeviceType.NVR:
        return [1]
    root = _parse(client.get("/ISAPI/ContentMgmt/InputProxy/channels"), "InputProxy/channels")
    ids = []
    for item in _find_all(root, "InputProxyChannel"):
        text = next((c.text for c in item if _local(c.tag) == "id"), "")
        if text and text.strip().isdigit():
            ids.append(int(text.strip()))
    return sorted(set(ids))


def earliest(client: httpx.Client, channel: int, now: dt.datetime) -> ChannelSpan:
    response = client.post(
        "/ISAPI/ContentMgmt/search",
        content=search_body(channel * 100 + 1, now - LOOKBACK, now).encode(),
        headers={"Content-Type": "application/xml"},
    )
    root = _parse(response, f"ContentMgmt/search 通道{channel}")
    status = _text(root, "responseStatusStrg").upper()
    items = _find_all(root, "searchMatchItem")
    if not items or status == "NO MATCHES":
        return ChannelSpan(channel, None, None, "录像机无该通道录像")
    start = _when(_text(items[0], "startTime"))
    end = _when(_text(items[0], "endTime"))
    if start is None:
        return ChannelSpan(channel, None, None, "录像机答复缺少 startTime")
    return ChannelSpan(channel, start, end)


def query(device: Device, credential: DeviceCredential, *, now: dt.datetime | None = None) -> list[ChannelSpan]:
    now = now or timezone.now()
    with httpx.Client(
        base_url=credential.pull_url.rstrip("/"),
        auth=httpx.DigestAuth(credential.pull_username, credential.pull_password),
        timeout=TIMEOUT,
    ) as client:
        return [earliest(client, ch, now) for ch in channels(client, device)]


def pull(device_ids: list[int] | None = None, *, now: dt.datetime | None = None) -> dict[int, str]:
    """Query every Hikvision recorder with a pull address and store one report per channel;
    returns {device id: "ok: n channels" | the error}. A recorder that cannot be reached is
    reported, not fatal for the others."""
    credentials = (
        DeviceCredential.objects.select_related("device")
        .filter(enabled=True, device__vendor=Vendor.HIKVISION, device__device_type__in=RECORDER_TYPES)
        .exclude(pull_url="")
    )
    if device_ids is not None:
        credentials = credentials.filter(device_id__in=device_ids)
    outcome: dict[int, str] = {}
    for credential in credentials:
        device = credential.device
        try:
            spans = query(device, credential, now=now)
        except (httpx.HTTPError, RecorderError) as exc:
            outcome[device.pk] = f"error: {exc}"
            continue
        store_video_reports(
            device,
            [{"channel": s.channel, "earliest": s.earliest, "latest": s.latest, "detail": s.detail} for s in spans],
            source=VideoSource.ISAPI,
            now=now,
        )
        outcome[device.pk] = f"ok: {len(spans)}"
    return outcome
