"""Organisation kinds and roles (DESIGN.md, roles table)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgKind(models.TextChoices):
    CITY_BUREAU = "city_bureau", _("市公安局")
    DISTRICT_BUREAU = "district_bureau", _("区公安分局")
    POLICE_STATION = "police_station", _("派出所")
    STREET = "street", _("街道")
    COMMUNITY = "community", _("社区")
    PROPERTY_COMPANY = "property_company", _("物业服务企业")
    DEVELOPER = "developer", _("建设单位")
    DESIGNER = "designer", _("设计单位")
    CONTRACTOR = "contractor", _("施工单位")
    SUPERVISOR = "supervisor", _("监理单位")
    REVIEW_BODY = "review_body", _("审查机构")


POLICE_KINDS = {OrgKind.CITY_BUREAU, OrgKind.DISTRICT_BUREAU, OrgKind.POLICE_STATION}
CONSTRUCTION_KINDS = {OrgKind.DEVELOPER, OrgKind.DESIGNER, OrgKind.CONTRACTOR, OrgKind.SUPERVISOR}

# Which kinds may be the parent of which: keeps the tree the shape the regulation assumes.
ALLOWED_PARENTS: dict[str, set[str | None]] = {
    OrgKind.CITY_BUREAU: {None},
    OrgKind.DISTRICT_BUREAU: {OrgKind.CITY_BUREAU},
    OrgKind.POLICE_STATION: {OrgKind.DISTRICT_BUREAU},
    OrgKind.STREET: {None, OrgKind.DISTRICT_BUREAU},
    OrgKind.COMMUNITY: {OrgKind.STREET},
    OrgKind.PROPERTY_COMPANY: {None},
    OrgKind.DEVELOPER: {None},
    OrgKind.DESIGNER: {None},
    OrgKind.CONTRACTOR: {None},
    OrgKind.SUPERVISOR: {None},
    OrgKind.REVIEW_BODY: {None},
}


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", _("平台管理员")
    POLICE_CITY = "police_city", _("市局民警")
    POLICE_DISTRICT = "police_district", _("分局民警")
    POLICE_STATION = "police_station", _("派出所民警")
    COMMUNITY_MANAGER = "community_manager", _("社区管理员")
    PROPERTY_MANAGER = "property_manager", _("物业管理员")
    DUTY_OPERATOR = "duty_operator", _("值班员")
    GUARD = "guard", _("保安/巡防队员")
    CONSTRUCTION_PARTY = "construction_party", _("建设参与单位")
    REVIEWER = "reviewer", _("审查人员")


# Roles that may change the registry of the compounds in their scope: the property company
# maintains managed compounds (Art 30), the community unmanaged ones (Art 32).
REGISTRY_EDIT_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.PROPERTY_MANAGER, Role.COMMUNITY_MANAGER})

# The organisation kind a role's grant must be scoped to (None: compound-scoped or global).
ROLE_ORG_KINDS: dict[str, set[str]] = {
    Role.POLICE_CITY: {OrgKind.CITY_BUREAU},
    Role.POLICE_DISTRICT: {OrgKind.DISTRICT_BUREAU},
    Role.POLICE_STATION: {OrgKind.POLICE_STATION},
    Role.COMMUNITY_MANAGER: {OrgKind.STREET, OrgKind.COMMUNITY},
    Role.PROPERTY_MANAGER: {OrgKind.PROPERTY_COMPANY},
    Role.DUTY_OPERATOR: {OrgKind.PROPERTY_COMPANY, OrgKind.COMMUNITY},
    Role.GUARD: {OrgKind.PROPERTY_COMPANY, OrgKind.COMMUNITY},
    Role.CONSTRUCTION_PARTY: set(CONSTRUCTION_KINDS),
    Role.REVIEWER: {OrgKind.REVIEW_BODY},
    Role.PLATFORM_ADMIN: set(),
}


class ChangeAction(models.TextChoices):
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    ARCHIVE = "archive", _("归档")
    IMPORT = "import", _("导入")


_LABELS: dict[tuple[type[models.Choices], str | None], dict[object, str]] = {}


def choice_label(choices: type[models.Choices], value: object) -> str:
    """A choice's label in the active language, translated once per language rather than per
    row (a page of 50 compounds otherwise runs a gettext look-up per row and column)."""
    from django.utils.translation import get_language

    key = (choices, get_language())
    labels = _LABELS.get(key)
    if labels is None:
        labels = _LABELS[key] = {member.value: str(member.label) for member in choices}
    return labels.get(value, str(value))
