"""Retention use cases: set a policy (never below its floor), place and release legal holds, store
video retention reports. The purge itself is in `purge.py`, the recorder query in `recorder.py`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anfang.compounds.models import Compound
from anfang.core.choices import REGISTRY_EDIT_ROLES, ChangeAction, Role
from anfang.core.grants import is_platform_admin
from anfang.core.history import record_change
from anfang.devices.models import Device

from .choices import VideoSource
from .models import LegalHold, PurgeLock, RetentionPolicy, VideoRetentionReport
from .registry import CLASSES, Spec

# Who may place holds: police in their jurisdiction, the property company (or community, for
# unmanaged compounds) for its own compounds, and the platform admin anywhere (also platform-wide).
HOLD_ROLES = frozenset(
    {Role.POLICE_CITY, Role.POLICE_DISTRICT, Role.POLICE_STATION, Role.PROPERTY_MANAGER, Role.COMMUNITY_MANAGER}
)
POLICE_ROLES = frozenset({Role.POLICE_CITY, Role.POLICE_DISTRICT, Role.POLICE_STATION})
# Per-compound overrides: those who maintain the compound (Art 30 / 32); the global setting: the admin.
POLICY_ROLES = REGISTRY_EDIT_ROLES


def floor_message(spec: Spec, days: int) -> str:
    """The refusal for a setting below the floor, naming the article (or the platform's reason)."""
    if spec.statutory:
        return _("%(what)s保存天数 %(days)s 天低于法定下限 %(floor)s 天（%(article)s：%(basis)s）。") % {
            "what": spec.label,
            "days": days,
            "floor": spec.floor_days,
            "article": spec.article,
            "basis": spec.basis,
        }
    return _("%(what)s保存天数 %(days)s 天低于平台下限 %(floor)s 天（%(basis)s）。") % {
        "what": spec.label,
        "days": days,
        "floor": spec.floor_days,
        "basis": spec.basis,
    }


def check_floor(data_class: str, days: int) -> None:
    spec = CLASSES.get(data_class)
    if spec is None:
        raise ValidationError({"data_class": _("未知的数据类别：%(v)s") % {"v": data_class}})
    if days > 36500:
        raise ValidationError({"days": _("保存天数不能超过 36500 天。")})
    if days < spec.floor_days:
        raise ValidationError({"days": floor_message(spec, days)})


def policy_compounds(user: Any):
    return Compound.objects.in_scope_of_roles(user, POLICY_ROLES)


@transaction.atomic
def set_policy(
    actor: Any, data_class: str, days: int, *, compound: Compound | None = None, note: str = ""
) -> RetentionPolicy:
    """Set the global policy of a class (platform admin) or a compound's override (its maintainers)."""
    if compound is None:
        if not is_platform_admin(actor):
            raise PermissionDenied(_("只有平台管理员可以修改全局保存策略。"))
    elif not policy_compounds(actor).filter(pk=compound.pk).exists():
        raise PermissionDenied(_("您不能修改该小区的保存策略。"))
    check_floor(data_class, days)
    policy, created = RetentionPolicy.objects.select_for_update().get_or_create(
        data_class=data_class, compound=compound, defaults={"days": days, "note": note, "updated_by": actor}
    )
    if not created:
        before = policy.days
        policy.days, policy.note, policy.updated_by = days, note, actor
        policy.save()
    record_change(
        actor,
        policy,
        ChangeAction.CREATE if created else ChangeAction.UPDATE,
        compound_id=compound.pk if compound else None,
        note=f"{policy.get_data_class_display()}: {'' if created else f'{before} → '}{days}",
    )
    return policy


@transaction.atomic
def clear_override(actor: Any, policy: RetentionPolicy) -> None:
    """Remove a compound's override: the global setting applies again (always at or above the floor)."""
    if policy.compound_id is None:
        raise ValidationError(_("全局策略不能删除，只能修改。"))
    if not policy_compounds(actor).filter(pk=policy.compound_id).exists():
        raise PermissionDenied(_("您不能修改该小区的保存策略。"))
    record_change(actor, policy, ChangeAction.DELETE, compound_id=policy.compound_id, note=str(policy))
    policy.delete()


def global_days() -> dict[str, int]:
    """Days per class: the global setting, else the registry default."""
    days = {key: spec.default_days for key, spec in CLASSES.items()}
    for key, value in RetentionPolicy.objects.filter(compound=None).values_list("data_class", "days"):
        days[key] = value
    return days


def overrides(data_class: str) -> dict[int, int]:
    return dict(
        RetentionPolicy.objects.filter(data_class=data_class, compound__isnull=False).values_list("compound_id", "days")
    )


def effective_days(data_class: str, compound_id: int | None = None) -> int:
    if compound_id is not None:
        override = overrides(data_class).get(compound_id)
        if override is not None:
            return override
    return global_days()[data_class]


# ---------------------------------------------------------------- legal holds


def fence_purge() -> None:
    """Lock the purge's row for this transaction: a purge step running now finishes first, the
    next one sees the new hold (purge._fence takes the same lock)."""
    PurgeLock.objects.get_or_create(name="purge")
    list(PurgeLock.objects.select_for_update().filter(name="purge"))


def hold_compounds(user: Any):
    return Compound.objects.in_scope_of_roles(user, HOLD_ROLES)


def may_hold(user: Any) -> bool:
    return is_platform_admin(user) or hold_compounds(user).exists()


@transaction.atomic
def place_hold(
    actor: Any,
    *,
    case_number: str,
    reason: str,
    compound: Compound | None = None,
    device: Device | None = None,
    data_from: dt.datetime | None = None,
    data_to: dt.datetime | None = None,
) -> LegalHold:
    errors: dict[str, str] = {}
    if not case_number.strip():
        errors["case_number"] = _("请填写案件编号。")
    if not reason.strip():
        errors["reason"] = _("请填写保全原因。")
    if device is not None:
        if compound is None:
            compound = device.compound
        elif device.compound_id != compound.pk:
            errors["device"] = _("该设备不属于所选小区。")
    if data_from and data_to and data_to <= data_from:
        errors["data_to"] = _("截止时间应晚于起始时间。")
    if compound is None and not is_platform_admin(actor):
        errors["compound"] = _("请选择小区：只有平台管理员可以设置全平台保全。")
    if compound is None and device is None and data_from is None and data_to is None:
        errors["compound"] = _("请至少限定小区、设备或时间范围之一。")
    if errors:
        raise ValidationError(errors)
    fence_purge()
    if (
        compound is not None
        and not is_platform_admin(actor)
        and not hold_compounds(actor).filter(pk=compound.pk).exists()
    ):
        raise PermissionDenied(_("您不能对该小区设置保全。"))
    hold = LegalHold.objects.create(
        case_number=case_number.strip(),
        reason=reason.strip(),
        compound=compound,
        device=device,
        data_from=data_from,
        data_to=data_to,
        owner=actor,
    )
    record_change(actor, hold, ChangeAction.CREATE, compound_id=hold.compound_id, note=hold.case_number)
    return hold


def may_release(user: Any, hold: LegalHold) -> bool:
    """The owner, the platform admin, or police whose jurisdiction covers the hold's compound (a
    police hold cannot be lifted by the property company that holds the data)."""
    if is_platform_admin(user) or hold.owner_id == user.pk:
        return True
    if hold.compound_id is None:
        return False
    return Compound.objects.in_scope_of_roles(user, POLICE_ROLES).filter(pk=hold.compound_id).exists()


@transaction.atomic
def release_hold(actor: Any, hold: LegalHold, note: str = "") -> LegalHold:
    hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if not may_release(actor, hold):
        raise PermissionDenied(_("只有保全负责人、辖区公安或平台管理员可以解除保全。"))
    if hold.released_at is not None:
        at = f"{timezone.localtime(hold.released_at):%Y-%m-%d %H:%M}"
        raise ValidationError(_("该保全已于 %(at)s 解除。") % {"at": at})
    hold.released_at, hold.released_by, hold.release_note = timezone.now(), actor, note[:255]
    hold.save(update_fields=["released_at", "released_by", "release_note"])
    record_change(actor, hold, ChangeAction.ARCHIVE, compound_id=hold.compound_id, note=hold.case_number)
    return hold


# ---------------------------------------------------------------- video retention evidence


def _days_between(earliest: dt.datetime | None, now: dt.datetime) -> int | None:
    return None if earliest is None else max(0, (now - earliest).days)


@transaction.atomic
def store_video_reports(
    recorder: Device, channels: list[dict[str, Any]], *, source: str = VideoSource.API, now: dt.datetime | None = None
) -> list[VideoRetentionReport]:
    """One report row per channel: `{"channel", "earliest", "latest"?, "camera_id"?, "detail"?}`.
    A camera id must name a device of the recorder's compound."""
    now = now or timezone.now()
    camera_ids = {c["camera_id"] for c in channels if c.get("camera_id")}
    cameras = set(
        Device.objects.filter(pk__in=camera_ids, compound_id=recorder.compound_id).values_list("pk", flat=True)
    )
    errors = {}
    for index, c in enumerate(channels):
        if c.get("camera_id") and c["camera_id"] not in cameras:
            errors[f"channels.{index}.camera_id"] = _("摄像机 %(id)s 不属于该录像设备所在小区。") % {
                "id": c["camera_id"]
            }
        if c.get("earliest") and c["earliest"] > now + dt.timedelta(minutes=5):
            errors[f"channels.{index}.earliest"] = _("最早录像时间不能晚于当前时间。")
    if errors:
        raise ValidationError(errors)
    rows = [
        VideoRetentionReport(
            compound_id=recorder.compound_id,
            device=recorder,
            channel=c["channel"],
            camera_id=c.get("camera_id") or (recorder.pk if recorder.device_type != "nvr" else None),
            earliest=c.get("earliest"),
            latest=c.get("latest"),
            days=_days_between(c.get("earliest"), now),
            source=source,
            reported_at=now,
            detail=(c.get("detail") or "")[:255],
        )
        for c in channels
    ]
    return VideoRetentionReport.objects.bulk_create(rows)
