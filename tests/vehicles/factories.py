"""Factories and helpers of the vehicles tests."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from anfang.devices import choices as dc
from anfang.events import choices as ec
from anfang.events.ingest import Incoming, normalise
from anfang.vehicles import choices as c
from anfang.vehicles import models as m
from tests import factories as f

PLATE_PICTURE = {
    "path": "events/aa/plate.jpg",
    "type": "image/jpeg",
    "size": 10,
    "sha256": "a" * 64,
    "name": "licensePlatePicture.jpg",
    "role": "licensePlatePicture",
}
SCENE_PICTURE = {
    "path": "events/bb/scene.jpg",
    "type": "image/jpeg",
    "size": 10,
    "sha256": "b" * 64,
    "name": "detectionPicture.jpg",
    "role": "detectionPicture",
}


def anpr_camera(compound=None, **places):
    return f.DeviceFactory(
        compound=compound or f.CompoundFactory(),
        device_type=dc.DeviceType.ANPR_CAMERA,
        anpr=True,
        **places,
    )


def anpr_event(
    device,
    plate: str = "辽H12345",
    *,
    direction: str = "forward",
    confidence="96",
    media=None,
    seconds_ago: float = 1,
    external_id: str = "",
    **payload,
) -> Incoming:
    now = timezone.now()
    event = Incoming(
        device_id=device.pk,
        compound_id=device.compound_id,
        kind=ec.EventKind.ANPR_PASSAGE,
        occurred_at=now - dt.timedelta(seconds=seconds_ago),
        source=ec.Source.ISAPI,
        external_id=external_id,
        payload={
            "plate": plate,
            "direction": direction,
            "confidence": confidence,
            "plate_color": "blue",
            "lane": "1",
            **payload,
        },
        media=[PLATE_PICTURE, SCENE_PICTURE] if media is None else media,
    )
    return normalise(event, now)


class ResidentVehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ResidentVehicle

    compound = factory.SubFactory(f.CompoundFactory)
    plate = factory.Sequence(lambda n: f"辽H{n % 100000:05d}")
    owner_name = "张三"
    owner_phone = "13800000000"
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))


class VisitorPassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.VisitorPass

    compound = factory.SubFactory(f.CompoundFactory)
    plate = factory.Sequence(lambda n: f"辽B{n % 100000:05d}")
    visitor_name = "李四"
    valid_from = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    valid_to = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(hours=3))
    kind = c.PassKind.SINGLE


class WatchEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.WatchEntry

    compound = factory.SubFactory(f.CompoundFactory)
    plate = "辽H9999A"
    reason = "盗抢车辆"
