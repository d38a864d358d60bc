"""The compound registry: a compound and the places in it the regulation names (Art 5–16).

Booleans that a compliance rule reads are nullable on purpose: `None` means "not surveyed",
which the engine reports as `unknown`, never as a pass.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from anfang.core.choices import OrgKind
from anfang.core.models import Organisation

from . import choices as c
from .querysets import CompoundQuerySet, ScopedQuerySet


class Compound(models.Model):
    name = models.CharField(_("小区名称"), max_length=128)
    address = models.CharField(_("地址"), max_length=255)
    latitude = models.DecimalField(
        _("纬度"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(-90)), MaxValueValidator(Decimal(90))],
    )
    longitude = models.DecimalField(
        _("经度"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(-180)), MaxValueValidator(Decimal(180))],
    )
    police_station = models.ForeignKey(
        Organisation,
        verbose_name=_("属地派出所"),
        on_delete=models.PROTECT,
        related_name="station_compounds",
        limit_choices_to={"kind": OrgKind.POLICE_STATION},
    )
    community = models.ForeignKey(
        Organisation,
        verbose_name=_("所属社区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="community_compounds",
        limit_choices_to={"kind": OrgKind.COMMUNITY},
    )
    property_company = models.ForeignKey(
        Organisation,
        verbose_name=_("物业服务企业"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="managed_compounds",
        limit_choices_to={"kind": OrgKind.PROPERTY_COMPANY},
        help_text=_("留空表示无物业管理（第6条）"),
    )
    property_contract_ref = models.CharField(
        _("物业服务合同编号"), max_length=64, blank=True, help_text=_("第5条：按照物业服务合同配备人防队伍")
    )
    status = models.CharField(
        _("状态"), max_length=32, choices=c.CompoundStatus.choices, default=c.CompoundStatus.IN_USE
    )
    households = models.PositiveIntegerField(_("户数"), null=True, blank=True)
    area_m2 = models.DecimalField(
        _("占地面积（㎡）"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    year_built = models.PositiveSmallIntegerField(
        _("建成年份"), null=True, blank=True, validators=[MinValueValidator(1900), MaxValueValidator(2100)]
    )
    note = models.TextField(_("备注"), blank=True)
    archived_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("小区")
        verbose_name_plural = _("小区")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["police_station", "name"],
                name="compound_unique_name_per_station",
                violation_error_message=_("该派出所辖区内已有同名小区。"),
            ),
        ]
        # (name, id) is the list order: the page of 50 is read off the index instead of sorting the city.
        indexes = [
            models.Index(fields=["name", "id"], name="compound_list_order"),
            models.Index(fields=["status"]),
            models.Index(fields=["archived_at"]),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("compounds:detail", args=[self.pk])

    @property
    def management_mode(self) -> str:
        """Art 5 / Art 6: managed exactly when a property company is responsible."""
        return c.ManagementMode.MANAGED if self.property_company_id else c.ManagementMode.UNMANAGED

    def get_management_mode_display(self) -> str:
        return str(c.ManagementMode(self.management_mode).label)

    @property
    def district(self) -> Organisation | None:
        return self.police_station.parent if self.police_station_id else None

    def clean(self) -> None:
        errors = {}
        if self.police_station_id and self.police_station.kind != OrgKind.POLICE_STATION:
            errors["police_station"] = _("请选择派出所。")
        if self.community_id and self.community and self.community.kind != OrgKind.COMMUNITY:
            errors["community"] = _("请选择社区。")
        if (
            self.property_company_id
            and self.property_company
            and self.property_company.kind != OrgKind.PROPERTY_COMPANY
        ):
            errors["property_company"] = _("请选择物业服务企业。")
        if not self.property_company_id and not self.community_id:
            errors["community"] = _("无物业管理的小区由社区管理（第6条），请选择所属社区。")
        if errors:
            raise ValidationError(errors)


class CompoundPart(models.Model):
    """Shared shape of everything that belongs to one compound."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE)
    name = models.CharField(_("名称"), max_length=128)
    note = models.CharField(_("备注"), max_length=255, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


DUPLICATE_NAME = _("本小区已有同名记录，请换一个名称。")


def _unique_name(model: str, scope: str = "compound") -> list[models.BaseConstraint]:
    return [
        models.UniqueConstraint(
            fields=[scope, "name"], name=f"{model}_unique_name", violation_error_message=DUPLICATE_NAME
        )
    ]


class Building(CompoundPart):
    floors = models.PositiveSmallIntegerField(_("层数"), null=True, blank=True)

    class Meta(CompoundPart.Meta):
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        constraints = _unique_name("building")
        default_related_name = "buildings"


class Unit(CompoundPart):
    """楼栋单元 — Art 9 (unit entrance video), Art 13 (anti-theft door, networked intercom)."""

    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.CASCADE, related_name="units")
    households = models.PositiveIntegerField(_("户数"), null=True, blank=True)
    entrance_door_standard = models.BooleanField(
        _("单元门为国标防盗门"), null=True, blank=True, help_text=_("第13条；留空表示未核查")
    )
    intercom = models.CharField(
        _("楼宇对讲"), max_length=16, choices=c.IntercomKind.choices, blank=True, help_text=_("第13条；留空表示未核查")
    )

    class Meta(CompoundPart.Meta):
        verbose_name = _("单元")
        verbose_name_plural = _("单元")
        constraints = _unique_name("unit", "building")
        default_related_name = "units"

    def __str__(self) -> str:
        return f"{self.building.name}{self.name}" if self.building_id else self.name

    def clean(self) -> None:
        if self.building_id and self.compound_id and self.building.compound_id != self.compound_id:
            raise ValidationError({"building": _("楼栋不属于本小区。")})


class Entrance(CompoundPart):
    """Compound entrances — Art 9 (video, ANPR), Art 11 (barrier control), Art 12 (gate, barrier)."""

    role = models.CharField(_("类别"), max_length=16, choices=c.EntranceRole.choices)
    traffic = models.CharField(_("通行方式"), max_length=16, choices=c.Traffic.choices)
    gate_type = models.CharField(
        _("门体"), max_length=24, choices=c.GateType.choices, blank=True, help_text=_("第12条；留空表示未核查")
    )
    barrier = models.CharField(
        _("道闸"), max_length=16, choices=c.BarrierKind.choices, blank=True, help_text=_("第12条；留空表示未核查")
    )

    class Meta(CompoundPart.Meta):
        verbose_name = _("出入口")
        verbose_name_plural = _("出入口")
        constraints = _unique_name("entrance")
        default_related_name = "entrances"


class PerimeterSegment(CompoundPart):
    """Art 8: the perimeter enclosed by walls/fences and covered by electronic protection."""

    barrier = models.CharField(_("屏障类型"), max_length=16, choices=c.PerimeterBarrier.choices)
    length_m = models.DecimalField(
        _("长度（米）"),
        max_digits=8,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.1"))],
    )
    height_m = models.DecimalField(
        _("高度（米）"),
        max_digits=4,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    electronic_protection = models.BooleanField(
        _("有周界电子防护"), null=True, blank=True, help_text=_("第8条；留空表示未核查")
    )

    class Meta(CompoundPart.Meta):
        verbose_name = _("周界段")
        verbose_name_plural = _("周界段")
        constraints = _unique_name("perimeter")
        default_related_name = "perimeter_segments"


class ParkingLot(CompoundPart):
    """Art 9 (parking entrance video), Art 11 (parking entrance control)."""

    kind = models.CharField(_("类型"), max_length=16, choices=c.ParkingKind.choices)
    spaces = models.PositiveIntegerField(_("车位数"), null=True, blank=True)

    class Meta(CompoundPart.Meta):
        verbose_name = _("停车场")
        verbose_name_plural = _("停车场")
        constraints = _unique_name("parkinglot")
        default_related_name = "parking_lots"


class ParkingEntrance(CompoundPart):
    parking_lot = models.ForeignKey(ParkingLot, verbose_name=_("停车场"), on_delete=models.CASCADE)
    barrier = models.CharField(_("道闸"), max_length=16, choices=c.BarrierKind.choices, blank=True)

    class Meta(CompoundPart.Meta):
        verbose_name = _("停车场出入口")
        verbose_name_plural = _("停车场出入口")
        constraints = _unique_name("parkingentrance", "parking_lot")
        default_related_name = "parking_entrances"

    def clean(self) -> None:
        if self.parking_lot_id and self.compound_id and self.parking_lot.compound_id != self.compound_id:
            raise ValidationError({"parking_lot": _("停车场不属于本小区。")})


class Elevator(CompoundPart):
    """Art 9: every elevator car needs a camera."""

    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.CASCADE)
    unit = models.ForeignKey(Unit, verbose_name=_("单元"), null=True, blank=True, on_delete=models.SET_NULL)

    class Meta(CompoundPart.Meta):
        verbose_name = _("电梯")
        verbose_name_plural = _("电梯")
        constraints = _unique_name("elevator", "building")
        default_related_name = "elevators"

    def __str__(self) -> str:
        return f"{self.building.name}{self.name}" if self.building_id else self.name

    def clean(self) -> None:
        if self.building_id and self.compound_id and self.building.compound_id != self.compound_id:
            raise ValidationError({"building": _("楼栋不属于本小区。")})
        if self.unit_id and self.unit and self.unit.building_id != self.building_id:
            raise ValidationError({"unit": _("单元不属于所选楼栋。")})


class PublicArea(CompoundPart):
    """Art 9: 小区内主要通道及广场."""

    kind = models.CharField(_("类型"), max_length=16, choices=c.AreaKind.choices)

    class Meta(CompoundPart.Meta):
        verbose_name = _("主要通道/广场")
        verbose_name_plural = _("主要通道/广场")
        constraints = _unique_name("publicarea")
        default_related_name = "public_areas"


class DutyRoom(CompoundPart):
    """Art 15: duty room at the main entrance, merged with or connected to the monitoring
    centre, at least 20 m². Art 16: staffed 24 hours."""

    entrance = models.ForeignKey(
        Entrance,
        verbose_name=_("所在出入口"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duty_rooms",
    )
    location = models.CharField(_("位置"), max_length=255, blank=True)
    area_m2 = models.DecimalField(
        _("面积（㎡）"),
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.1"))],
    )
    relation = models.CharField(_("与监控中心关系"), max_length=16, choices=c.DutyRoomRelation.choices, blank=True)
    is_monitoring_centre = models.BooleanField(_("兼作监控中心"), default=False)

    class Meta(CompoundPart.Meta):
        verbose_name = _("值班室/监控中心")
        verbose_name_plural = _("值班室/监控中心")
        constraints = _unique_name("dutyroom")
        default_related_name = "duty_rooms"

    def clean(self) -> None:
        if self.entrance and self.compound_id and self.entrance.compound_id != self.compound_id:
            raise ValidationError({"entrance": _("出入口不属于本小区。")})


class SecurityTeam(CompoundPart):
    """Art 5: guard force of a managed compound under the property contract; Art 6: the
    community's full-time patrol team for unmanaged compounds (one team may serve several)."""

    kind = models.CharField(_("类型"), max_length=16, choices=c.TeamKind.choices)
    provider = models.ForeignKey(
        Organisation, verbose_name=_("所属单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="teams"
    )
    headcount = models.PositiveSmallIntegerField(_("人数"), null=True, blank=True)
    full_time = models.BooleanField(_("专职"), default=True)
    contract_ref = models.CharField(_("合同/文件编号"), max_length=64, blank=True)
    leader = models.CharField(_("负责人"), max_length=64, blank=True)
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)

    class Meta(CompoundPart.Meta):
        verbose_name = _("人防队伍")
        verbose_name_plural = _("人防队伍")
        constraints = _unique_name("securityteam")
        default_related_name = "security_teams"


class HouseholdDoorSurvey(CompoundPart):
    """Art 14: household doors to national standard; lock grade B or above encouraged."""

    surveyed_on = models.DateField(_("调查日期"))
    households_surveyed = models.PositiveIntegerField(_("调查户数"))
    standard_doors = models.PositiveIntegerField(_("国标防盗门户数"))
    lock_grade_b_or_above = models.PositiveIntegerField(_("B级以上锁具户数"), null=True, blank=True)

    class Meta(CompoundPart.Meta):
        verbose_name = _("户门调查")
        verbose_name_plural = _("户门调查")
        constraints = _unique_name("doorsurvey")
        default_related_name = "door_surveys"
        ordering = ["-surveyed_on"]

    def clean(self) -> None:
        errors = {}
        if (
            self.standard_doors is not None
            and self.households_surveyed is not None
            and self.standard_doors > self.households_surveyed
        ):
            errors["standard_doors"] = _("不能超过调查户数。")
        if (
            self.lock_grade_b_or_above is not None
            and self.households_surveyed is not None
            and self.lock_grade_b_or_above > self.households_surveyed
        ):
            errors["lock_grade_b_or_above"] = _("不能超过调查户数。")
        if errors:
            raise ValidationError(errors)


# Every part model, in the order the detail page and the workbook show them.
PART_MODELS: tuple[type[CompoundPart], ...] = (
    Building,
    Unit,
    Entrance,
    PerimeterSegment,
    ParkingLot,
    ParkingEntrance,
    Elevator,
    PublicArea,
    DutyRoom,
    SecurityTeam,
    HouseholdDoorSurvey,
)
