"""Organisations, role grants, API tokens and the change history shared by every app."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import ALLOWED_PARENTS, ROLE_ORG_KINDS, ChangeAction, OrgKind, Role


class Organisation(models.Model):
    """A node of the organisation tree: police bureaus and stations, streets and communities,
    property companies and construction parties. `path` ("/1/4/9/") makes "everything under X"
    one indexed prefix query, which is what scope filtering needs."""

    kind = models.CharField(_("类型"), max_length=32, choices=OrgKind.choices, db_index=True)
    name = models.CharField(_("名称"), max_length=128)
    code = models.CharField(_("统一代码"), max_length=64, blank=True, help_text=_("统一社会信用代码或机构代码"))
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    jurisdiction = models.TextField(_("辖区范围"), blank=True, help_text=_("派出所辖区描述（第34条）"))
    contact_phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    address = models.CharField(_("地址"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("组织")
        verbose_name_plural = _("组织")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="org_unique_kind_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        allowed = ALLOWED_PARENTS.get(self.kind, {None})
        parent_kind = self.parent.kind if self.parent_id and self.parent else None
        if parent_kind not in allowed:
            raise ValidationError({"parent": _("%(kind)s 不能隶属于该上级组织。") % {"kind": self.get_kind_display()}})
        if self.pk and self.parent_id and self.parent and f"/{self.pk}/" in self.parent.path:
            raise ValidationError({"parent": _("上级组织不能是自身或下级组织。")})

    def save(self, *args, **kwargs) -> None:
        with transaction.atomic():
            super().save(*args, **kwargs)
            new_path = (self.parent.path if self.parent_id and self.parent else "/") + f"{self.pk}/"
            if new_path != self.path:
                old_path, self.path = self.path, new_path
                Organisation.objects.filter(pk=self.pk).update(path=new_path)
                if old_path:  # moved: re-root every descendant
                    for child in Organisation.objects.filter(path__startswith=old_path).exclude(pk=self.pk):
                        child.path = new_path + child.path[len(old_path) :]
                        Organisation.objects.filter(pk=child.pk).update(path=child.path)

    def ancestors(self) -> models.QuerySet[Organisation]:
        ids = [int(p) for p in self.path.strip("/").split("/") if p]
        return Organisation.objects.filter(pk__in=ids).order_by("path")


class RoleGrant(models.Model):
    """A user holds a role within a scope: an organisation (and everything under it) or one
    compound. Platform admins hold a global grant (no scope)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("所属组织"), null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    compound = models.ForeignKey(
        "compounds.Compound",
        verbose_name=_("小区"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="grants",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [
            models.CheckConstraint(
                condition=~(models.Q(organisation__isnull=False) & models.Q(compound__isnull=False)),
                name="grant_single_scope",
            ),
        ]

    def __str__(self) -> str:
        scope = self.organisation or self.compound or _("全平台")
        return f"{self.user} · {self.get_role_display()} · {scope}"

    def clean(self) -> None:
        if self.role == Role.PLATFORM_ADMIN:
            if self.organisation_id or self.compound_id:
                raise ValidationError(_("平台管理员授权不限定范围。"))
            return
        if not self.organisation_id and not self.compound_id:
            raise ValidationError(_("请选择授权范围：组织或小区。"))
        kinds = ROLE_ORG_KINDS.get(self.role, set())
        if self.organisation_id and self.organisation and self.organisation.kind not in kinds:
            raise ValidationError(
                {"organisation": _("%(role)s 不能授权在该类组织上。") % {"role": self.get_role_display()}}
            )
        if self.compound_id and self.role in {Role.POLICE_CITY, Role.POLICE_DISTRICT, Role.POLICE_STATION}:
            raise ValidationError({"compound": _("公安角色按辖区授权，不能限定到单个小区。")})


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """Token for integrations calling the REST API as a user. Only the hash is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=64)
    prefix = models.CharField(max_length=8, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user, name: str) -> tuple[ApiToken, str]:
        raw = "afg_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=raw[4:12], token_hash=hash_token(raw))
        return token, raw

    @classmethod
    def authenticate(cls, raw: str) -> ApiToken | None:
        token = cls.objects.select_related("user").filter(token_hash=hash_token(raw), revoked_at=None).first()
        if token is None or not token.user.is_active:
            return None
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            cls.objects.filter(pk=token.pk).update(last_used_at=now)
        return token


class ChangeRecord(models.Model):
    """History of every registry change: who, when, what, before/after (issue 3 §4)."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(_("对象"), max_length=255)
    compound = models.ForeignKey(
        "compounds.Compound", null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    action = models.CharField(_("操作"), max_length=16, choices=ChangeAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    changes = models.JSONField(_("变更内容"), default=dict, help_text=_("{字段: [修改前, 修改后]}"))
    note = models.CharField(_("说明"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("变更记录")
        verbose_name_plural = _("变更记录")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["compound", "-at"]),
            models.Index(fields=["content_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()} {self.object_repr}"
