"""Device inventory per Art 7 subsystem, with where each device is installed (the place it
covers, which Art 9 / 11 / 13 rules read), capabilities and product certificate (Art 24)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from anfang.compounds.models import (
    Compound,
    DutyRoom,
    Elevator,
    Entrance,
    ParkingEntrance,
    ParkingLot,
    PerimeterSegment,
    PublicArea,
    Unit,
)
from anfang.compounds.querysets import ScopedQuerySet

from . import choices as c

mac_validator = RegexValidator(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$", _("MAC 地址格式应为 AA:BB:CC:DD:EE:FF。"))

# The place fields, in order; a device covers at most one place.
PLACE_FIELDS = (
    "entrance",
    "unit",
    "parking_lot",
    "parking_entrance",
    "elevator",
    "perimeter_segment",
    "public_area",
    "duty_room",
)


class Device(models.Model):
    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="devices")
    name = models.CharField(_("名称"), max_length=128)
    subsystem = models.CharField(_("子系统（第7条）"), max_length=32, choices=c.Subsystem.choices, db_index=True)
    device_type = models.CharField(_("设备类型"), max_length=32, choices=c.DeviceType.choices)
    vendor = models.CharField(_("厂商"), max_length=16, choices=c.Vendor.choices, default=c.Vendor.OTHER)
    model = models.CharField(_("型号"), max_length=64, blank=True)
    serial = models.CharField(_("序列号"), max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    mac_address = models.CharField(_("MAC 地址"), max_length=17, blank=True, validators=[mac_validator])

    # Where it is installed — the place it covers.
    entrance = models.ForeignKey(Entrance, verbose_name=_("出入口"), null=True, blank=True, on_delete=models.SET_NULL)
    unit = models.ForeignKey(Unit, verbose_name=_("单元"), null=True, blank=True, on_delete=models.SET_NULL)
    parking_lot = models.ForeignKey(
        ParkingLot, verbose_name=_("停车场"), null=True, blank=True, on_delete=models.SET_NULL
    )
    parking_entrance = models.ForeignKey(
        ParkingEntrance, verbose_name=_("停车场出入口"), null=True, blank=True, on_delete=models.SET_NULL
    )
    elevator = models.ForeignKey(Elevator, verbose_name=_("电梯"), null=True, blank=True, on_delete=models.SET_NULL)
    perimeter_segment = models.ForeignKey(
        PerimeterSegment, verbose_name=_("周界段"), null=True, blank=True, on_delete=models.SET_NULL
    )
    public_area = models.ForeignKey(
        PublicArea, verbose_name=_("主要通道/广场"), null=True, blank=True, on_delete=models.SET_NULL
    )
    duty_room = models.ForeignKey(
        DutyRoom, verbose_name=_("值班室/监控中心"), null=True, blank=True, on_delete=models.SET_NULL
    )
    location_note = models.CharField(_("安装位置说明"), max_length=255, blank=True)

    # Capabilities (Art 9).
    resolution_width = models.PositiveIntegerField(
        _("分辨率宽"), null=True, blank=True, validators=[MinValueValidator(160), MaxValueValidator(16384)]
    )
    resolution_height = models.PositiveIntegerField(
        _("分辨率高"), null=True, blank=True, validators=[MinValueValidator(120), MaxValueValidator(16384)]
    )
    anpr = models.BooleanField(_("车牌识别"), default=False, help_text=_("第9条：小区出入口监控应能识别机动车号牌"))
    police_linked = models.BooleanField(_("与公安监控平台联网"), default=False, help_text=_("第9条"))

    # Product certificate (Art 24).
    certificate_kind = models.CharField(
        _("证书类型（第24条）"), max_length=32, choices=c.CertificateKind.choices, blank=True
    )
    certificate_number = models.CharField(_("证书编号"), max_length=64, blank=True)
    certificate_issuer = models.CharField(_("发证机关"), max_length=128, blank=True)
    certificate_valid_until = models.DateField(_("证书有效期至"), null=True, blank=True)

    install_date = models.DateField(_("安装日期"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=c.DeviceStatus.choices, default=c.DeviceStatus.ACTIVE, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("设备")
        verbose_name_plural = _("设备")
        ordering = ["compound_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["compound", "name"],
                name="device_unique_name",
                violation_error_message=_("本小区已有同名设备。"),
            ),
            models.UniqueConstraint(
                fields=["vendor", "serial"],
                condition=~models.Q(serial=""),
                name="device_unique_serial",
                violation_error_message=_("该厂商的此序列号已登记在另一台设备上。"),
            ),
            models.UniqueConstraint(
                fields=["compound", "ip_address"],
                condition=models.Q(ip_address__isnull=False),
                name="device_unique_ip",
                violation_error_message=_("本小区已有设备使用该 IP 地址。"),
            ),
        ]
        indexes = [models.Index(fields=["compound", "subsystem"]), models.Index(fields=["device_type"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("devices:detail", args=[self.pk])

    @property
    def place(self) -> models.Model | None:
        for field in PLACE_FIELDS:
            if getattr(self, f"{field}_id"):
                return getattr(self, field)
        return None

    @property
    def resolution(self) -> str:
        if self.resolution_width and self.resolution_height:
            return f"{self.resolution_width}×{self.resolution_height}"
        return ""

    def clean(self) -> None:
        errors: dict[str, object] = {}
        chosen = [f for f in PLACE_FIELDS if getattr(self, f"{f}_id")]
        if len(chosen) > 1:
            for f in chosen[1:]:
                errors[f] = _("一台设备只能关联一个安装位置。")
        for f in chosen:
            place = getattr(self, f)
            if self.compound_id and place.compound_id != self.compound_id:
                errors[f] = _("所选位置不属于本小区。")
        if bool(self.resolution_width) != bool(self.resolution_height):
            errors["resolution_height"] = _("分辨率的宽和高需同时填写。")
        if self.certificate_kind and not self.certificate_number:
            errors["certificate_number"] = _("已选择证书类型，请填写证书编号。")
        if self.mac_address:
            self.mac_address = self.mac_address.upper().replace("-", ":")
        if errors:
            raise ValidationError(errors)


class DeviceCredential(models.Model):
    """How a device proves who it is when it pushes events (issue 5, DESIGN.md security).

    A device that can set a header sends its token (`Authorization: Bearer …`). A device that can
    only be given a URL to push to (Hikvision "HTTP listening") gets a secret path segment instead,
    accepted only from its registered source addresses. Both are stored as SHA-256 hashes."""

    device = models.OneToOneField(Device, on_delete=models.CASCADE, related_name="credential", primary_key=True)
    token_prefix = models.CharField(_("令牌前缀"), max_length=8, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    path_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    allowed_sources = models.CharField(
        _("允许的来源地址"),
        max_length=255,
        blank=True,
        help_text=_("逗号分隔的 IP 或网段（如 10.0.0.0/24）；使用密钥路径推送时必填"),
    )
    enabled = models.BooleanField(_("允许接入"), default=True)
    rotated_at = models.DateTimeField(_("最近更换"), auto_now=True)

    # Pull connection, for devices whose events the platform fetches (Dahua event stream): the
    # platform logs in to the device. The password must stay readable to answer the device's digest
    # challenge, so unlike the token it cannot be hashed. editable=False keeps it out of model
    # forms, the admin and change-history snapshots (core.history.snapshot skips non-editable
    # fields); it is set only through devices.services.set_pull_connection and never displayed.
    pull_url = models.CharField(
        _("事件拉取地址"),
        max_length=255,
        blank=True,
        help_text=_("设备的 HTTP 地址，如 http://10.0.0.20；平台以摘要认证订阅其事件流（大华）"),
    )
    pull_username = models.CharField(_("设备登录用户名"), max_length=64, blank=True)
    pull_password = models.CharField(max_length=128, blank=True, editable=False)

    class Meta:
        verbose_name = _("设备接入凭据")
        verbose_name_plural = _("设备接入凭据")

    def __str__(self) -> str:
        return f"{self.device} ({self.token_prefix}…)" if self.token_prefix else str(self.device)


class DeviceHealth(models.Model):
    """What the event stream tells about a device: when it was last heard, how far its clock is off
    (DESIGN.md: skew beyond a threshold is flagged on the device), duplicates and dead letters.
    Written in batches by the ingest path, never per event."""

    device = models.OneToOneField(Device, on_delete=models.CASCADE, related_name="health", primary_key=True)
    last_seen_at = models.DateTimeField(_("最近通信"), null=True, blank=True)
    last_event_at = models.DateTimeField(_("最近事件"), null=True, blank=True)
    clock_skew_seconds = models.IntegerField(_("时钟偏差（秒）"), null=True, blank=True)
    clock_skew_flagged = models.BooleanField(_("时钟偏差超限"), default=False)
    events = models.BigIntegerField(_("事件数"), default=0)
    duplicates = models.BigIntegerField(_("重复数"), default=0)
    dead_letters = models.BigIntegerField(_("死信数"), default=0)

    class Meta:
        verbose_name = _("设备运行状况")
        verbose_name_plural = _("设备运行状况")

    def __str__(self) -> str:
        return str(self.device)
