"""Vehicles and parking (Art 9, 11, 12, 33(2)): the compound's vehicle lists, the passages read by
entrance cameras (ANPR), manual barrier opens and parking stays.

`vehicles_passage` is range-partitioned by day on `received_at` on PostgreSQL (core.partitions),
so that keeping vehicle data "at least 3 months" (Art 33(2)) and no longer is a partition drop.
Its primary key is (id, received_at) in the database; nothing holds a database foreign key to it
(other rows refer to passages by a plain id), and its own foreign keys carry no database
constraint so that ingest does not pay for them and a purge never waits on them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anfang.compounds.models import Compound, Entrance, ParkingEntrance, ParkingLot, Unit
from anfang.compounds.querysets import ScopedQuerySet
from anfang.core.partitions import register
from anfang.devices.models import Device

from . import choices as c

PASSAGES = register("vehicles_passage", "received_at")


def _ref(model, verbose: Any, **extra) -> models.ForeignKey:
    """A foreign key of the partitioned passage table: no database constraint (see module doc)."""
    return models.ForeignKey(
        model,
        verbose_name=verbose,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        **extra,
    )


class Passage(models.Model):
    """One vehicle read by an ANPR camera (Art 9), kept with its pictures at least 3 months (Art 33(2))."""

    id = models.BigAutoField(primary_key=True)
    # No single-column indexes on these keys: the composite indexes below serve the reads, and
    # every index costs at ingest.
    compound = models.ForeignKey(
        Compound,
        verbose_name=_("小区"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    entrance = _ref(Entrance, _("出入口"))
    parking_entrance = _ref(ParkingEntrance, _("停车场出入口"))
    parking_lot = _ref(ParkingLot, _("停车场"))
    device = _ref(Device, _("设备"))
    event_id = models.BigIntegerField(_("事件编号"), null=True, blank=True)
    captured_at = models.DateTimeField(_("抓拍时间（设备）"))
    received_at = models.DateTimeField(_("接收时间（平台）"))

    plate = models.CharField(_("车牌号"), max_length=16, blank=True)
    plate_raw = models.CharField(_("识别原文"), max_length=64, blank=True)
    plate_valid = models.BooleanField(_("车牌有效"), default=False)
    plate_series = models.CharField(_("号牌种类"), max_length=16, blank=True)
    plate_colour = models.CharField(_("车牌颜色"), max_length=16, blank=True)
    plate_skeleton = models.CharField(_("模糊键"), max_length=16, blank=True)
    confidence = models.PositiveSmallIntegerField(_("置信度"), null=True, blank=True)

    needs_confirmation = models.BooleanField(_("待确认"), default=False)
    confirmed_plate = models.CharField(_("确认车牌"), max_length=16, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)

    direction = models.CharField(_("方向"), max_length=8, choices=c.Direction.choices, default=c.Direction.UNKNOWN)
    lane = models.CharField(_("车道"), max_length=16, blank=True)
    pictures = models.JSONField(_("图片"), default=list, blank=True)
    decision = models.CharField(_("道闸判定"), max_length=8, choices=c.Decision.choices, default=c.Decision.NONE)
    decision_reason = models.CharField(_("判定原因"), max_length=16, choices=c.DecisionReason.choices, blank=True)
    list_match = models.CharField(_("名单匹配"), max_length=8, choices=c.ListMatch.choices, default=c.ListMatch.NONE)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("过车记录")
        verbose_name_plural = _("过车记录")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["compound", "received_at"], name="passage_compound_received"),
            models.Index(fields=["plate", "received_at"], name="passage_plate_received"),
            # The guard's queue of reads to confirm: a handful of rows, not a scan of the day.
            models.Index(
                fields=["compound", "received_at"],
                name="passage_to_confirm",
                condition=models.Q(needs_confirmation=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shown_plate or self.plate_raw or '—'} @ {self.received_at:%Y-%m-%d %H:%M:%S}"

    @property
    def shown_plate(self) -> str:
        """The plate as the guard confirmed or corrected it, else as read."""
        return self.confirmed_plate or self.plate

    @property
    def flags(self) -> list[str]:
        """Why this passage needs a second look (PassageFlag); derived, never stored."""
        flags: list[str] = []
        if not self.entrance_id and not self.parking_entrance_id:
            flags.append(c.PassageFlag.NO_ENTRANCE)
        if not self.plate_valid:
            flags.append(c.PassageFlag.INVALID_PLATE)
        if self.needs_confirmation:
            flags.append(c.PassageFlag.LOW_CONFIDENCE)
        if not self.pictures:
            flags.append(c.PassageFlag.NO_PICTURE)
        return flags

    @property
    def flag_labels(self) -> list[str]:
        return [str(c.PassageFlag(f).label) for f in self.flags]

    @property
    def series_label(self) -> str:
        from .plates import PlateSeries

        try:
            return str(PlateSeries(self.plate_series).label)
        except ValueError:
            return self.plate_series

    @property
    def colour_label(self) -> str:
        try:
            return str(c.PlateColour(self.plate_colour).label)
        except ValueError:
            return self.plate_colour

    def picture(self, role: str) -> dict | None:
        return next((p for p in self.pictures if p.get("role") == role), None)


class ListEntry(models.Model):
    """Shared shape of the compound's vehicle lists."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+")
    plate = models.CharField(_("车牌号"), max_length=16)
    note = models.CharField(_("备注"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.plate


class ResidentVehicle(ListEntry):
    """A resident's vehicle, linked to the household's unit (Art 11: barrier control)."""

    plate_colour = models.CharField(_("车牌颜色"), max_length=16, choices=c.PlateColour.choices, blank=True)
    unit = models.ForeignKey(
        Unit, verbose_name=_("单元/住户"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    household = models.CharField(_("房号"), max_length=32, blank=True)
    owner_name = models.CharField(_("车主姓名"), max_length=64)
    owner_phone = models.CharField(_("车主电话"), max_length=32, blank=True)
    valid_from = models.DateField(_("有效期起"), default=timezone.localdate)
    valid_to = models.DateField(_("有效期止"), null=True, blank=True)
    parking_lot = models.ForeignKey(
        ParkingLot, verbose_name=_("停车场"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("业主车辆")
        verbose_name_plural = _("业主车辆")
        ordering = ["plate", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["compound", "plate"],
                name="resident_vehicle_unique_plate",
                violation_error_message=_("本小区已登记该车牌。"),
            )
        ]

    def valid_on(self, day) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class VisitorPass(ListEntry):
    """A visitor's pass for one car: a time window, single or multiple entry, entries counted."""

    visitor_name = models.CharField(_("访客姓名"), max_length=64, blank=True)
    visitor_phone = models.CharField(_("访客电话"), max_length=32, blank=True)
    issued_by = models.CharField(_("登记方"), max_length=8, choices=c.PassIssuer.choices, default=c.PassIssuer.GUARD)
    host_name = models.CharField(_("被访业主"), max_length=64, blank=True)
    host_unit = models.ForeignKey(
        Unit, verbose_name=_("被访单元"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    valid_from = models.DateTimeField(_("有效时间起"))
    valid_to = models.DateTimeField(_("有效时间止"))
    kind = models.CharField(_("通行次数"), max_length=8, choices=c.PassKind.choices, default=c.PassKind.SINGLE)
    uses = models.PositiveIntegerField(_("已入场次数"), default=0)
    first_entry_at = models.DateTimeField(_("首次入场"), null=True, blank=True)
    last_entry_at = models.DateTimeField(_("最近入场"), null=True, blank=True)

    class Meta:
        verbose_name = _("访客通行证")
        verbose_name_plural = _("访客通行证")
        ordering = ["-valid_from", "-id"]
        indexes = [models.Index(fields=["compound", "plate", "valid_to"], name="visitor_pass_plate")]

    def usable_at(self, at) -> bool:
        """Within its window and, for a single-entry pass, not yet used."""
        if not (self.valid_from <= at <= self.valid_to):
            return False
        return self.kind == c.PassKind.MULTIPLE or self.uses == 0


class WatchEntry(ListEntry):
    """A plate (or a pattern: `?` one character, `*` any run) the compound watches for; a hit
    raises an alarm on the duty console and, where configured, a notice to the police station."""

    plate = models.CharField(_("车牌号或模式"), max_length=16, help_text=_("可用 ? 代表一个字符，* 代表任意多个字符"))
    reason = models.CharField(_("布控原因"), max_length=255)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("添加人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    added_by_name = models.CharField(_("添加人姓名/单位"), max_length=64, blank=True)
    expires_at = models.DateTimeField(_("到期时间"), null=True, blank=True)
    notify_station = models.BooleanField(_("通知派出所"), default=False)
    hits = models.PositiveIntegerField(_("命中次数"), default=0)
    last_hit_at = models.DateTimeField(_("最近命中"), null=True, blank=True)

    class Meta:
        verbose_name = _("布控车辆")
        verbose_name_plural = _("布控车辆")
        ordering = ["plate", "id"]

    @property
    def is_pattern(self) -> bool:
        return "?" in self.plate or "*" in self.plate

    def active_at(self, at) -> bool:
        return self.expires_at is None or at < self.expires_at


class BarrierOpen(models.Model):
    """A barrier opened by hand by the guard: the reason is required and the open is logged (Art 11)."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+")
    entrance = models.ForeignKey(
        Entrance, verbose_name=_("出入口"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    parking_entrance = models.ForeignKey(
        ParkingEntrance,
        verbose_name=_("停车场出入口"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    device = models.ForeignKey(
        Device, verbose_name=_("设备"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    passage_id = models.BigIntegerField(_("过车记录编号"), null=True, blank=True)
    plate = models.CharField(_("车牌号"), max_length=16, blank=True)
    reason = models.CharField(_("开闸原因"), max_length=255)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("开闸时间"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("人工开闸")
        verbose_name_plural = _("人工开闸")
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["compound", "opened_at"], name="barrier_open_compound")]

    def __str__(self) -> str:
        return f"{self.plate or '—'} @ {self.opened_at:%Y-%m-%d %H:%M}"


class ParkingStay(models.Model):
    """A vehicle's stay in a parking lot (or, with no lot, inside the compound), opened by an
    entry passage and closed by the matching exit. An exit with no open stay is kept as a stay
    with no entry; an entry never exited is "stale" after a few days and no longer counted."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+")
    parking_lot = models.ForeignKey(
        ParkingLot, verbose_name=_("停车场"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    plate = models.CharField(_("车牌号"), max_length=16)
    list_match = models.CharField(_("名单匹配"), max_length=8, choices=c.ListMatch.choices, default=c.ListMatch.NONE)
    entered_at = models.DateTimeField(_("入场时间"), null=True, blank=True)
    entry_passage_id = models.BigIntegerField(_("入场记录"), null=True, blank=True)
    exited_at = models.DateTimeField(_("出场时间"), null=True, blank=True)
    exit_passage_id = models.BigIntegerField(_("出场记录"), null=True, blank=True)
    # An entry followed by another entry of the same car: the exit between them was missed.
    superseded = models.BooleanField(_("出场未识别"), default=False)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("停车记录")
        verbose_name_plural = _("停车记录")
        ordering = ["-entered_at", "-id"]
        indexes = [
            models.Index(
                fields=["compound", "parking_lot", "plate"],
                name="stay_open",
                condition=models.Q(exited_at__isnull=True, superseded=False),
            ),
            models.Index(fields=["compound", "entered_at"], name="stay_compound_entered"),
        ]

    def __str__(self) -> str:
        return self.plate

    @property
    def open(self) -> bool:
        return self.exited_at is None and not self.superseded
