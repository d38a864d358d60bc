"""Device writes go through the registry's `save` / `delete` (same checks, same history)."""

from __future__ import annotations

from typing import Any

from anfang.compounds import services as registry

from .choices import DEFAULT_SUBSYSTEM
from .models import Device


def save_device(actor: Any, device: Device, *, note: str = "", action: str | None = None) -> Device:
    if not device.subsystem and device.device_type in DEFAULT_SUBSYSTEM:
        device.subsystem = DEFAULT_SUBSYSTEM[device.device_type]
    return registry.save(actor, device, note=note, action=action)


def delete_device(actor: Any, device: Device) -> None:
    registry.delete(actor, device)
