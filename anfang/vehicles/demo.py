"""Demo vehicles (make demo): residents' cars, visitor passes and a watch entry for each compound
with ANPR cameras, and a few passages through the real event path (writer + ANPR hook), with
pictures, a low-confidence read waiting for the guard and a visitor who stayed too long.
Idempotent: what exists is kept."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils import timezone

from anfang.compounds.models import Compound, Unit
from anfang.devices.models import Device
from anfang.events import writer
from anfang.events.choices import EventKind, Source
from anfang.events.ingest import Incoming, normalise
from anfang.events.media import save_picture

from . import choices as c
from .models import Passage, ResidentVehicle, VisitorPass, WatchEntry

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超"]
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _plate(rng: random.Random) -> str:
    if rng.random() < 0.2:  # new energy
        return "辽H" + rng.choice("DF") + "".join(rng.choice("0123456789") for _ in range(5))
    return "辽H" + rng.choice(LETTERS) + "".join(rng.choice("0123456789") for _ in range(4))


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")


def _pictures(colour: tuple[int, int, int]) -> list[dict[str, Any]]:
    from anfang.simulator.isapi import picture

    return [
        save_picture(picture(240, 80, (20, 60, 170)), name="licensePlatePicture.jpg"),
        save_picture(picture(960, 540, colour), name="detectionPicture.jpg"),
    ]


def _anpr(camera: Device, plate: str, at: dt.datetime, *, confidence: int, direction: str, n: int) -> Incoming:
    event = Incoming(
        device_id=camera.pk,
        compound_id=camera.compound_id,
        kind=EventKind.ANPR_PASSAGE,
        occurred_at=at,
        source=Source.ISAPI,
        external_id=f"demo-anpr-{camera.pk}-{n}",
        payload={
            "plate": plate,
            "plate_color": "green" if len(plate) == 8 else "blue",
            "direction": direction,
            "confidence": str(confidence),
            "lane": "1",
        },
        media=_pictures((90 + n * 7 % 60, 90, 100)),
    )
    return normalise(event, at + dt.timedelta(seconds=1))


def seed(compounds: list[Compound], users: dict[str, Any]) -> None:
    operator = users.get("operator") or users.get("admin")
    police = users.get("police-station") or users.get("admin")
    now = timezone.now()
    for compound in compounds:
        cameras = list(Device.objects.filter(compound=compound, anpr=True).order_by("pk"))
        if not cameras:
            continue
        rng = random.Random(compound.pk)
        units = list(Unit.objects.filter(compound=compound).order_by("pk")[:20])
        residents = []
        for i in range(12):
            plate = _plate(rng)
            vehicle, _created = ResidentVehicle.objects.get_or_create(
                compound=compound,
                plate=plate,
                defaults={
                    "owner_name": _name(rng),
                    "owner_phone": f"139{rng.randrange(10**8):08d}",
                    "unit": units[i % len(units)] if units else None,
                    "household": f"{rng.randint(1, 6)}0{rng.randint(1, 4)}",
                    "valid_from": timezone.localdate() - dt.timedelta(days=365),
                    "plate_colour": c.PlateColour.GREEN if len(plate) == 8 else c.PlateColour.BLUE,
                },
            )
            residents.append(vehicle.plate)
        visitor_plates = [_plate(rng) for _ in range(3)]
        windows = [
            (now - dt.timedelta(hours=1), now + dt.timedelta(hours=4), c.PassKind.SINGLE),
            (now - dt.timedelta(days=1), now + dt.timedelta(days=2), c.PassKind.MULTIPLE),
            (now - dt.timedelta(hours=6), now - dt.timedelta(hours=2), c.PassKind.SINGLE),  # will overstay
        ]
        for i, (plate, (start, end, kind)) in enumerate(zip(visitor_plates, windows, strict=True)):
            entered = now - dt.timedelta(minutes=200) if i == 2 else None
            VisitorPass.objects.get_or_create(
                compound=compound,
                plate=plate,
                defaults={
                    "visitor_name": _name(rng),
                    "issued_by": c.PassIssuer.RESIDENT,
                    "host_name": _name(rng),
                    "host_unit": units[0] if units else None,
                    "valid_from": start,
                    "valid_to": end,
                    "kind": kind,
                    "created_by": operator,
                    # the overstaying visitor came in while the pass was valid
                    "uses": 1 if entered else 0,
                    "first_entry_at": entered,
                    "last_entry_at": entered,
                },
            )
        watched = "辽H" + rng.choice(LETTERS) + "9" + "".join(rng.choice("0123456789") for _ in range(3))
        WatchEntry.objects.get_or_create(
            compound=compound,
            plate=watched,
            defaults={
                "reason": "协查：盗抢车辆",
                "added_by": police,
                "added_by_name": "派出所",
                "notify_station": True,
            },
        )
        if Passage.objects.filter(compound=compound).exists():
            continue
        camera = next((d for d in cameras if d.entrance_id), cameras[0])
        moves: list[tuple[str, str, int, int]] = [  # plate, direction, confidence, minutes ago
            (residents[0], "forward", 97, 300),
            (residents[1], "forward", 95, 240),
            (visitor_plates[2], "forward", 96, 200),  # the overstaying visitor, in before the window ended
            (residents[0], "reverse", 96, 180),
            (_plate(rng), "forward", 93, 90),  # unknown car
            (visitor_plates[1], "forward", 94, 45),
            (residents[2], "forward", 62, 12),  # low confidence: the guard confirms it
            ("辽H" + "8B" + "0O1", "forward", 48, 5),  # a misread the guard corrects
            (visitor_plates[0], "forward", 91, 2),
        ]
        events = [
            _anpr(camera, plate, now - dt.timedelta(minutes=ago), confidence=conf, direction=way, n=i)
            for i, (plate, way, conf, ago) in enumerate(moves)
        ]
        writer.write(events)
