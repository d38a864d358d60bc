"""Device writes go through the registry's `save` / `delete` (same checks, same history)."""

from __future__ import annotations

import ipaddress
import secrets
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from anfang.compounds import services as registry
from anfang.compounds.services import require_edit
from anfang.core.history import record_change
from anfang.core.models import hash_token

from .choices import DEFAULT_SUBSYSTEM
from .models import Device, DeviceCredential, DeviceHealth


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
_credential_cache: dict[str, tuple[float, int | None]] = {}


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


def _cached(key: str, look_up: Any) -> Device | None:
    now = time.monotonic()
    hit = _credential_cache.get(key)
    if hit is None or now - hit[0] > CREDENTIAL_CACHE_SECONDS:
        cred = look_up()
        hit = (now, cred.device_id if cred is not None else None)
        if len(_credential_cache) > 100_000:
            _credential_cache.clear()
        _credential_cache[key] = hit
    return _device(hit[1]) if hit[1] is not None else None


_device_cache: dict[int, tuple[float, Device]] = {}


def _device(device_id: int) -> Device | None:
    now = time.monotonic()
    hit = _device_cache.get(device_id)
    if hit is None or now - hit[0] > CREDENTIAL_CACHE_SECONDS:
        device = Device.objects.filter(pk=device_id).only("id", "compound_id", "name", "vendor", "status").first()
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
    return _cached(
        "t:" + digest,
        lambda: DeviceCredential.objects.filter(token_hash=digest, enabled=True).only("device_id").first(),
    )


def device_by_push_path(secret: str, remote_addr: str | None) -> Device | None:
    """The enabled device whose secret path this is, if the request comes from one of its addresses."""
    digest = hash_token(secret)
    device = _cached(
        "p:" + digest, lambda: DeviceCredential.objects.filter(path_hash=digest, enabled=True).only("device_id").first()
    )
    if device is None or remote_addr is None:
        return None
    allowed = _allowed_sources(device.pk)
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return None
    return device if any(address in net for net in allowed) else None


def _allowed_sources(device_id: int) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    text = DeviceCredential.objects.filter(device_id=device_id).values_list("allowed_sources", flat=True).first()
    return parse_sources(text or "")


def record_health(tallies: dict[int, tuple[Any, int | None, int, int]], now: Any) -> None:
    """Fold per-device counters from the ingest path into DeviceHealth: last seen, clock skew
    (flagged beyond ANFANG_CLOCK_SKEW_SECONDS), events and duplicates."""
    limit = settings.ANFANG_CLOCK_SKEW_SECONDS
    existing = DeviceHealth.objects.in_bulk(list(tallies))
    # A device deleted since its events were tallied has no health to keep.
    alive = set(Device.objects.filter(pk__in=list(tallies)).values_list("pk", flat=True))
    create: list[DeviceHealth] = []
    update: list[DeviceHealth] = []
    for device_id, (last_event_at, skew, events, duplicates) in tallies.items():
        if device_id not in alive:
            continue
        health = existing.get(device_id) or DeviceHealth(device_id=device_id)
        health.last_seen_at = now
        if last_event_at is not None:
            health.last_event_at = max(filter(None, [health.last_event_at, last_event_at]))
        if skew is not None:
            health.clock_skew_seconds = skew
            health.clock_skew_flagged = abs(skew) > limit
        health.events += events
        health.duplicates += duplicates
        (update if device_id in existing else create).append(health)
    fields = ["last_seen_at", "last_event_at", "clock_skew_seconds", "clock_skew_flagged", "events", "duplicates"]
    DeviceHealth.objects.bulk_create(create, ignore_conflicts=True)
    DeviceHealth.objects.bulk_update(update, fields, batch_size=500)
