"""Demo audit data (make demo): a few recorded accesses in the property company's and the police
station's scope, a verified chain, and one export request from the property manager waiting for
the police station's approval (Art 33(5)). Idempotent: does nothing once the chain has entries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from anfang.compounds.models import Compound

from . import services
from .choices import AuditAction, ExportKind
from .models import AuditEntry


def seed(compounds: list[Compound], users: dict[str, Any]) -> None:
    if AuditEntry.objects.exists() or not compounds:
        return
    property_manager, police = users.get("property"), users.get("police-station")
    if property_manager is not None:
        mine = Compound.objects.visible_to(property_manager).filter(pk__in=[c.pk for c in compounds]).first()
        if mine is not None:
            services.record(
                property_manager,
                AuditAction.VIEW,
                "events.picture",
                compound_id=mine.pk,
                purpose="核对夜间周界报警抓拍",
                detail={"index": 0},
                remote_addr="10.20.0.15",
            )
            today = timezone.localdate()
            services.request_export(
                property_manager,
                kind=ExportKind.VEHICLE_DATA,
                compounds=[mine],
                date_from=today - dt.timedelta(days=7),
                date_to=today,
                purpose="业主委员会要求核查访客车辆停放时长",
            )
    if police is not None:
        services.record(
            police,
            AuditAction.SEARCH,
            "vehicles.search",
            purpose="营公(建)刑字〔2026〕118号 嫌疑车辆轨迹",
            detail={"plate": "辽H8*", "rows": 12},
            remote_addr="10.1.0.7",
        )
    services.verify_and_log()
