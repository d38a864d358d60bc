"""Demo retention data (make demo): video retention reports for every recorder (NVR, else the
cameras), one channel short of the 1-month floor so the page and Art 33(2) show a failure, and a
legal hold placed by the police station on its first compound. Idempotent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from anfang.compounds.models import Compound
from anfang.devices.choices import DeviceType
from anfang.devices.models import Device

from . import services
from .choices import VideoSource
from .models import LegalHold, VideoRetentionReport


def seed(compounds: list[Compound], users: dict[str, Any]) -> None:
    now = timezone.now()
    for index, compound in enumerate(compounds):
        if VideoRetentionReport.objects.filter(compound=compound).exists():
            continue
        devices = Device.objects.filter(compound=compound)
        recorders = list(devices.filter(device_type=DeviceType.NVR)[:2]) or list(
            devices.filter(device_type=DeviceType.CAMERA)[:4]
        )
        for n, recorder in enumerate(recorders):
            channels = 4 if recorder.device_type == DeviceType.NVR else 1
            # Most hold 32–45 days; the second compound's last recorder only 21 (a too-small disk).
            days = 21 if index == 1 and n == len(recorders) - 1 else 32 + (index * 3 + n) % 14
            services.store_video_reports(
                recorder,
                [
                    {"channel": ch, "earliest": now - dt.timedelta(days=days + ch % 2, hours=3), "latest": now}
                    for ch in range(1, channels + 1)
                ],
                source=VideoSource.ISAPI if n % 2 == 0 else VideoSource.API,
                now=now,
            )
    police = users.get("police-station")
    if police is None or LegalHold.objects.filter(case_number="营公(建)刑字〔2026〕118号").exists():
        return
    compound = services.hold_compounds(police).order_by("pk").first()
    if compound is not None:
        services.place_hold(
            police,
            case_number="营公(建)刑字〔2026〕118号",
            reason="入室盗窃案调查：保全案发前后一周的事件、车辆通行记录与照片",
            compound=compound,
            data_from=now - dt.timedelta(days=20),
            data_to=now - dt.timedelta(days=13),
        )
