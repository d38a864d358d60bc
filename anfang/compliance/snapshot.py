"""A frozen, JSON-ready picture of a compound and of everything the rules read.

Rules never touch the database: they judge a `Snapshot`. `build_snapshots` loads any number of
compounds with one query per table (filtered by compound id, `values_list` tuples, no model
instances), so assessing the whole city costs the same number of queries as one compound.

Each table's rows are named tuples (immutable, attribute access at C speed, encoded by the
C JSON encoder as arrays). The canonical JSON is columnar — field names once per table, then
rows as arrays — with sorted keys and no whitespace; its sha256 is the snapshot hash, and a
stored snapshot is read back into an equal `Snapshot`, so a past report can be reproduced.
Values are JSON-native: decimals as strings (exact: "19.9"), dates as ISO text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict, namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from types import MappingProxyType
from typing import Any

from django.db import models
from django.db.models import Case, CharField, F, IntegerField, QuerySet, Value, When
from django.db.models.functions import Coalesce

FORMAT = 1

# A later module (duty, maintenance, retention …) registers a loader here:
# name -> f(compound_ids) -> {compound_id: JSON-ready dict}. Its data lands in
# `Snapshot.operations[name]`, which the selectors in `compliance.selectors` read.
OPERATION_LOADERS: dict[str, Callable[[list[int]], dict[int, Any]]] = {}

# Device place foreign keys, in the order of devices.models.PLACE_FIELDS.
DEVICE_PLACES = (
    "entrance",
    "unit",
    "parking_lot",
    "parking_entrance",
    "elevator",
    "perimeter_segment",
    "public_area",
    "duty_room",
)


def _device_annotations() -> dict[str, Any]:
    """The device's place (kind, id, the place's compound) worked out in SQL; `n_places` > 1
    only for inconsistent data, which the data-quality rule reports."""
    linked = {p: When(**{f"{p}__isnull": False}, then=Value(p)) for p in DEVICE_PLACES}
    n_places: Any = Value(0)
    for p in DEVICE_PLACES:
        n_places = n_places + Case(When(**{f"{p}__isnull": False}, then=Value(1)), default=Value(0))
    return {
        "place_kind": Case(*linked.values(), default=Value(None), output_field=CharField()),
        "place_id": Coalesce(*(F(f"{p}_id") for p in DEVICE_PLACES)),
        "place_compound_id": Coalesce(*(F(f"{p}__compound_id") for p in DEVICE_PLACES)),
        "n_places": models.ExpressionWrapper(n_places, output_field=IntegerField()),
    }


@dataclass(frozen=True)
class Table:
    """One snapshot table: the model, its plain columns and its joined/computed columns."""

    name: str
    model: str
    columns: tuple[str, ...]
    joined: Mapping[str, str | Callable[[], Any]] = field(default_factory=dict)

    @cached_property
    def fields(self) -> tuple[str, ...]:
        return (*self.columns, *self.joined)

    @cached_property
    def row(self) -> type:
        return namedtuple(f"{self.name.title().replace('_', '')}Row", self.fields)

    def make(self, **values: Any) -> Any:
        """A row with every unnamed field None (for tests and hand-built snapshots)."""
        return self.row(**{f: values.pop(f, None) for f in self.fields}, **values)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "security_teams",
            "compounds.SecurityTeam",
            ("id", "compound_id", "name", "kind", "provider_id", "headcount", "full_time", "contract_ref"),
            {"provider_name": "provider__name"},
        ),
        Table("buildings", "compounds.Building", ("id", "compound_id", "name", "floors")),
        Table(
            "units",
            "compounds.Unit",
            ("id", "compound_id", "name", "building_id", "households", "entrance_door_standard", "intercom"),
            {"building_name": "building__name", "building_compound_id": "building__compound_id"},
        ),
        Table(
            "entrances",
            "compounds.Entrance",
            ("id", "compound_id", "name", "role", "traffic", "gate_type", "barrier"),
        ),
        Table(
            "perimeter_segments",
            "compounds.PerimeterSegment",
            ("id", "compound_id", "name", "barrier", "length_m", "electronic_protection"),
        ),
        Table("parking_lots", "compounds.ParkingLot", ("id", "compound_id", "name", "kind", "spaces")),
        Table(
            "parking_entrances",
            "compounds.ParkingEntrance",
            ("id", "compound_id", "name", "parking_lot_id", "barrier"),
            {"parking_lot_name": "parking_lot__name", "parking_lot_compound_id": "parking_lot__compound_id"},
        ),
        Table(
            "elevators",
            "compounds.Elevator",
            ("id", "compound_id", "name", "building_id", "unit_id"),
            {
                "building_name": "building__name",
                "building_compound_id": "building__compound_id",
                "unit_building_id": "unit__building_id",
            },
        ),
        Table("public_areas", "compounds.PublicArea", ("id", "compound_id", "name", "kind")),
        Table(
            "duty_rooms",
            "compounds.DutyRoom",
            ("id", "compound_id", "name", "entrance_id", "location", "area_m2", "relation", "is_monitoring_centre"),
            {"entrance_compound_id": "entrance__compound_id"},
        ),
        Table(
            "door_surveys",
            "compounds.HouseholdDoorSurvey",
            (
                "id",
                "compound_id",
                "name",
                "surveyed_on",
                "households_surveyed",
                "standard_doors",
                "lock_grade_b_or_above",
            ),
        ),
        Table(
            "devices",
            "devices.Device",
            (
                "id",
                "compound_id",
                "name",
                "subsystem",
                "device_type",
                "status",
                "resolution_width",
                "resolution_height",
                "anpr",
                "police_linked",
            ),
            {name: (lambda name=name: _device_annotations()[name]) for name in _device_annotations()},
        ),
    )
}
COMPOUND = Table(
    "compound",
    "compounds.Compound",
    (
        "id",
        "name",
        "status",
        "police_station_id",
        "community_id",
        "property_company_id",
        "property_contract_ref",
        "households",
        "area_m2",
        "archived_at",
    ),
    {
        "police_station_name": "police_station__name",
        "community_name": "community__name",
        "property_company_name": "property_company__name",
    },
)

INSTALLED = frozenset({"active", "faulty"})  # planned and retired devices protect nothing


@dataclass(frozen=True)
class Snapshot:
    """Everything the rules may read about one compound; table rows are tuples ordered by id."""

    compound: Any
    security_teams: tuple = ()
    buildings: tuple = ()
    units: tuple = ()
    entrances: tuple = ()
    perimeter_segments: tuple = ()
    parking_lots: tuple = ()
    parking_entrances: tuple = ()
    elevators: tuple = ()
    public_areas: tuple = ()
    duty_rooms: tuple = ()
    door_surveys: tuple = ()
    devices: tuple = ()
    # Data of later modules (duty, maintenance, retention); see OPERATION_LOADERS.
    operations: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def compound_id(self) -> int:
        return self.compound.id

    @property
    def management_mode(self) -> str:
        """Art 5 / Art 6: managed exactly when a property company is responsible."""
        return "managed" if self.compound.property_company_id else "unmanaged"

    @cached_property
    def installed(self) -> tuple:
        """Devices in place and meant to work (active or faulty)."""
        return tuple(d for d in self.devices if d.status in INSTALLED)

    @cached_property
    def installed_by_subsystem(self) -> dict[str, list[Any]]:
        index: dict[str, list[Any]] = defaultdict(list)
        for d in self.installed:
            index[d.subsystem].append(d)
        return dict(index)

    @cached_property
    def installed_at(self) -> dict[tuple[str, int], list[Any]]:
        """Installed devices by (place kind, place id), places of THIS compound only (a link into
        another compound covers nothing here; the data-quality rule reports it)."""
        index: dict[tuple[str, int], list[Any]] = defaultdict(list)
        for d in self.installed:
            if d.place_kind and d.place_compound_id == self.compound.id:
                index[(d.place_kind, d.place_id)].append(d)
        return dict(index)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": FORMAT,
            "compound": {"fields": list(COMPOUND.fields), "row": list(self.compound)},
            "operations": _json_ready(dict(self.operations)),
        }
        for name, table in TABLES.items():
            data[name] = {"fields": list(table.fields), "rows": getattr(self, name)}
        return data

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        tables = {name: _read_rows(table, data.get(name)) for name, table in TABLES.items()}
        compound = data["compound"]
        row = _read_rows(COMPOUND, {"fields": compound["fields"], "rows": [compound["row"]]})[0]
        return cls(compound=row, operations=MappingProxyType(dict(data.get("operations") or {})), **tables)

    @classmethod
    def from_json(cls, text: str) -> Snapshot:
        return cls.from_dict(json.loads(text))


def _json_ready(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _read_rows(table: Table, stored: Mapping[str, Any] | None) -> tuple:
    if not stored:
        return ()
    fields = list(stored["fields"])
    if fields == list(table.fields):
        return tuple(table.row._make(r) for r in stored["rows"])
    # An older snapshot format: match by name, a field it lacks is None.
    return tuple(
        table.make(**{k: v for k, v in zip(fields, r, strict=True) if k in table.fields}) for r in stored["rows"]
    )


def snapshot_hash(snapshot: Snapshot | str) -> str:
    """sha256 of the canonical JSON (sorted keys, no whitespace, UTF-8)."""
    text = snapshot if isinstance(snapshot, str) else snapshot.canonical_json()
    return hashlib.sha256(text.encode()).hexdigest()


def _converter(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return str(value)  # the field's own decimal places, identical on SQLite and PostgreSQL
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _fetch(table: Table, qs: QuerySet) -> list:
    """Rows as named tuples; only decimal and date columns are converted."""
    from django.apps import apps

    model = apps.get_model(table.model)
    annotations = {k: (v() if callable(v) else F(v)) for k, v in table.joined.items()}
    rows = qs.annotate(**annotations).order_by("id").values_list(*table.fields)
    convert = [
        i
        for i, name in enumerate(table.columns)
        if isinstance(model._meta.get_field(name), models.DecimalField | models.DateField)
    ]
    make = table.row._make
    if not convert:
        return [make(r) for r in rows]
    result = []
    for r in rows:
        values = list(r)
        for i in convert:
            values[i] = _converter(values[i])
        result.append(make(values))
    return result


def build_snapshots(compounds: QuerySet) -> dict[int, Snapshot]:
    """Snapshots of every compound in the queryset: 1 + 12 table queries (+ one per registered
    operation loader), whatever the number of compounds."""
    from django.apps import apps

    compound_rows = _fetch(COMPOUND, compounds)
    ids = [r.id for r in compound_rows]
    if not ids:
        return {}
    # A subquery, not 1,500 bound ids: the database does the semi-join, the driver parses less.
    selected = compounds.order_by().values("pk")
    grouped: dict[str, dict[int, list]] = {}
    for name, table in TABLES.items():
        model = apps.get_model(table.model)
        by_compound: dict[int, list] = defaultdict(list)
        for row in _fetch(table, model._default_manager.filter(compound_id__in=selected)):
            by_compound[row.compound_id].append(row)
        grouped[name] = by_compound
    operations = {name: loader(ids) for name, loader in OPERATION_LOADERS.items()}
    return {
        row.id: Snapshot(
            compound=row,
            operations=MappingProxyType(
                {name: _json_ready(data[row.id]) for name, data in operations.items() if row.id in data}
            ),
            **{name: tuple(by_compound.get(row.id, ())) for name, by_compound in grouped.items()},
        )
        for row in compound_rows
    }
