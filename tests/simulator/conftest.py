"""Simulator fixtures: isolated spool/media/token files, and devices of every kind the simulator drives."""

from __future__ import annotations

import itertools

import pytest

from anfang.devices import choices as dc
from anfang.devices import services as device_services
from anfang.events import writer
from tests import factories as f


@pytest.fixture(autouse=True)
def sim_dirs(settings, tmp_path, monkeypatch):
    settings.ANFANG_SPOOL_DIR = tmp_path / "spool"
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("ANFANG_SIMULATOR_TOKENS", str(tmp_path / "tokens.json"))
    device_services._credential_cache.clear()
    device_services._device_cache.clear()
    writer.HEALTH.devices.clear()
    return tmp_path


_HOST = itertools.count(20)


def make_device(compound, device_type: str, vendor: str = dc.Vendor.HIKVISION, **kwargs):
    host = next(_HOST) % 250 + 2
    return f.DeviceFactory(
        compound=compound,
        device_type=device_type,
        subsystem=dc.DEFAULT_SUBSYSTEM.get(device_type, dc.Subsystem.PHYSICAL),
        vendor=vendor,
        ip_address=kwargs.pop("ip_address", f"10.86.1.{host}"),
        mac_address=kwargs.pop("mac_address", f"44:19:B6:01:00:{host:02X}"),
        **kwargs,
    )


@pytest.fixture
def compound(db):
    return f.CompoundFactory()
