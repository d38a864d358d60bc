"""Device list, detail and form: filters, scope both ways, place dropdowns, history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from anfang.devices.choices import Subsystem
from anfang.devices.models import Device
from tests import factories as f

pytestmark = pytest.mark.django_db

LIST = reverse("devices:list")


def names_in(response) -> set[str]:
    return {d.name for d in response.context["page"].object_list}


@pytest.fixture
def devices(world):
    entrance = f.EntranceFactory(compound=world["cx"], name="南门")
    return {
        "cam": f.DeviceFactory(compound=world["cx"], name="南门枪机", entrance=entrance),
        "panel": f.DeviceFactory(
            compound=world["cx"], name="报警主机", subsystem=Subsystem.HOUSEHOLD_ALARM, device_type="alarm_host"
        ),
        "y": f.DeviceFactory(compound=world["cy"], name="乐家摄像机"),
    }


def test_list_is_scoped_and_filters(login, manager_x, devices, world):
    client = login(manager_x)
    assert names_in(client.get(LIST)) == {"南门枪机", "报警主机"}
    assert names_in(client.get(LIST, {"subsystem": "household_alarm"})) == {"报警主机"}
    assert names_in(client.get(LIST, {"q": "南门"})) == {"南门枪机"}
    assert names_in(client.get(LIST, {"compound": world["cx"].pk, "vendor": "hikvision"})) == {"南门枪机", "报警主机"}
    bad = client.get(LIST, {"compound": world["cy"].pk, "subsystem": "bogus"})
    assert bad.status_code == 200 and "部分筛选条件无效" in bad.content.decode()
    assert "南门" in client.get(LIST).content.decode()  # the place column


def test_detail_shows_place_certificate_and_history(login, manager_x, devices):
    cam = devices["cam"]
    cam.certificate_kind, cam.certificate_number = "production_approval", "辽公技防准字001"
    from anfang.devices.services import save_device

    save_device(manager_x, cam)
    response = login(manager_x).get(reverse("devices:detail", args=[cam.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "南门" in html and "辽公技防准字001" in html and "第24条" in html
    assert "证书编号" in html and "mgr-x" in html


def test_other_company_device_is_404(login, manager_x, devices, world):
    client = login(manager_x)
    y = devices["y"]
    assert client.get(reverse("devices:detail", args=[y.pk])).status_code == 404
    assert client.get(reverse("devices:edit", args=[y.pk])).status_code == 404
    assert client.post(reverse("devices:delete", args=[y.pk])).status_code == 404
    assert client.get(reverse("devices:create"), {"compound": world["cy"].pk}).status_code == 404


def test_officer_sees_device_but_cannot_edit(login, officer_a, devices, world):
    client = login(officer_a)
    cam = devices["cam"]
    assert client.get(reverse("devices:detail", args=[cam.pk])).status_code == 200
    assert client.get(reverse("devices:edit", args=[cam.pk])).status_code == 403
    assert client.post(reverse("devices:delete", args=[cam.pk])).status_code == 403
    assert client.get(reverse("devices:create"), {"compound": world["cx"].pk}).status_code == 403


def test_create_device_with_place_restricted_to_compound(login, manager_x, devices, world):
    foreign_entrance = f.EntranceFactory(compound=world["cy"], name="乐家北门")
    client = login(manager_x)
    url = reverse("devices:create") + f"?compound={world['cx'].pk}"
    form = client.get(url).context["form"]
    assert [e.name for e in form.fields["entrance"].queryset] == ["南门"]
    base = {"name": "北门球机", "device_type": "camera", "vendor": "dahua", "status": "active"}
    refused = client.post(url, {**base, "entrance": foreign_entrance.pk})
    assert "entrance" in refused.context["form"].errors
    response = client.post(url, {**base, "ip_address": "10.0.0.8"})
    device = Device.objects.get(name="北门球机")
    assert response.status_code == 302 and response["Location"] == device.get_absolute_url()
    assert device.compound == world["cx"]
    assert device.subsystem == Subsystem.VIDEO  # filled from the device type by the service


def test_device_form_errors_and_service_errors(login, manager_x, devices, world):
    url = reverse("devices:create") + f"?compound={world['cx'].pk}"
    client = login(manager_x)
    response = client.post(
        url, {"name": "", "device_type": "camera", "vendor": "other", "status": "active", "mac_address": "zz"}
    )
    assert {"name", "mac_address"} <= set(response.context["form"].errors)
    duplicate = client.post(url, {"name": "南门枪机", "device_type": "camera", "vendor": "other", "status": "active"})
    assert "本小区已有同名设备" in duplicate.content.decode()
    no_subsystem = client.post(url, {"name": "杂项", "device_type": "other", "vendor": "other", "status": "active"})
    assert "subsystem" in no_subsystem.context["form"].errors


def test_new_device_without_compound_offers_editable_compounds(login, manager_x, world):
    response = login(manager_x).get(reverse("devices:create"))
    assert list(response.context["compounds"]) == [world["cx"]]


def test_edit_and_delete_device(login, manager_x, devices):
    cam = devices["cam"]
    client = login(manager_x)
    data = {"name": cam.name, "device_type": "camera", "subsystem": "video", "vendor": "hikvision", "status": "faulty"}
    client.post(reverse("devices:edit", args=[cam.pk]), data)
    cam.refresh_from_db()
    assert cam.status == "faulty"
    response = client.post(reverse("devices:delete", args=[cam.pk]))
    assert response.status_code == 302 and response["Location"].endswith("?tab=devices")
    assert not Device.objects.filter(pk=cam.pk).exists()
