"""Device credentials (issue 5 §6): tokens and secret push paths, stored hashed, checked both ways."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from anfang.core.choices import Role
from anfang.devices import services as ds
from anfang.devices.models import DeviceCredential
from tests import factories as f


def test_token_is_stored_hashed_and_identifies_its_device(camera):
    raw = ds.issue_device_token(None, camera)
    cred = DeviceCredential.objects.get(device=camera)
    assert raw.startswith("afd_") and raw not in (cred.token_hash or "") and cred.token_prefix == raw[4:12]
    assert ds.device_by_token(raw) == camera
    assert ds.device_by_token(raw + "x") is None and ds.device_by_token("afg_" + raw[4:]) is None


def test_rotating_the_token_retires_the_old_one(camera):
    old = ds.issue_device_token(None, camera)
    new = ds.issue_device_token(None, camera)
    assert ds.device_by_token(old) is None and ds.device_by_token(new) == camera


def test_disabled_device_is_refused(camera):
    raw = ds.issue_device_token(None, camera)
    ds.set_ingest_enabled(None, camera, False)
    assert ds.device_by_token(raw) is None
    ds.set_ingest_enabled(None, camera, True)
    assert ds.device_by_token(raw) == camera


def test_push_path_needs_sources_and_checks_the_address(camera):
    with pytest.raises(ValidationError) as err:
        ds.issue_push_path(None, camera, "")
    assert "allowed_sources" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        ds.issue_push_path(None, camera, "10.0.0.0/24, not-an-ip")
    assert "not-an-ip" in str(err.value.message_dict["allowed_sources"])
    secret = ds.issue_push_path(None, camera, "10.0.0.0/24, 192.168.1.7")
    assert ds.device_by_push_path(secret, "10.0.0.99") == camera
    assert ds.device_by_push_path(secret, "192.168.1.7") == camera
    assert ds.device_by_push_path(secret, "192.168.1.8") is None
    assert ds.device_by_push_path(secret, None) is None
    assert ds.device_by_push_path("wrong", "10.0.0.99") is None


def test_only_registry_editors_issue_credentials(world):
    device = f.DeviceFactory(compound=world["cx"])
    manager = f.user_with(Role.PROPERTY_MANAGER, world["company_x"])
    outsider = f.user_with(Role.PROPERTY_MANAGER, world["company_y"])
    assert ds.issue_device_token(manager, device).startswith("afd_")
    with pytest.raises(PermissionDenied):
        ds.issue_device_token(outsider, device)
    with pytest.raises(PermissionDenied):
        ds.set_ingest_enabled(outsider, device, False)
