"""A frozen, JSON-ready picture of a compound and of everything the rules read.

Rules never touch the database: they judge a `Snapshot`. `build_snapshots` loads any number of
compounds with one query per table (filtered by compound id, `values_list` tuples, no model
instances), so assessing the whole city costs the same number of queries as one compound.

Each table's rows are named tuples (immutable, attribute access at C speed, encoded as
arrays). The canonical JSON is columnar — field names once per table, then rows as arrays —
with sorted keys and no whitespace; its sha256 is the snapshot hash, and a stored snapshot is
read back into an equal `Snapshot`, so a past report can be reproduced.
Values are JSON-native: decimals as strings (exact: "19.9"), dates as ISO text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict, namedtuple
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, partial
from itertools import groupby
from operator import itemgetter
from types import MappingProxyType
from typing import Any, Protocol, cast

import orjson
from django.db import connections, models
from django.db.models import Case, CharField, ExpressionWrapper, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from anfang.devices.models import PLACE_FIELDS

FORMAT = 1

# A later module (duty, maintenance, retention …) registers a loader here:
# name -> f(compound_ids) -> {compound_id: JSON-ready dict}. Its data lands in
# `Snapshot.operations[name]`, which the selectors in `compliance.selectors` read.
OPERATION_LOADERS: dict[str, Callable[[list[int]], dict[int, Any]]] = {}

# Device place foreign keys, in their order of precedence (one registry of them, in devices).
DEVICE_PLACES = PLACE_FIELDS


class RowType(Protocol):
    """A snapshot table's row class (a named tuple)."""

    _fields: tuple[str, ...]

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

    def _make(self, iterable: Iterable[Any]) -> Any: ...


@dataclass(frozen=True)
class Table:
    """One snapshot table: the model, its plain columns, its joined columns and the columns
    `build_snapshots` works out in Python (`computed`)."""

    name: str
    model: str
    columns: tuple[str, ...]
    joined: Mapping[str, str] = field(default_factory=dict)
    computed: tuple[str, ...] = ()

    @cached_property
    def fields(self) -> tuple[str, ...]:
        return (*self.columns, *self.joined, *self.computed)

    @cached_property
    def row(self) -> RowType:
        return cast(RowType, namedtuple(f"{self.name.title().replace('_', '')}Row", self.fields))

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
            computed=("place_kind", "place_id", "place_compound_id", "n_places"),
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
_FIELDS = {"compound": list(COMPOUND.fields), **{name: list(t.fields) for name, t in TABLES.items()}}


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
    def _index(self) -> tuple[tuple, dict[str, list[Any]], dict[str, dict[int, list[Any]]]]:
        """The installed devices, by subsystem, and by place (one pass over the devices)."""
        installed: list[Any] = []
        by_subsystem: defaultdict[str, list[Any]] = defaultdict(list)
        at: defaultdict[str, dict[int, list[Any]]] = defaultdict(dict)
        cid = self.compound.id
        for d in self.devices:
            if d.status in INSTALLED:
                installed.append(d)
                by_subsystem[d.subsystem].append(d)
                if d.place_kind and d.place_compound_id == cid:
                    at[d.place_kind].setdefault(d.place_id, []).append(d)
        return tuple(installed), dict(by_subsystem), dict(at)

    @property
    def installed(self) -> tuple:
        """Devices in place and meant to work (active or faulty)."""
        return self._index[0]

    @property
    def installed_by_subsystem(self) -> dict[str, list[Any]]:
        return self._index[1]

    @property
    def installed_at(self) -> dict[str, dict[int, list[Any]]]:
        """Installed devices by place kind, then place id; places of THIS compound only (a link
        into another compound covers nothing here; the data-quality rule reports it)."""
        return self._index[2]

    @cached_property
    def memo(self) -> dict[Any, Any]:
        """Answers the rules share within one snapshot (see `facts.devices_at`)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": FORMAT,
            "compound": {"fields": list(COMPOUND.fields), "row": list(self.compound)},
            "operations": _json_ready(dict(self.operations)),
        }
        for name, table in TABLES.items():
            data[name] = {"fields": list(table.fields), "rows": list(map(tuple, getattr(self, name)))}
        return data

    def canonical_bytes(self) -> bytes:
        """Sorted keys, no whitespace, UTF-8: byte for byte what `json.dumps(sort_keys=True,
        ensure_ascii=False, separators=(",", ":"))` of `to_dict()` writes (so hashes stay as they
        were), several times faster: orjson, the rows handed over as they are (named tuples,
        which orjson writes as arrays through `default=tuple`)."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "compound": {"fields": _FIELDS["compound"], "row": self.compound},
            "operations": _json_ready(dict(self.operations)) if self.operations else {},
        }
        for name in TABLES:
            data[name] = {"fields": _FIELDS[name], "rows": getattr(self, name)}
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=tuple)

    def canonical_json(self) -> str:
        return self.canonical_bytes().decode()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        tables = {name: _read_rows(table, data.get(name)) for name, table in TABLES.items()}
        compound = data["compound"]
        row = _read_rows(COMPOUND, {"fields": compound["fields"], "rows": [compound["row"]]})[0]
        return cls(compound=row, operations=MappingProxyType(dict(data.get("operations") or {})), **tables)

    @classmethod
    def from_json(cls, text: str | bytes) -> Snapshot:
        return cls.from_dict(orjson.loads(text))


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


def snapshot_hash(snapshot: Snapshot | str | bytes) -> str:
    """sha256 of the canonical JSON (sorted keys, no whitespace, UTF-8)."""
    if isinstance(snapshot, Snapshot):
        snapshot = snapshot.canonical_bytes()
    return hashlib.sha256(snapshot.encode() if isinstance(snapshot, str) else snapshot).hexdigest()


def _converter(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return str(value)  # the field's own decimal places, identical on SQLite and PostgreSQL
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _tuples(rows: QuerySet) -> list[tuple]:
    """A values_list queryset's rows in one fetch, not in chunks of 100. On PostgreSQL straight
    from the cursor: psycopg already returns the Python types (int, str, bool, Decimal, date,
    aware datetime) and Django would only add `int()` over integer expressions; elsewhere through
    the compiler, whose converters matter (SQLite's booleans, decimals and dates)."""
    compiler = rows.query.get_compiler(rows.db)
    if connections[rows.db].vendor == "postgresql":
        with connections[rows.db].cursor() as cursor:
            cursor.execute(*compiler.as_sql())
            return cursor.fetchall()
    return list(compiler.results_iter(tuple_expected=True, chunk_size=FETCH_CHUNK))


def _fetch(table: Table, qs: QuerySet, expressions: Mapping[str, Any] | None = None) -> list[tuple]:
    """The table's columns, joined columns and `expressions` as plain tuples ordered by id; only
    decimal and date columns are converted."""
    from django.apps import apps

    model = apps.get_model(table.model)
    rows = qs.annotate(**{k: F(v) for k, v in table.joined.items()}, **(expressions or {})).order_by("id")
    result = _tuples(rows.values_list(*table.columns, *table.joined, *(expressions or {})))
    convert = [
        i
        for i, name in enumerate(table.columns)
        if isinstance(model._meta.get_field(name), models.DecimalField | models.DateField)
    ]
    if not convert:
        return result
    for n, r in enumerate(result):
        values = list(r)
        for i in convert:
            values[i] = _converter(values[i])
        result[n] = tuple(values)
    return result


FETCH_CHUNK = 100_000
# Device place kind -> the snapshot table holding those places.
PLACE_TABLES = {kind: f"{kind}s" for kind in DEVICE_PLACES}


def _device_place() -> dict[str, Any]:
    """A device's place from its own columns (no join): the first linked place in DEVICE_PLACES
    order, and how many places it links (> 1 only for inconsistent data, which the data-quality
    rule reports)."""
    linked = {p: Q(**{f"{p}_id__isnull": False}) for p in DEVICE_PLACES}
    n_places = sum((Case(When(q, then=Value(1)), default=Value(0)) for q in linked.values()), Value(0))
    return {
        "place_kind": Case(*(When(q, then=Value(p)) for p, q in linked.items()), output_field=CharField()),
        "place_id": Coalesce(*(F(f"{p}_id") for p in DEVICE_PLACES)),
        "n_places": ExpressionWrapper(n_places, output_field=IntegerField()),
    }


def _with_place_compound(rows: list[tuple], place_compound: dict[str, dict[int, int]]) -> list[tuple]:
    """Device rows ending (place_kind, place_id, n_places) get the place's compound inserted before
    `n_places`, from the places already loaded; a place in a compound outside the loaded set is
    looked up (one query, only when the registry holds such a link)."""
    missing = {(r[-3], r[-2]) for r in rows if r[-3] is not None and r[-2] not in place_compound[r[-3]]}
    if missing:
        for kind, pid, compound_id in _place_compounds(missing):
            place_compound[kind][pid] = compound_id
    return [(*r[:-1], place_compound[r[-3]][r[-2]] if r[-3] else None, r[-1]) for r in rows]


def _place_compounds(places: set[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """(kind, id, compound id) of the given places, in one UNION query."""
    from django.apps import apps

    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, pid in places:
        by_kind[kind].append(pid)
    queries = [
        apps.get_model(TABLES[PLACE_TABLES[kind]].model)
        ._default_manager.filter(id__in=ids)
        .order_by()
        .values_list(Value(kind, output_field=CharField()), "id", "compound_id")
        for kind, ids in by_kind.items()
    ]
    return list(queries[0].union(*queries[1:], all=True))


def _by_compound(table: Table, rows: list[tuple]) -> dict[int, tuple]:
    """Rows (ordered by id) as named tuples grouped by compound, still ordered by id."""
    at = table.fields.index("compound_id")
    rows.sort(key=itemgetter(at))  # stable; nearly sorted already, as ids follow compounds
    make = partial(tuple.__new__, cast("type[tuple[Any, ...]]", table.row))  # namedtuple._make without its frame
    return {cid: tuple(map(make, group)) for cid, group in groupby(rows, itemgetter(at))}


def build_snapshots(compounds: QuerySet) -> dict[int, Snapshot]:
    """Snapshots of every compound in the queryset: 1 + 12 table queries (+ one per registered
    operation loader, + one if a device is linked to a place of a compound outside the set),
    whatever the number of compounds."""
    from django.apps import apps

    compound_rows = [COMPOUND.row._make(r) for r in _fetch(COMPOUND, compounds)]
    ids = [r.id for r in compound_rows]
    if not ids:
        return {}
    # A subquery, not 1,500 bound ids: the database does the semi-join, the driver parses less.
    selected = compounds.order_by().values("pk")
    grouped: dict[str, dict[int, tuple]] = {}
    place_compound: dict[str, dict[int, int]] = {}  # place kind -> place id -> its compound
    kinds = {table: kind for kind, table in PLACE_TABLES.items()}
    for name, table in TABLES.items():  # devices last: their places are known by then
        qs = apps.get_model(table.model)._default_manager.filter(compound_id__in=selected)
        if name == "devices":
            rows = _with_place_compound(_fetch(table, qs, _device_place()), place_compound)
        else:
            rows = _fetch(table, qs)
        if name in kinds:
            at = table.fields.index("compound_id")
            place_compound[kinds[name]] = {r[0]: r[at] for r in rows}
        grouped[name] = _by_compound(table, rows)
    operations = {name: loader(ids) for name, loader in OPERATION_LOADERS.items()}
    return {
        row.id: Snapshot(
            compound=row,
            operations=MappingProxyType(
                {name: _json_ready(data[row.id]) for name, data in operations.items() if row.id in data}
            ),
            **{name: by_compound.get(row.id, ()) for name, by_compound in grouped.items()},
        )
        for row in compound_rows
    }
