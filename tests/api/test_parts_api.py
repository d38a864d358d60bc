"""Every part kind of PART_MODELS through the generated routes: CRUD, scope, validation, OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest

from anfang.compounds import choices as cc
from anfang.compounds.models import PART_MODELS, ParkingLot
from anfang.compounds.schemas import PARTS
from anfang.core.models import ChangeRecord
from tests import factories as f

from .conftest import ApiClient, client_for, fields_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(world) -> dict[str, Any]:
    cx = world["cx"]
    return {
        **world,
        "building": f.BuildingFactory(compound=cx, name="甲楼"),
        "lot": ParkingLot.objects.create(compound=cx, name="地库", kind=cc.ParkingKind.UNDERGROUND),
        "entrance": f.EntranceFactory(compound=cx, name="南门"),
    }


# slug → (create payload, patch payload), each a function of the `site`.
PAYLOADS = {
    "buildings": lambda s: ({"name": "8号楼", "floors": 18}, {"floors": 20}),
    "units": lambda s: (
        {"name": "3单元", "building": s["building"].pk, "intercom": "networked", "entrance_door_standard": True},
        {"intercom": "standalone"},
    ),
    "entrances": lambda s: (
        {"name": "北门", "role": "secondary", "traffic": "pedestrian"},
        {"gate_type": "metal_protective"},
    ),
    "perimeter-segments": lambda s: (
        {"name": "东墙", "barrier": "wall", "length_m": "120.5", "electronic_protection": True},
        {"height_m": "2.20"},
    ),
    "parking-lots": lambda s: ({"name": "地面车场", "kind": "surface", "spaces": 80}, {"spaces": 90}),
    "parking-entrances": lambda s: (
        {"name": "入口1", "parking_lot": s["lot"].pk, "barrier": "electric"},
        {"barrier": "manual"},
    ),
    "elevators": lambda s: ({"name": "1号梯", "building": s["building"].pk}, {"note": "第9条：轿厢摄像机"}),
    "public-areas": lambda s: ({"name": "中心广场", "kind": "square"}, {"kind": "main_road"}),
    "duty-rooms": lambda s: (
        {
            "name": "值班室",
            "entrance": s["entrance"].pk,
            "area_m2": "24.0",
            "relation": "merged",
            "is_monitoring_centre": True,
        },
        {"area_m2": "26.5"},
    ),
    "security-teams": lambda s: (
        {"name": "保安队", "kind": "guard_force", "provider": s["company_x"].pk, "headcount": 12},
        {"headcount": 14},
    ),
    "door-surveys": lambda s: (
        {"name": "2024年调查", "surveyed_on": "2024-05-01", "households_surveyed": 100, "standard_doors": 90},
        {"lock_grade_b_or_above": 50},
    ),
}


def test_registry_covers_every_part_model():
    assert set(PARTS.values()) == set(PART_MODELS)
    assert set(PAYLOADS) == set(PARTS)


@pytest.mark.parametrize("slug", sorted(PARTS))
def test_part_crud(site, manager_x, slug):
    client = client_for(manager_x)
    base = f"/compounds/{site['cx'].pk}/{slug}/"
    create, patch = PAYLOADS[slug](site)

    created = client.post(base, create)
    assert created.status_code == 201, created.content
    part = created.json()
    assert part["compound"] == site["cx"].pk
    assert {k: part[k] for k in create} == create

    listed = client.get(base).json()
    assert part["id"] in {p["id"] for p in listed["items"]}
    assert client.get(f"{base}{part['id']}").json()["name"] == create["name"]

    patched = client.patch(f"{base}{part['id']}", patch)
    assert patched.status_code == 200, patched.content
    key, value = next(iter(patch.items()))
    assert str(patched.json()[key]) == str(value)

    records = ChangeRecord.objects.filter(compound=site["cx"], object_id=str(part["id"]))
    assert sorted(records.values_list("action", flat=True)) == ["create", "update"]

    assert client.delete(f"{base}{part['id']}").status_code == 204
    assert client.get(f"{base}{part['id']}").status_code == 404


@pytest.mark.parametrize("slug", sorted(PARTS))
def test_part_of_other_compound_is_404_through_this_compound(site, as_admin, slug):
    create, _patch = PAYLOADS[slug](site)
    pk = as_admin.post(f"/compounds/{site['cx'].pk}/{slug}/", create).json()["id"]
    assert as_admin.get(f"/compounds/{site['cy'].pk}/{slug}/{pk}").status_code == 404
    assert as_admin.delete(f"/compounds/{site['cy'].pk}/{slug}/{pk}").status_code == 404


def test_station_officer_reads_parts_but_cannot_write(site, as_officer_a):
    base = f"/compounds/{site['cx'].pk}/buildings/"
    assert as_officer_a.get(base).json()["count"] == 1
    bid = site["building"].pk
    assert as_officer_a.post(base, {"name": "x"}).status_code == 403
    assert as_officer_a.patch(f"{base}{bid}", {"floors": 1}).status_code == 403
    assert as_officer_a.delete(f"{base}{bid}").status_code == 403
    assert as_officer_a.get(f"/compounds/{site['cy'].pk}/buildings/").status_code == 404


def test_manager_cannot_touch_other_company_parts(site, as_manager_x):
    other = f.BuildingFactory(compound=site["cy"], name="乙楼")
    assert as_manager_x.get(f"/compounds/{site['cy'].pk}/buildings/{other.pk}").status_code == 404
    assert as_manager_x.patch(f"/compounds/{site['cy'].pk}/buildings/{other.pk}", {"floors": 1}).status_code == 404
    # Naming Y's building from X's compound: it does not exist for X.
    response = as_manager_x.post(f"/compounds/{site['cx'].pk}/units/", {"name": "1单元", "building": other.pk})
    assert fields_in(response) == {"building"}


def test_building_of_another_compound_is_refused_by_the_model(site, as_admin):
    other = f.BuildingFactory(compound=site["cy"], name="乙楼")
    response = as_admin.post(f"/compounds/{site['cx'].pk}/units/", {"name": "1单元", "building": other.pk})
    assert fields_in(response) == {"building"}
    assert "不属于本小区" in response.json()["detail"][0]["msg"]


def test_part_validation_names_fields(site, as_manager_x):
    base = f"/compounds/{site['cx'].pk}"
    survey = {"name": "调查", "surveyed_on": "2024-01-01", "households_surveyed": 10, "standard_doors": 11}
    assert fields_in(as_manager_x.post(f"{base}/door-surveys/", survey)) == {"standard_doors"}  # Art 14
    assert fields_in(as_manager_x.post(f"{base}/entrances/", {"name": "门", "role": "side"})) == {"role", "traffic"}
    assert fields_in(as_manager_x.post(f"{base}/parking-entrances/", {"name": "口"})) == {"parking_lot"}
    assert fields_in(as_manager_x.post(f"{base}/buildings/", {"name": "楼", "floors": -1})) == {"floors"}


def test_duplicate_part_name_is_422(site, as_manager_x):
    response = as_manager_x.post(f"/compounds/{site['cx'].pk}/buildings/", {"name": "甲楼"})
    assert response.status_code == 422
    assert "同名" in response.json()["detail"][0]["msg"]


def test_openapi_shows_choices_and_field_docs(world):
    openapi = ApiClient().client.get("/api/openapi.json").json()
    schemas = openapi["components"]["schemas"]
    role = schemas["EntranceIn"]["properties"]["role"]
    assert role["enum"] == ["main", "secondary", "emergency"]
    assert "主出入口" in role["description"]
    intercom = schemas["UnitIn"]["properties"]["intercom"]
    assert "第13条" in intercom["description"]
    assert "" in intercom["enum"]  # blank = not surveyed
    assert schemas["BuildingIn"]["properties"]["name"]["title"] == "名称"
    assert schemas["BuildingIn"]["required"] == ["name"]
    assert "compound" not in schemas["BuildingIn"]["properties"]
    for slug in PARTS:
        assert f"/api/compounds/{{compound_id}}/{slug}/{{part_id}}" in openapi["paths"]
