"""Device inventory API (`/api/devices/…`, Art 7 subsystems). Reads through `Device.objects.visible_to`,
writes through `anfang.devices.services`."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from anfang.compounds.filters import DeviceFilter
from anfang.core.api import actor, assign, conflict_on_refusal, payload_data, require_editable, visible_or_404
from anfang.core.schemas import Id, PageParams, errors, filter_schema, model_schemas, page_of, paginate

from . import services
from .models import Device

router = Router(tags=["devices"])


class DeviceExtra(Schema):
    compound_name: str
    subsystem_label: str = Field(description="第7条子系统名称")
    device_type_label: str
    status_label: str

    @staticmethod
    def resolve_compound_name(obj: Device) -> str:
        return obj.compound.name

    @staticmethod
    def resolve_subsystem_label(obj: Device) -> str:
        return str(obj.get_subsystem_display())

    @staticmethod
    def resolve_device_type_label(obj: Device) -> str:
        return str(obj.get_device_type_display())

    @staticmethod
    def resolve_status_label(obj: Device) -> str:
        return str(obj.get_status_display())


# The subsystem may be left out: the service derives it from the device type.
DeviceOut, DeviceIn, DevicePatch = model_schemas(Device, optional=("subsystem",), out_base=DeviceExtra)
DeviceFilterQuery = filter_schema(DeviceFilter, Device, "DeviceFilterQuery")


def _rows(request: HttpRequest):
    return Device.objects.visible_to(actor(request)).select_related("compound")


def _editable_device(request: HttpRequest, device_id: int) -> Device:
    device = visible_or_404(_rows(request), pk=device_id)
    require_editable(Device.objects.editable_by(actor(request)), device.pk)
    return device


@router.get("/", response={200: page_of(DeviceOut), **errors()}, summary="设备列表（按权限范围）")
def list_devices(request: HttpRequest, filters: Query[DeviceFilterQuery], page: Query[PageParams]) -> dict:  # type: ignore[valid-type]
    return paginate(DeviceFilter(**payload_data(filters)).apply(_rows(request)), page)


@router.post("/", response={201: DeviceOut, **errors(403)}, summary="登记设备")
def create_device(request: HttpRequest, payload: DeviceIn) -> Status:  # type: ignore[valid-type]
    user = actor(request)
    device = services.save_device(user, assign(user, Device(), payload_data(payload)))
    return Status(201, _rows(request).get(pk=device.pk))


@router.get("/{device_id}", response={200: DeviceOut, **errors(404)}, summary="设备详情")
def get_device(request: HttpRequest, device_id: Id) -> Device:
    return visible_or_404(_rows(request), pk=device_id)


@router.patch("/{device_id}", response={200: DeviceOut, **errors(403, 404)}, summary="修改设备")
def update_device(request: HttpRequest, device_id: Id, payload: DevicePatch) -> Device:  # type: ignore[valid-type]
    user = actor(request)
    device = _editable_device(request, device_id)
    services.save_device(user, assign(user, device, payload_data(payload)))
    return _rows(request).get(pk=device.pk)


@router.delete("/{device_id}", response={204: None, **errors(403, 404, 409)}, summary="删除设备")
def delete_device(request: HttpRequest, device_id: Id) -> Status:
    device = _editable_device(request, device_id)
    conflict_on_refusal(services.delete_device, actor(request), device)
    return Status(204, None)
