"""Forms of the registry pages: the list filter, the compound form and one generic form for
every compound part, driven by the small `PARTS` registry below."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django import forms
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from anfang.core.choices import REGISTRY_EDIT_ROLES, OrgKind
from anfang.core.models import Organisation

from . import choices as c
from . import models as m
from .filters import CompoundFilter
from .querysets import orgs_in_scope


def formfield(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    """Native date pickers and short text areas for every model form of the pages."""
    if isinstance(db_field, models.DateField) and not isinstance(db_field, models.DateTimeField):
        kwargs["widget"] = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    if isinstance(db_field, models.TextField):
        kwargs["widget"] = forms.Textarea(attrs={"rows": 3})
    return db_field.formfield(**kwargs)


class GroupedForm(forms.BaseForm):
    """A form whose fields are shown in titled groups; `fieldsets` = ((title, (names, …)), …)."""

    fieldsets: tuple[tuple[Any, tuple[str, ...]], ...] = ()

    def groups(self) -> list[tuple[Any, list[forms.BoundField]]]:
        if not self.fieldsets:
            return [("", [self[name] for name in self.fields])]
        return [(title, [self[n] for n in names if n in self.fields]) for title, names in self.fieldsets]


# ---- list filter ---------------------------------------------------------------------------

ARCHIVED_CHOICES = [("", _("在册小区")), ("1", _("仅已归档")), ("all", _("全部"))]
ARCHIVED_VALUES = {"": False, "1": True, "all": None}


def blank_choice(choices: Any) -> list:
    """Choices of a filter dropdown, led by "all"."""
    return [("", _("全部")), *choices]


def _orgs(ids: QuerySet) -> QuerySet[Organisation]:
    return Organisation.objects.filter(pk__in=ids).order_by("name")


class CompoundFilterForm(forms.Form):
    """GET parameters of the compound list, parsed and validated; options are limited to the
    organisations of the compounds the user can see."""

    q = forms.CharField(label=_("搜索"), required=False, max_length=100)
    district = forms.ModelChoiceField(label=_("区（分局）"), queryset=Organisation.objects.none(), required=False)
    police_station = forms.ModelChoiceField(label=_("属地派出所"), queryset=Organisation.objects.none(), required=False)
    community = forms.ModelChoiceField(label=_("所属社区"), queryset=Organisation.objects.none(), required=False)
    property_company = forms.ModelChoiceField(
        label=_("物业服务企业"), queryset=Organisation.objects.none(), required=False
    )
    mode = forms.ChoiceField(
        label=_("管理方式（第5、6条）"), choices=blank_choice(c.ManagementMode.choices), required=False
    )
    status = forms.ChoiceField(label=_("状态"), choices=blank_choice(c.CompoundStatus.choices), required=False)
    archived = forms.ChoiceField(label=_("归档"), choices=ARCHIVED_CHOICES, required=False)

    def __init__(self, data: Any, *, visible: QuerySet[m.Compound]) -> None:
        super().__init__(data)
        for name, path in [
            ("district", "police_station__parent"),
            ("police_station", "police_station"),
            ("community", "community"),
            ("property_company", "property_company"),
        ]:
            self.fields[name].queryset = _orgs(visible.values(path))  # type: ignore[attr-defined]
            self.fields[name].empty_label = _("全部")  # type: ignore[attr-defined]

    def to_filter(self) -> CompoundFilter:
        """The filter of the valid fields; an invalid field is reported and left unfiltered."""
        self.is_valid()
        data = self.cleaned_data

        def pk(name: str) -> int | None:
            return data[name].pk if data.get(name) else None

        return CompoundFilter(
            q=data.get("q") or None,
            district=pk("district"),
            police_station=pk("police_station"),
            community=pk("community"),
            property_company=pk("property_company"),
            mode=data.get("mode") or None,
            status=data.get("status") or None,
            archived=ARCHIVED_VALUES.get(data.get("archived") or "", False),
        )


# ---- compound form -------------------------------------------------------------------------


def _pickable(kind: str, scope: set[int] | None, current: int | None) -> QuerySet[Organisation]:
    qs = Organisation.objects.filter(kind=kind)
    if scope is not None:
        qs = qs.filter(Q(pk__in=scope) | Q(pk=current))
    return qs.order_by("name")


class CompoundForm(GroupedForm, forms.ModelForm):
    fieldsets = (
        (_("基本信息"), ("name", "address", "status", "households", "area_m2", "year_built", "latitude", "longitude")),
        (
            _("属地与管理（第5、6条）"),
            ("police_station", "community", "property_company", "property_contract_ref"),
        ),
        (_("备注"), ("note",)),
    )

    class Meta:
        model = m.Compound
        fields = [
            "name",
            "address",
            "status",
            "households",
            "area_m2",
            "year_built",
            "latitude",
            "longitude",
            "police_station",
            "community",
            "property_company",
            "property_contract_ref",
            "note",
        ]
        formfield_callback = formfield

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        """Stations are a fact of location, so any can be chosen. Property companies — and
        communities for a community manager — only within the user's own editing scope, so a
        compound cannot be handed to someone else (services.require_in_own_scope)."""
        super().__init__(*args, **kwargs)
        scope = orgs_in_scope(user, REGISTRY_EDIT_ROLES)
        fields, inst = self.fields, self.instance
        fields["police_station"].queryset = Organisation.objects.filter(kind=OrgKind.POLICE_STATION).order_by("name")  # type: ignore[attr-defined]
        fields["property_company"].queryset = _pickable(OrgKind.PROPERTY_COMPANY, scope, inst.property_company_id)  # type: ignore[attr-defined]
        communities = _pickable(OrgKind.COMMUNITY, scope, inst.community_id)
        if scope is not None and not communities.filter(pk__in=scope).exists():
            # A property manager states which community the compound lies in, but registers
            # managed compounds only (Art 5), so the company is required.
            communities = _pickable(OrgKind.COMMUNITY, None, None)
            fields["property_company"].required = True
        fields["community"].queryset = communities  # type: ignore[attr-defined]


# ---- compound parts ------------------------------------------------------------------------


def _team_providers(compound: m.Compound) -> QuerySet[Organisation]:
    """Art 5: the property company's guard force; Art 6: the community's patrol team."""
    return Organisation.objects.filter(pk__in=[compound.property_company_id, compound.community_id])


class CompoundBoundForm(GroupedForm, forms.ModelForm):
    """A form for something that belongs to one compound (a part, a device). The compound comes
    from the URL and is never a field; every dropdown of parts offers only the compound's own,
    other dropdowns what `limits` allows (plus the current value)."""

    limits: dict[str, Callable[[m.Compound], QuerySet]] = {}

    def __init__(self, *args: Any, compound: m.Compound, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.compound = compound
        for name, f in self.fields.items():
            if not isinstance(f, forms.ModelChoiceField):
                continue
            related = f.queryset.model  # type: ignore[union-attr]
            if name in self.limits:
                current = getattr(self.instance, f"{name}_id", None)
                f.queryset = (self.limits[name](compound) | related.objects.filter(pk=current)).distinct()
            else:
                f.queryset = PARTS_BY_MODEL[related].queryset(compound)


@dataclass(frozen=True)
class PartSpec:
    """One kind of compound part as the pages handle it."""

    model: type[m.CompoundPart]
    related: tuple[str, ...] = ()  # select_related for the table and for dropdown labels
    limits: dict[str, Callable[[m.Compound], QuerySet]] = field(default_factory=dict)  # non-part FKs
    ordering: tuple[str, ...] = ()  # default: the model's

    @property
    def slug(self) -> str:
        return self.model._meta.model_name  # type: ignore[return-value]

    @property
    def title(self) -> str:
        return str(self.model._meta.verbose_name)

    def queryset(self, compound: m.Compound) -> QuerySet:
        qs = self.model.objects.filter(compound=compound).select_related(*self.related)
        return qs.order_by(*self.ordering) if self.ordering else qs

    @cached_property
    def form_class(self) -> type[CompoundBoundForm]:
        return forms.modelform_factory(  # type: ignore[return-value]
            self.model,
            form=type(f"{self.model.__name__}Form", (CompoundBoundForm,), {"limits": self.limits}),
            exclude=["compound"],
            formfield_callback=formfield,
        )

    @property
    def columns(self) -> list[str]:
        """The fields shown in the structure table: the name first, the note last."""
        names = [f.name for f in self.model._meta.concrete_fields if f.editable and not f.primary_key]
        return ["name", *(n for n in names if n not in {"compound", "name", "note"}), "note"]


PARTS: dict[str, PartSpec] = {
    spec.slug: spec
    for spec in (
        PartSpec(m.Building),
        PartSpec(m.Unit, related=("building",), ordering=("building__name", "name", "id")),
        PartSpec(m.Entrance),
        PartSpec(m.PerimeterSegment),
        PartSpec(m.ParkingLot),
        PartSpec(m.ParkingEntrance, related=("parking_lot",)),
        PartSpec(m.Elevator, related=("building", "unit__building"), ordering=("building__name", "name", "id")),
        PartSpec(m.PublicArea),
        PartSpec(m.DutyRoom, related=("entrance",)),
        PartSpec(m.SecurityTeam, related=("provider",), limits={"provider": _team_providers}),
        PartSpec(m.HouseholdDoorSurvey),
    )
}
PARTS_BY_MODEL: dict[type[models.Model], PartSpec] = {spec.model: spec for spec in PARTS.values()}
