"""Electronic guard patrol (电子巡查, Art 10: the route, method and process of patrols are managed and
controlled electronically; Art 6: community full-time patrol teams, one team often covering several
compounds): checkpoints, teams, routes, plans, patrol runs, check-ins, exceptions, reader uploads.

`Checkin` grows by the day and is partitioned by day on `received_at` (core.partitions): nothing may
hold a database foreign key to it, and its own references are plain ids (no constraint) so that a
bulk insert of a reader upload checks nothing row by row."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from anfang.compounds.models import Building, Compound, PublicArea, Unit
from anfang.compounds.querysets import ScopedQuerySet
from anfang.core.partitions import register

from . import choices as c

CHECKIN_TABLE = "patrol_checkin"
CHECKINS = register(CHECKIN_TABLE, "received_at")


class Checkpoint(models.Model):
    """巡查点: a place on a round, carrying a tag (NFC/RFID UID, QR code, BLE beacon id)."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="checkpoints")
    name = models.CharField(_("名称"), max_length=128)
    location = models.CharField(_("位置"), max_length=255, blank=True)
    building = models.ForeignKey(Building, verbose_name=_("楼栋"), null=True, blank=True, on_delete=models.SET_NULL)
    unit = models.ForeignKey(Unit, verbose_name=_("单元"), null=True, blank=True, on_delete=models.SET_NULL)
    public_area = models.ForeignKey(
        PublicArea, verbose_name=_("主要通道/广场"), null=True, blank=True, on_delete=models.SET_NULL
    )
    tag_kind = models.CharField(_("标识类型"), max_length=8, choices=c.TagKind.choices, default=c.TagKind.QR)
    code = models.CharField(
        _("标识码"), max_length=128, help_text=_("NFC/RFID 标签 UID、二维码内容或蓝牙信标 ID，小区内唯一")
    )
    device = models.ForeignKey(
        "devices.Device",
        verbose_name=_("巡查点设备"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        limit_choices_to={"device_type": "patrol_checkpoint"},
        related_name="patrol_checkpoints",
    )
    active = models.BooleanField(_("启用"), default=True)
    note = models.CharField(_("备注"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("巡查点")
        verbose_name_plural = _("巡查点")
        ordering = ["compound_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["compound", "code"],
                name="patrol_checkpoint_unique_code",
                violation_error_message=_("本小区已有使用该标识码的巡查点。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.code = normalise_code(self.code)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.code = normalise_code(self.code)
        for field in ("building", "unit", "public_area", "device"):
            place = getattr(self, field)
            if place is not None and self.compound_id and place.compound_id != self.compound_id:
                raise ValidationError({field: _("所选对象不属于本小区。")})


def normalise_code(raw: str) -> str:
    """Tag codes as stored and looked up: trimmed; hex UIDs (4–16 bytes) are read with or without
    colons and in either case by different readers, so those are folded to upper case without
    separators. Anything else (QR contents) is kept as written."""
    code = (raw or "").strip()
    compact = code.replace(":", "").replace("-", "").replace(" ", "")
    if 8 <= len(compact) <= 32 and len(compact) % 2 == 0 and all(ch in "0123456789abcdefABCDEF" for ch in compact):
        return compact.upper()
    return code


class PatrolTeam(models.Model):
    """巡防队伍 (Art 6): a property company's guard team or a community's full-time patrol team,
    covering one or several compounds."""

    name = models.CharField(_("名称"), max_length=128)
    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("所属单位"),
        on_delete=models.PROTECT,
        related_name="patrol_teams",
        limit_choices_to={"kind__in": ["property_company", "community"]},
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("队员"), blank=True, related_name="patrol_teams"
    )
    compounds = models.ManyToManyField(Compound, verbose_name=_("负责小区"), blank=True, related_name="patrol_teams")
    active = models.BooleanField(_("启用"), default=True)
    note = models.CharField(_("备注"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("巡防队伍")
        verbose_name_plural = _("巡防队伍")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="patrol_team_unique_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.organisation_id and self.organisation.kind not in ("property_company", "community"):
            raise ValidationError({"organisation": _("巡防队伍须隶属于物业服务企业或社区。")})


class Route(models.Model):
    """巡查路线: checkpoints in the order they are to be visited, with expected leg durations."""

    compound = models.ForeignKey(
        Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="patrol_routes"
    )
    name = models.CharField(_("名称"), max_length=128)
    ordered = models.BooleanField(_("须按顺序巡查"), default=True)
    min_minutes = models.PositiveIntegerField(
        _("最短用时（分钟）"), null=True, blank=True, help_text=_("短于此用时视为走过场")
    )
    max_minutes = models.PositiveIntegerField(_("最长用时（分钟）"), null=True, blank=True)
    checkpoints = models.ManyToManyField(
        Checkpoint, through="RouteCheckpoint", verbose_name=_("巡查点"), related_name="routes"
    )
    active = models.BooleanField(_("启用"), default=True)
    note = models.CharField(_("备注"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("巡查路线")
        verbose_name_plural = _("巡查路线")
        ordering = ["compound_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["compound", "name"],
                name="patrol_route_unique_name",
                violation_error_message=_("本小区已有同名路线。"),
            ),
            models.CheckConstraint(
                condition=models.Q(min_minutes__isnull=True)
                | models.Q(max_minutes__isnull=True)
                | models.Q(max_minutes__gte=models.F("min_minutes")),
                name="patrol_route_min_le_max",
                violation_error_message=_("最长用时不能短于最短用时。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RouteCheckpoint(models.Model):
    route = models.ForeignKey(Route, verbose_name=_("路线"), on_delete=models.CASCADE, related_name="stops")
    checkpoint = models.ForeignKey(
        Checkpoint, verbose_name=_("巡查点"), on_delete=models.PROTECT, related_name="route_stops"
    )
    position = models.PositiveSmallIntegerField(_("顺序"))
    expected_minutes = models.PositiveSmallIntegerField(
        _("距上一点预计用时（分钟）"), default=0, help_text=_("第一个巡查点填 0")
    )

    class Meta:
        verbose_name = _("路线巡查点")
        verbose_name_plural = _("路线巡查点")
        ordering = ["route_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["route", "position"], name="patrol_stop_unique_position"),
            models.UniqueConstraint(
                fields=["route", "checkpoint"],
                name="patrol_stop_unique_checkpoint",
                violation_error_message=_("该巡查点已在路线中。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.checkpoint}"

    def clean(self) -> None:
        if self.route_id and self.checkpoint_id and self.route.compound_id != self.checkpoint.compound_id:
            raise ValidationError({"checkpoint": _("巡查点不属于路线所在小区。")})


class Plan(models.Model):
    """巡查计划: when a route is walked (start times of day with a window, on weekdays, in a date
    range) and by whom (a guard, a team, or whoever is on duty in a duty room)."""

    route = models.ForeignKey(Route, verbose_name=_("路线"), on_delete=models.CASCADE, related_name="plans")
    name = models.CharField(_("名称"), max_length=128)
    # "HH:MM" local (Asia/Shanghai) start times; a window may run past midnight.
    start_times = models.JSONField(_("开始时间"), default=list, help_text=_("每天的开始时间，如 08:00、20:30"))
    window_minutes = models.PositiveIntegerField(
        _("时间窗（分钟）"), default=60, validators=[MinValueValidator(1), MaxValueValidator(24 * 60)]
    )
    weekdays = models.JSONField(_("星期"), default=list, help_text=_("0=周一 … 6=周日；空表示每天"))
    valid_from = models.DateField(_("生效日期"))
    valid_to = models.DateField(_("失效日期"), null=True, blank=True)
    guard = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("巡查人员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patrol_plans",
    )
    team = models.ForeignKey(
        PatrolTeam, verbose_name=_("巡防队伍"), null=True, blank=True, on_delete=models.SET_NULL, related_name="plans"
    )
    duty_room = models.ForeignKey(
        "compounds.DutyRoom",
        verbose_name=_("值班室（按排班）"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patrol_plans",
        help_text=_("由该值班室当班人员巡查"),
    )
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("巡查计划")
        verbose_name_plural = _("巡查计划")
        ordering = ["route_id", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                name="patrol_plan_valid_range",
                violation_error_message=_("失效日期不能早于生效日期。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from .schedule import parse_start_times

        errors: dict[str, object] = {}
        try:
            self.start_times = parse_start_times(self.start_times)
        except ValueError as exc:
            errors["start_times"] = str(exc)
        if not isinstance(self.weekdays, list) or any(
            not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in self.weekdays
        ):
            errors["weekdays"] = _("星期须为 0（周一）到 6（周日）的整数列表。")
        if not (self.guard_id or self.team_id or self.duty_room_id):
            errors["guard"] = _("请指定巡查人员、巡防队伍或值班室之一。")
        team, room = self.team, self.duty_room
        if team is not None and self.route_id and not team.compounds.filter(pk=self.route.compound_id).exists():
            errors["team"] = _("该队伍不负责路线所在小区。")
        if room is not None and self.route_id and room.compound_id != self.route.compound_id:
            errors["duty_room"] = _("值班室不属于路线所在小区。")
        if errors:
            raise ValidationError(errors)


class PatrolRun(models.Model):
    """One patrol instance (一次巡查): a route to walk within a window, and the stored result of its
    evaluation. Times are UTC; `day` is the Asia/Shanghai date the window starts on."""

    plan = models.ForeignKey(
        Plan, verbose_name=_("计划"), null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    route = models.ForeignKey(Route, verbose_name=_("路线"), on_delete=models.PROTECT, related_name="runs")
    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="patrol_runs")
    day = models.DateField(_("日期"))
    window_start = models.DateTimeField(_("计划开始"))
    window_end = models.DateTimeField(_("计划结束"))
    guard = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("巡查人员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patrol_runs",
    )
    team = models.ForeignKey(
        PatrolTeam, verbose_name=_("巡防队伍"), null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=c.RunStatus.choices, default=c.RunStatus.NOT_STARTED, db_index=True
    )
    # Evaluation results (evaluation.evaluate_run), rewritten on every evaluation.
    started_at = models.DateTimeField(_("首次签到"), null=True, blank=True)
    finished_at = models.DateTimeField(_("末次签到"), null=True, blank=True)
    expected_count = models.PositiveSmallIntegerField(_("应巡点数"), default=0)
    completed_count = models.PositiveSmallIntegerField(_("已巡点数"), default=0)
    missed_checkpoints = models.JSONField(_("漏检巡查点"), default=list, blank=True)
    punctuality = models.CharField(
        _("准时性"), max_length=16, choices=c.Punctuality.choices, default=c.Punctuality.NONE, blank=True
    )
    early_minutes = models.PositiveIntegerField(_("提前（分钟）"), default=0)
    late_minutes = models.PositiveIntegerField(_("超时（分钟）"), default=0)
    out_of_order = models.PositiveSmallIntegerField(_("顺序错误次数"), default=0)
    too_fast_legs = models.JSONField(_("过快路段"), default=list, blank=True)
    duration_too_short = models.BooleanField(_("用时过短"), default=False)
    duration_too_long = models.BooleanField(_("用时过长"), default=False)
    repeat_reads = models.PositiveIntegerField(_("重复签到"), default=0)
    foreign_reads = models.PositiveIntegerField(_("非本路线签到"), default=0)
    score = models.PositiveSmallIntegerField(_("得分"), null=True, blank=True)
    evaluated_at = models.DateTimeField(_("评估时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    not_started_alarm_id = models.BigIntegerField(_("未开始报警"), null=True, blank=True)
    missed_alarm_id = models.BigIntegerField(_("漏检报警"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("巡查任务")
        verbose_name_plural = _("巡查任务")
        ordering = ["-window_start", "id"]
        indexes = [
            models.Index(fields=["compound", "window_start"], name="patrol_run_compound_start"),
            models.Index(fields=["status", "window_end"], name="patrol_run_status_end"),
            models.Index(fields=["guard", "window_start"], name="patrol_run_guard_start"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "window_start"], condition=models.Q(plan__isnull=False), name="patrol_run_unique_slot"
            ),
            models.CheckConstraint(
                condition=models.Q(window_end__gt=models.F("window_start")), name="patrol_run_window_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.route} {self.day:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.status in c.OPEN_STATUSES

    @property
    def completion_rate(self) -> float | None:
        return self.completed_count / self.expected_count if self.expected_count else None


class CheckinQuerySet(models.QuerySet):
    def with_flag(self, flag: str) -> CheckinQuerySet:
        # JSON list containment as text so that it works on SQLite as on PostgreSQL.
        return self.filter(flags__icontains=f'"{flag}"')

    def of_runs(self, run_ids) -> CheckinQuerySet:
        return self.filter(run_id__in=run_ids)


class Checkin(models.Model):
    """One read of a checkpoint tag (签到), from a phone, a handheld reader, a device event or the
    API. Nothing read is dropped: an unknown tag, a tag of another route, a repeat, a read outside
    any running patrol are stored with a flag, and evaluation decides what counts."""

    compound = models.ForeignKey(
        Compound, verbose_name=_("小区"), null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False
    )
    checkpoint = models.ForeignKey(
        Checkpoint,
        verbose_name=_("巡查点"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    code = models.CharField(_("读取的标识码"), max_length=128)
    run_id = models.BigIntegerField(_("巡查任务"), null=True, blank=True)
    guard = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("巡查人员"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    reader = models.ForeignKey(
        "devices.Device",
        verbose_name=_("巡更棒"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    source = models.CharField(_("来源"), max_length=8, choices=c.Source.choices)
    occurred_at = models.DateTimeField(_("签到时间"))
    device_time = models.DateTimeField(_("设备时间"), null=True, blank=True)
    received_at = models.DateTimeField(_("接收时间"))
    clock_offset_seconds = models.IntegerField(_("时钟偏差（秒）"), default=0)
    flags = models.JSONField(_("标记"), default=list, blank=True)
    # Decided when recorded: a known checkpoint of its run's route, read while that run could be
    # walked. Evaluation reads only these (and counts a checkpoint once however often it was read).
    eligible = models.BooleanField(_("计入评估"), default=False)
    photo = models.JSONField(_("照片"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=500, blank=True)
    client_id = models.CharField(_("客户端编号"), max_length=64, blank=True)
    upload_id = models.BigIntegerField(_("上传批次"), null=True, blank=True)
    event_id = models.BigIntegerField(_("事件"), null=True, blank=True)

    objects = CheckinQuerySet.as_manager()

    class Meta:
        db_table = CHECKIN_TABLE
        verbose_name = _("巡查签到")
        verbose_name_plural = _("巡查签到")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["run_id", "occurred_at"], name="patrol_checkin_run"),
            models.Index(fields=["compound", "occurred_at"], name="patrol_checkin_compound"),
            models.Index(fields=["guard", "client_id"], name="patrol_checkin_client"),
            models.Index(fields=["reader", "device_time"], name="patrol_checkin_reader"),
        ]

    def __str__(self) -> str:
        return f"{self.code} @ {self.occurred_at:%Y-%m-%d %H:%M:%S}"

    def has_flag(self, flag: str) -> bool:
        return flag in (self.flags or [])


class PatrolException(models.Model):
    """异常 reported by a guard on a round, with an optional photo (events.media reference)."""

    run = models.ForeignKey(
        PatrolRun,
        verbose_name=_("巡查任务"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exceptions",
    )
    compound = models.ForeignKey(
        Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="patrol_exceptions"
    )
    checkpoint = models.ForeignKey(
        Checkpoint,
        verbose_name=_("巡查点"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exceptions",
    )
    guard = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("报告人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="patrol_exceptions",
    )
    at = models.DateTimeField(_("发现时间"))
    kind = models.CharField(_("类型"), max_length=16, choices=c.ExceptionKind.choices)
    note = models.TextField(_("说明"), blank=True)
    photo = models.JSONField(_("照片"), null=True, blank=True)
    client_id = models.CharField(_("客户端编号"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("巡查异常")
        verbose_name_plural = _("巡查异常")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["compound", "at"], name="patrol_exception_compound_at")]
        constraints = [
            models.UniqueConstraint(
                fields=["guard", "client_id"], condition=~models.Q(client_id=""), name="patrol_exception_client"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class ReaderUpload(models.Model):
    """One batch read off a handheld patrol reader (巡更棒), kept raw for audit and replay; the
    content hash makes a second upload of the same bytes a no-op."""

    reader = models.ForeignKey(
        "devices.Device",
        verbose_name=_("巡更棒"),
        on_delete=models.PROTECT,
        related_name="patrol_uploads",
        limit_choices_to={"device_type": "patrol_reader"},
    )
    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(_("接收时间"))
    content_type = models.CharField(_("格式"), max_length=8)
    content_hash = models.CharField(_("内容摘要"), max_length=64, unique=True)
    raw = models.TextField(_("原始内容"))
    reader_clock = models.DateTimeField(_("巡更棒时钟"), null=True, blank=True)
    clock_offset_seconds = models.IntegerField(_("时钟偏差（秒）"), default=0)
    read_count = models.PositiveIntegerField(_("记录数"), default=0)
    accepted_count = models.PositiveIntegerField(_("接收"), default=0)
    duplicate_count = models.PositiveIntegerField(_("重复"), default=0)
    unknown_count = models.PositiveIntegerField(_("未知标签"), default=0)
    rejected_count = models.PositiveIntegerField(_("拒收行"), default=0)
    errors = models.JSONField(_("拒收明细"), default=list, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("巡更棒上传")
        verbose_name_plural = _("巡更棒上传")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.reader} {self.received_at:%Y-%m-%d %H:%M}"
