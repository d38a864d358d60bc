"""GA/T 1400 (公安视频图像信息应用系统 / 视图库) payloads for the police uplink (Art 9: 与公安机关
监控平台联网).

Sources (public implementations; the standard text itself was not available):
- FASCKS/upload_ziguang `gb1400/domain/GB1400/MotorVehicleListObject.java` — a full sample body
  ``{"MotorVehicleListObject": {"MotorVehicleObject": [{MotorVehicleID (48), InfoKind, SourceID (41),
  TollgateID, DeviceID (20), StorageUrl1, LaneNo, HasPlate, PlateClass, PlateColor, PlateNo,
  PlateReliability, PassTime "yyyyMMddHHmmss", Direction, SubImageList: {"SubImageInfoObject":
  [{ImageID, EventSort, DeviceID, StoragePath, Type, FileFormat, ShotTime, Width, Height}]}}]}}``;
  `MotorVehicle.java` — the code tables quoted from GA/T 1400.3—2017: PlateClass (号牌种类: 01 大型汽车
  … 32 军队, 99 其他), PlateColor (表 B.6 颜色: 1 黑 2 白 5 蓝 6 黄 9 绿 99 其他), InfoKind (1 自动采集,
  2 人工采集), and the PlateNo rule "全部无法识别的以“无车牌”标识，部分未识别的每个字符以半角‘-’代替";
  `SubImageInfo.java` — SubImageInfoObject Type (01 车辆大图, 02 车牌彩色小图, 14 场景图 …),
  EventSort (12 车辆检测), FileFormat (Jpeg, Png, Other …), Data (base64);
  `util/Global.java` — the identifier rules (GA/T 1400.1 表3/表4): a basic object id (SourceID,
  ImageID, 41 chars) = device code (20, GB/T 28181 Annex D) + sub-type (2, "02" image) + time
  yyyyMMddhhmmss (14) + sequence (5); a semantic object id (MotorVehicleID, 48 chars) = its basic
  object id (41) + sub-type (2, "02" motor vehicle) + sequence (5);
  `web/gb1400/CarService.java` — POST /VIID/MotorVehicles with header `User-Identify` and
  Content-Type `application/VIID+JSON`, reply ResponseStatusListObject.ResponseStatusObject[].StatusCode
  (0 = OK); it also maps the new-energy plate classes 51/52 to the green PlateColor 9.
- A PHP gateway (found by the string "MotorVehicleListObject"; pushToPolice) — registration by
  HTTP digest at /VIID/System/Register with {"RegisterObject": {"DeviceID"}}, keepalive at
  /VIID/System/Keepalive, and deterministic ids from device code + pass time + record number
  (the scheme used here).

Not found in the sources, so not sent (rather than invented): the code table of `Direction`
(行驶方向 — a travel direction; our passages know entry/exit only), `TollgateID` (a police-assigned
卡口 code that compounds do not have), the code table of `ParkingInOutType` (seen in one sample
without its meaning), and the vehicle attributes (VehicleClass, VehicleColor …) our ANPR
passages do not carry. HasPlate is sent as "1"/"0" (samples disagree between "1" and true).

Identifiers are derived only from the passage (device, capture time, id), never from the clock
or a random number, so a resend carries the same MotorVehicleID and the platform can drop it as a
duplicate.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from . import conf

LOCAL = ZoneInfo(settings.TIME_ZONE)

RESOURCE = {"motor_vehicle": "/VIID/MotorVehicles"}
LIST_KEYS = {"motor_vehicle": ("MotorVehicleListObject", "MotorVehicleObject")}
CONTENT_TYPE = "application/VIID+JSON;charset=UTF-8"

SUBTYPE_IMAGE = "02"  # GA/T 1400.1 表3: 01 视频片段, 02 图像, 03 文件
SUBTYPE_MOTOR_VEHICLE = "02"  # GA/T 1400.1 表4: 01 人员, 02 机动车, 03 非机动车 …
# GB/T 28181 device code: centre (8) + industry (2) + type (3) + network (1) + serial (6). Type 119
# as in the samples found; the Annex D type table itself was not found.
INDUSTRY = "00"
DEVICE_TYPE = "119"
NETWORK = "0"
IMAGES_PER_PASSAGE = 5  # the sequence space of one passage's image ids (scene, plate, spare)

NO_PLATE = "无车牌"

# Table B.6 colour codes for plate colours (vehicles.plates colour values, English or zh).
PLATE_COLOR = {
    "black": "1", "黑": "1",
    "white": "2", "白": "2",
    "blue": "5", "蓝": "5",
    "yellow": "6", "黄": "6",
    "green": "9", "绿": "9", "yellow_green": "9", "黄绿": "9", "渐变绿": "9",
}  # fmt: skip
OTHER = "99"

# 号牌种类 by plate series (vehicles.plates PlateSeries values); the ordinary and new-energy
# series split further by plate colour (blue = small, yellow = large).
PLATE_CLASS = {
    "police": "23",
    "coach": "16",
    "trailer": "15",
    "embassy": "03",
    "consulate": "04",
    "military": "32",
    "armed_police": "31",
    "temporary": "22",
}

IMAGE_TYPE = {"scene": "01", "plate": "02"}  # 车辆大图, 车牌彩色小图
FILE_FORMAT = {"image/jpeg": "Jpeg", "image/png": "Png", "image/bmp": "Bmp", "image/gif": "Gif"}
EVENT_SORT_VEHICLE = "12"  # 目标检测与特征提取 · 车辆检测


def pass_time(at: dt.datetime) -> str:
    """yyyyMMddHHmmss in local (Beijing) time."""
    return at.astimezone(LOCAL).strftime("%Y%m%d%H%M%S")


def device_code(device_id: int | None) -> str:
    """The 20-digit GB/T 28181 code of one of our devices (serial = our device id)."""
    centre = str(conf.get("CENTRE_CODE")).zfill(8)[:8]
    return f"{centre}{INDUSTRY}{DEVICE_TYPE}{NETWORK}{(device_id or 0) % 1_000_000:06d}"


def image_id(device: str, at: dt.datetime, object_id: int, index: int = 0) -> str:
    """41-char basic object id of picture `index` of record `object_id`. Stable for a record; two
    records of one device in one second collide only if their ids differ by a multiple of 20 000."""
    seq = (object_id % (100_000 // IMAGES_PER_PASSAGE)) * IMAGES_PER_PASSAGE + index
    return f"{device}{SUBTYPE_IMAGE}{pass_time(at)}{seq:05d}"


def motor_vehicle_id(source_id: str, index: int = 1) -> str:
    """48-char semantic object id: the motor vehicle `index` seen in image `source_id`."""
    return f"{source_id}{SUBTYPE_MOTOR_VEHICLE}{index:05d}"


def plate_color(colour: str) -> str:
    return PLATE_COLOR.get((colour or "").strip().lower(), OTHER)


def plate_class(series: str, colour: str, plate: str) -> str:
    if series in PLATE_CLASS:
        return PLATE_CLASS[series]
    if series == "hk_macau":
        return "27" if plate.endswith("澳") else "26"
    code = plate_color(colour)
    if series == "new_energy":
        return "51" if code == "6" or colour in ("yellow_green", "黄绿") else "52"
    if series == "ordinary" or not series:
        return {"5": "02", "6": "01"}.get(code, OTHER)
    return OTHER


def _plate_no(plate: str) -> str:
    plate = (plate or "").strip()
    if not plate:
        return NO_PLATE
    # Unread characters become a half-width '-' (the standard's rule); cameras send '?', '*' or '_'.
    return re.sub(r"[?*_？＊]", "-", plate)


def _role(ref: dict[str, Any]) -> str:
    role = ref.get("role") or ""
    if role:
        return str(role)
    return "plate" if "plate" in str(ref.get("name", "")).lower() else "scene"


def storage_url(ref: dict[str, Any]) -> str:
    base = str(conf.get("MEDIA_BASE_URL"))
    path = str(ref.get("path", ""))
    return f"{base.rstrip('/')}/{path.lstrip('/')}" if base else path


def sub_images(pictures: list[dict[str, Any]], device: str, at: dt.datetime, object_id: int) -> list[dict[str, Any]]:
    """SubImageInfoObject list: scene picture first (its ImageID is the record's SourceID)."""
    ordered = sorted(pictures or [], key=lambda ref: _role(ref) != "scene")
    images = []
    for index, ref in enumerate(ordered[:IMAGES_PER_PASSAGE]):
        images.append(
            {
                "ImageID": image_id(device, at, object_id, index),
                "EventSort": EVENT_SORT_VEHICLE,
                "DeviceID": device,
                "StoragePath": storage_url(ref),
                "Type": IMAGE_TYPE.get(_role(ref), "100"),
                "FileFormat": FILE_FORMAT.get(str(ref.get("type", "")), "Other"),
                "ShotTime": pass_time(at),
            }
        )
    return images


def motor_vehicle(passage: Any) -> dict[str, Any]:
    """One MotorVehicleObject for a `vehicles.Passage` (fields as in /work/notes/foundation.md).

    The sender wraps a batch of these in ``{"MotorVehicleListObject": {"MotorVehicleObject": [...]}}``."""
    at: dt.datetime = passage.captured_at or passage.received_at
    device = device_code(passage.device_id)
    images = sub_images(list(passage.pictures or []), device, at, passage.pk)
    source_id = images[0]["ImageID"] if images else image_id(device, at, passage.pk)
    plate = (getattr(passage, "confirmed_plate", "") or passage.plate or "").strip()
    colour = passage.plate_colour or ""
    obj: dict[str, Any] = {
        "MotorVehicleID": motor_vehicle_id(source_id),
        "InfoKind": 1,  # 自动采集
        "SourceID": source_id,
        "DeviceID": device,
        "HasPlate": "1" if plate else "0",
        "PlateClass": plate_class(passage.plate_series or "", colour, plate),
        "PlateColor": plate_color(colour),
        "PlateNo": _plate_no(plate),
        "PassTime": pass_time(at),
    }
    scene = next((img for img in images if img["Type"] == IMAGE_TYPE["scene"]), None)
    if scene:
        obj["StorageUrl1"] = scene["StoragePath"]  # 近景照片: required for automatic capture
    lane = str(passage.lane or "").strip()
    if lane.isdigit():
        obj["LaneNo"] = int(lane)
    if passage.confidence is not None:
        obj["PlateReliability"] = str(int(passage.confidence))
    obj["SubImageList"] = {"SubImageInfoObject": images}
    return obj


def media_path(storage_path: str) -> str:
    """The media store path behind a StoragePath written by `storage_url`."""
    base = str(conf.get("MEDIA_BASE_URL")).rstrip("/")
    return storage_path[len(base) + 1 :] if base and storage_path.startswith(base + "/") else storage_path


def inline_images(obj: dict[str, Any], read: Callable[[str], bytes | None]) -> dict[str, Any]:
    """A copy of `obj` whose pictures carry their bytes as base64 `Data` (for platforms that do not
    fetch StoragePath). `read(path)` returns None for a picture no longer stored (retention), which
    is then sent by reference only."""
    images = (obj.get("SubImageList") or {}).get("SubImageInfoObject") or []
    if not images:
        return obj
    filled = []
    for image in images:
        data = read(media_path(str(image.get("StoragePath", ""))))
        filled.append({**image, "Data": base64.b64encode(data).decode()} if data else image)
    return {**obj, "SubImageList": {"SubImageInfoObject": filled}}


def idempotency_key(passage: Any) -> str:
    """The outbox key of a passage's record: one message per passage, whatever replays it."""
    return f"motor_vehicle:{passage.pk}"


def wrap(kind: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The list body of one POST: e.g. {"MotorVehicleListObject": {"MotorVehicleObject": [...]}}."""
    outer, inner = LIST_KEYS[kind]
    return {outer: {inner: objects}}
