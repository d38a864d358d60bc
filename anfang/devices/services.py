"""Device writes go through the registry's `save` / `delete` (same checks, same history)."""

from __future__ import annotations

import ipaddress
import secrets
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.utils.translation import gettext as _

from anfang.compounds import services as registry
from anfang.compounds.services import require_edit
from anfang.core.history import record_change
from anfang.core.models import hash_token

from .choices import DEFAULT_SUBSYSTEM
from .models import Device, DeviceCredential


def save_device(actor: Any, device: Device, *, note: str = "", action: str | None = None) -> Device:
    if not device.subsystem and device.device_type in DEFAULT_SUBSYSTEM:
        device.subsystem = DEFAULT_SUBSYSTEM[device.device_type]
    return registry.save(actor, device, note=note, action=action)


def delete_device(actor: Any, device: Device) -> None:
    registry.delete(actor, device)


# --- Device credentials for pushing events (issue 5 §6) -------------------------------------------

# Authenticated devices are remembered briefly so that a device pushing several events a second
# does not cost a database look-up each time; disabling a device takes effect within this time.
CREDENTIAL_CACHE_SECONDS = 30.0
# key → (when looked up, device id or None, allowed source networks of a push path)
_credential_cache: dict[str, tuple[float, int | None, tuple[Any, ...]]] = {}


def issue_device_token(actor: Any, device: Device) -> str:
    """A new bearer token for `device` (the old one stops working). Returns the only plain copy."""
    require_edit(actor, device.compound)
    raw = "afd_" + secrets.token_urlsafe(32)
    cred = DeviceCredential.objects.get_or_create(device=device)[0]
    cred.token_prefix, cred.token_hash, cred.enabled = raw[4:12], hash_token(raw), True
    cred.save()
    record_change(actor, device, "update", compound_id=device.compound_id, note=str(_("更换接入令牌")))
    _credential_cache.clear()
    return raw


def issue_push_path(actor: Any, device: Device, allowed_sources: str) -> str:
    """A new secret path segment for devices that can only push to a URL. `allowed_sources` (IPs or
    networks) is required: a path alone is a weaker secret than a header."""
    require_edit(actor, device.compound)
    networks = parse_sources(allowed_sources)
    if not networks:
        raise ValidationError({"allowed_sources": _("使用密钥路径推送时必须填写允许的来源地址。")})
    raw = secrets.token_urlsafe(24)
    cred = DeviceCredential.objects.get_or_create(device=device)[0]
    cred.path_hash, cred.allowed_sources, cred.enabled = hash_token(raw), ",".join(map(str, networks)), True
    cred.save()
    record_change(actor, device, "update", compound_id=device.compound_id, note=str(_("更换推送密钥路径")))
    _credential_cache.clear()
    return raw


def set_ingest_enabled(actor: Any, device: Device, enabled: bool) -> None:
    require_edit(actor, device.compound)
    DeviceCredential.objects.filter(device=device).update(enabled=enabled)
    record_change(
        actor, device, "update", compound_id=device.compound_id, note=str(_("允许接入") if enabled else _("停止接入"))
    )
    _credential_cache.clear()


def parse_sources(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """'10.0.0.5, 10.1.0.0/24' → networks; raises ValidationError naming the bad entry."""
    networks = []
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValidationError({"allowed_sources": _("“%(item)s”不是 IP 地址或网段。") % {"item": item}}) from exc
    return networks


def _cached_credential(key: str, look_up: Any) -> tuple[Device | None, tuple[Any, ...]]:
    now = time.monotonic()
    hit = _credential_cache.get(key)
    if hit is None or now - hit[0] > CREDENTIAL_CACHE_SECONDS:
        cred = look_up()
        sources = tuple(parse_sources(cred.allowed_sources)) if cred is not None else ()
        hit = (now, cred.device_id if cred is not None else None, sources)
        if len(_credential_cache) > 100_000:
            _credential_cache.clear()
        _credential_cache[key] = hit
    return (_device(hit[1]) if hit[1] is not None else None), hit[2]


_device_cache: dict[int, tuple[float, Device]] = {}


def _device(device_id: int) -> Device | None:
    now = time.monotonic()
    hit = _device_cache.get(device_id)
    if hit is None or now - hit[0] > CREDENTIAL_CACHE_SECONDS:
        device = (
            Device.objects.filter(pk=device_id)
            .only("id", "compound_id", "name", "vendor", "status", "subsystem", "device_type")
            .first()
        )
        if device is None:
            return None
        hit = (now, device)
        _device_cache[device_id] = hit
    return hit[1]


def device_by_token(raw: str) -> Device | None:
    """The enabled device holding this bearer token, or None."""
    if not raw.startswith("afd_"):
        return None
    digest = hash_token(raw)
    return _cached_credential(
        "t:" + digest,
        lambda: (
            DeviceCredential.objects.filter(token_hash=digest, enabled=True)
            .only("device_id", "allowed_sources")
            .first()
        ),
    )[0]


def device_by_push_path(secret: str, remote_addr: str | None) -> Device | None:
    """The enabled device whose secret path this is, if the request comes from one of its addresses.
    The allowed sources are cached with the credential: no database work per push."""
    digest = hash_token(secret)
    device, allowed = _cached_credential(
        "p:" + digest,
        lambda: (
            DeviceCredential.objects.filter(path_hash=digest, enabled=True).only("device_id", "allowed_sources").first()
        ),
    )
    if device is None or remote_addr is None:
        return None
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return None
    return device if any(address in net for net in allowed) else None


HEALTH_UPSERT = """
INSERT INTO devices_devicehealth
    (device_id, last_seen_at, last_event_at, clock_skew_seconds, clock_skew_flagged, events, duplicates, dead_letters)
VALUES (%s, %s, %s, %s, %s, %s, %s, 0)
ON CONFLICT (device_id) DO UPDATE SET
    last_seen_at = excluded.last_seen_at,
    last_event_at = CASE
        WHEN excluded.last_event_at IS NULL THEN devices_devicehealth.last_event_at
        WHEN devices_devicehealth.last_event_at IS NULL
          OR excluded.last_event_at > devices_devicehealth.last_event_at THEN excluded.last_event_at
        ELSE devices_devicehealth.last_event_at END,
    clock_skew_seconds = COALESCE(excluded.clock_skew_seconds, devices_devicehealth.clock_skew_seconds),
    clock_skew_flagged = CASE WHEN excluded.clock_skew_seconds IS NULL
        THEN devices_devicehealth.clock_skew_flagged ELSE excluded.clock_skew_flagged END,
    events = devices_devicehealth.events + excluded.events,
    duplicates = devices_devicehealth.duplicates + excluded.duplicates
"""


def record_health(tallies: dict[int, tuple[Any, int | None, int, int]], now: Any) -> None:
    """Fold per-device counters from the ingest path into DeviceHealth: last seen, clock skew
    (flagged beyond ANFANG_CLOCK_SKEW_SECONDS), events and duplicates. One upsert per device,
    sent as one batch and in device order (so two workers flushing at once cannot deadlock)."""
    limit = settings.ANFANG_CLOCK_SKEW_SECONDS
    # A device deleted since its events were tallied has no health to keep.
    alive = set(Device.objects.filter(pk__in=list(tallies)).values_list("pk", flat=True))
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        (device_id, adapt(now), adapt(last_event_at), skew, skew is not None and abs(skew) > limit, events, duplicates)
        for device_id, (last_event_at, skew, events, duplicates) in sorted(tallies.items())
        if device_id in alive
    ]
    if rows:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(HEALTH_UPSERT, rows)


def set_pull_connection(actor: Any, device: Device, *, url: str, username: str, password: str | None = None) -> None:
    """Where and how the platform logs in to a device to fetch its events (Dahua event stream).
    An empty `url` stops fetching; `password=None` keeps the stored one. The history records that
    the connection changed, never the password."""
    require_edit(actor, device.compound)
    url = (url or "").strip()
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError as exc:
            raise ValidationError({"pull_url": _("事件拉取地址应为 http:// 或 https:// 开头的设备地址。")}) from exc
        if "@" in url.split("//", 1)[1].split("/", 1)[0]:
            raise ValidationError({"pull_url": _("请勿把用户名或密码写在地址里，请分别填写。")})
        if not (username or "").strip():
            raise ValidationError({"pull_username": _("请填写登录设备的用户名。")})
    cred = DeviceCredential.objects.get_or_create(device=device)[0]
    cred.pull_url, cred.pull_username = url, (username or "").strip()[:64]
    if password is not None:
        cred.pull_password = password[:128]
    if not url:
        cred.pull_username = cred.pull_password = ""
    cred.save()
    note = (
        _("设置事件拉取地址 %(url)s（用户 %(user)s）") % {"url": url, "user": cred.pull_username}
        if url
        else _("停止拉取事件")
    )
    record_change(actor, device, "update", compound_id=device.compound_id, note=str(note))
