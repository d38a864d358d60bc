"""Device endpoints: scope, CRUD through the services, validation, filters, query count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anfang.core.models import ChangeRecord
from anfang.devices.models import Device
from tests import factories as f

from .conftest import client_for, fields_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def devices(world):
    return {
        "x_cam": f.DeviceFactory(compound=world["cx"], name="X门口摄像机", serial="SN-X-1"),
        "x_nvr": f.DeviceFactory(compound=world["cx"], name="X录像机", device_type="nvr", serial="SN-X-2"),
        "y_cam": f.DeviceFactory(compound=world["cy"], name="Y摄像机", serial="SN-Y-1"),
    }


def names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {d["name"] for d in response.json()["items"]}


def test_list_is_scoped(devices, as_manager_x, as_admin):
    assert names(as_manager_x.get("/devices/")) == {"X门口摄像机", "X录像机"}
    assert names(as_admin.get("/devices/")) == {"X门口摄像机", "X录像机", "Y摄像机"}
    assert as_manager_x.get(f"/devices/{devices['y_cam'].pk}").status_code == 404


def test_filters_and_pagination(devices, world, as_admin):
    assert names(as_admin.get("/devices/", device_type="nvr")) == {"X录像机"}
    assert names(as_admin.get("/devices/", compound=world["cy"].pk)) == {"Y摄像机"}
    assert names(as_admin.get("/devices/", q="SN-X")) == {"X门口摄像机", "X录像机"}
    assert names(as_admin.get("/devices/", subsystem="perimeter")) == set()
    page = as_admin.get("/devices/", limit=2, offset=2).json()
    assert page["count"] == 3
    assert len(page["items"]) == 1
    assert fields_in(as_admin.get("/devices/", vendor="acme")) == {"vendor"}


def test_create_derives_subsystem_and_records_history(world, as_manager_x):
    body = {"compound": world["cx"].pk, "name": "北门车牌机", "device_type": "anpr_camera", "anpr": True}
    created = as_manager_x.post("/devices/", body)
    assert created.status_code == 201, created.content
    device = created.json()
    assert device["subsystem"] == "video"  # Art 7, from the device type
    assert device["subsystem_label"] == "视频安防监控系统"
    assert device["compound_name"] == "安居花园"
    assert ChangeRecord.objects.filter(object_id=str(device["id"]), action="create").exists()


def test_patch_and_delete(devices, as_manager_x):
    pk = devices["x_cam"].pk
    patched = as_manager_x.patch(f"/devices/{pk}", {"status": "faulty", "mac_address": "aa-bb-cc-dd-ee-ff"})
    assert patched.status_code == 200, patched.content
    assert patched.json()["status"] == "faulty"
    assert patched.json()["mac_address"] == "AA:BB:CC:DD:EE:FF"
    assert as_manager_x.delete(f"/devices/{pk}").status_code == 204
    assert not Device.objects.filter(pk=pk).exists()


def test_officer_reads_but_cannot_write(devices, world, as_officer_a):
    pk = devices["x_cam"].pk
    assert as_officer_a.get(f"/devices/{pk}").status_code == 200
    assert as_officer_a.patch(f"/devices/{pk}", {"status": "faulty"}).status_code == 403
    assert as_officer_a.delete(f"/devices/{pk}").status_code == 403
    body = {"compound": world["cx"].pk, "name": "n", "device_type": "camera"}
    assert as_officer_a.post("/devices/", body).status_code == 403
    assert as_officer_a.get(f"/devices/{devices['y_cam'].pk}").status_code == 404


def test_manager_cannot_move_or_create_devices_outside_scope(devices, world, as_manager_x):
    response = as_manager_x.post("/devices/", {"compound": world["cy"].pk, "name": "n", "device_type": "camera"})
    assert fields_in(response) == {"compound"}
    moved = as_manager_x.patch(f"/devices/{devices['x_cam'].pk}", {"compound": world["cy"].pk})
    assert fields_in(moved) == {"compound"}
    assert as_manager_x.patch(f"/devices/{devices['y_cam'].pk}", {"name": "z"}).status_code == 404


def test_validation_errors_name_fields(devices, world, as_admin):
    base = {"compound": world["cx"].pk, "device_type": "camera"}
    assert fields_in(as_admin.post("/devices/", {**base, "name": "a", "mac_address": "zz"})) == {"mac_address"}
    assert fields_in(as_admin.post("/devices/", {**base, "name": "b", "ip_address": "999.1.1.1"})) == {"ip_address"}
    assert fields_in(as_admin.post("/devices/", {**base, "name": "c", "resolution_width": 1920})) == {
        "resolution_height"
    }
    assert fields_in(as_admin.post("/devices/", {**base, "name": "d", "certificate_kind": "test_report"})) == {
        "certificate_number"
    }
    other_entrance = f.EntranceFactory(compound=world["cy"])
    assert fields_in(as_admin.post("/devices/", {**base, "name": "e", "entrance": other_entrance.pk})) == {"entrance"}
    assert fields_in(as_admin.post("/devices/", {**base, "name": "f", "unit": 999999})) == {"unit"}


def test_unique_clashes_are_422(devices, world, as_admin):
    same_name = as_admin.post("/devices/", {"compound": world["cx"].pk, "name": "X录像机", "device_type": "nvr"})
    assert same_name.status_code == 422
    same_serial = as_admin.post(
        "/devices/",
        {"compound": world["cy"].pk, "name": "新", "device_type": "camera", "vendor": "hikvision", "serial": "SN-X-1"},
    )
    assert same_serial.status_code == 422
    assert "序列号" in same_serial.json()["detail"][0]["msg"]


def test_device_list_query_count_is_fixed(world, admin, django_assert_num_queries):
    client = client_for(admin)
    client.get("/core/me")
    for i in range(5):
        f.DeviceFactory(compound=world["cx"], name=f"cam-{i}")
    with CaptureQueriesContext(connection) as ctx:
        client.get("/devices/", limit=100)
    for i in range(45):
        f.DeviceFactory(compound=world["cy"], name=f"cam-{i}")
    with django_assert_num_queries(len(ctx.captured_queries)):
        response = client.get("/devices/", limit=100)
    assert response.json()["count"] == 50
    assert {d["compound_name"] for d in response.json()["items"]} == {"安居花园", "乐家小区"}
