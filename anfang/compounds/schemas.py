"""API schemas of the compound registry, generated from the models (anfang.core.schemas)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema
from pydantic import BaseModel, create_model

from anfang.core.choices import choice_label
from anfang.core.models import ChangeRecord
from anfang.core.schemas import ModelSchemas, filter_schema, model_schemas

from .choices import CompoundStatus, ManagementMode
from .filters import CompoundFilter
from .models import PART_MODELS, Compound, CompoundPart
from .selectors import counted_models


def part_slug(model: type[CompoundPart]) -> str:
    """URL segment of a part: its related name with dashes (perimeter_segments → perimeter-segments)."""
    return str(model._meta.default_related_name).replace("_", "-")


# The part registry: URL slug → model; every part endpoint and count is generated from it.
PARTS: dict[str, type[CompoundPart]] = {part_slug(m): m for m in PART_MODELS}
PART_SCHEMAS: dict[str, ModelSchemas] = {slug: model_schemas(m, read_only=("compound",)) for slug, m in PARTS.items()}

_count_fields: dict[str, Any] = {
    rel: (int, Field(title=str(m._meta.verbose_name_plural))) for rel, m in counted_models().items()
}
# A plain pydantic model: validated from a dict in Rust, without ninja's per-attribute resolver pass.
CompoundCounts = create_model("CompoundCounts", __base__=BaseModel, **_count_fields)


def with_list_data(qs: QuerySet) -> QuerySet:
    """The related organisations every row shows; counts come per page (`selectors.with_counts`)."""
    return qs.select_related("police_station__parent", "community", "property_company")


def _name(org: Any) -> str | None:
    return org.name if org is not None else None


class CompoundExtra(Schema):
    """Computed columns of a compound: the organisations' names, Art 5/6 mode, labels, counts."""

    district: int | None = Field(title="区公安分局")
    district_name: str | None
    police_station_name: str
    community_name: str | None
    property_company_name: str | None
    management_mode: ManagementMode = Field(
        description="第5条（物业管理）/ 第6条（无物业管理），由是否有物业服务企业决定"
    )
    management_mode_label: str
    status_label: str
    counts: CompoundCounts  # type: ignore[valid-type]

    @staticmethod
    def resolve_district(obj: Compound) -> int | None:
        return obj.police_station.parent_id

    @staticmethod
    def resolve_district_name(obj: Compound) -> str | None:
        return _name(obj.police_station.parent)

    @staticmethod
    def resolve_police_station_name(obj: Compound) -> str:
        return obj.police_station.name

    @staticmethod
    def resolve_community_name(obj: Compound) -> str | None:
        return _name(obj.community)

    @staticmethod
    def resolve_property_company_name(obj: Compound) -> str | None:
        return _name(obj.property_company)

    @staticmethod
    def resolve_management_mode_label(obj: Compound) -> str:
        return choice_label(ManagementMode, obj.management_mode)

    @staticmethod
    def resolve_status_label(obj: Compound) -> str:
        return choice_label(CompoundStatus, obj.status)

    @staticmethod
    def resolve_counts(obj: Compound) -> dict[str, int]:
        return obj.counts  # type: ignore[attr-defined]


COMPOUND = model_schemas(Compound, read_only=("archived_at",), out_base=CompoundExtra)

CompoundFilterQuery = filter_schema(CompoundFilter, Compound, "CompoundFilterQuery", extra={"mode": ManagementMode})


class ChangeExtra(Schema):
    action_label: str
    actor_name: str | None
    object_type: str = Field(description="对象类型（模型名）")

    @staticmethod
    def resolve_action_label(obj: ChangeRecord) -> str:
        return str(obj.get_action_display())

    @staticmethod
    def resolve_actor_name(obj: ChangeRecord) -> str | None:
        return obj.actor.get_username() if obj.actor else None

    @staticmethod
    def resolve_object_type(obj: ChangeRecord) -> str:
        return obj.content_type.model


ChangeOut = model_schemas(ChangeRecord, out_base=ChangeExtra).out
