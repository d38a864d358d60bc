"""Compound endpoints: CRUD, validation (field names, language), unique clash, delete vs archive,
history, pagination and filters, and a fixed number of queries per list page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anfang.compounds.models import Compound
from anfang.core.choices import OrgKind
from anfang.core.models import ChangeRecord
from tests import factories as f

from .conftest import client_for, fields_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_compound(world):
    return {
        "name": "幸福里",
        "address": "营口市站前区幸福路1号",
        "police_station": world["station_b"].pk,
        "property_company": world["company_y"].pk,
        "households": 120,
        "latitude": "40.666",
        "longitude": "122.2351",
    }


# ---------------------------------------------------------------- CRUD


def test_create_get_patch_compound(world, as_admin, new_compound):
    created = as_admin.post("/compounds/", new_compound)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["police_station"] == world["station_b"].pk
    assert body["police_station_name"] == "跃进派出所"
    assert body["district"] == world["district"].pk
    assert body["district_name"] == "站前分局"
    assert body["property_company_name"] == "乐家物业"
    assert body["management_mode"] == "managed"
    assert body["management_mode_label"] == "物业管理"
    assert body["status"] == "in_use"
    assert body["counts"]["buildings"] == 0
    assert body["latitude"] == "40.666000"

    got = as_admin.get(f"/compounds/{body['id']}").json()
    assert got["name"] == "幸福里"

    # Art 6: without a property company the community manages it.
    patched = as_admin.patch(f"/compounds/{body['id']}", {"property_company": None, "community": world["community"].pk})
    assert patched.status_code == 200, patched.content
    assert patched.json()["management_mode"] == "unmanaged"
    assert patched.json()["community_name"] == "青年社区"


def test_counts_follow_parts_and_devices(world, as_admin):
    cx = world["cx"]
    b = f.BuildingFactory(compound=cx)
    f.UnitFactory(compound=cx, building=b)
    f.UnitFactory(compound=cx, building=b)
    f.DeviceFactory(compound=cx)
    counts = as_admin.get(f"/compounds/{cx.pk}").json()["counts"]
    assert counts["buildings"] == 1
    assert counts["units"] == 2
    assert counts["devices"] == 1
    assert counts["entrances"] == 0


# ---------------------------------------------------------------- validation


def test_missing_fields_are_named(world, as_admin):
    response = as_admin.post("/compounds/", {"address": "a"})
    assert fields_in(response) == {"name", "police_station"}
    assert "必填" in response.json()["detail"][0]["msg"]


def test_validation_messages_in_english_on_request(world, admin):
    response = client_for(admin, language="en").post("/compounds/", {"address": "a", "police_station": 1})
    assert response.json()["detail"][0]["msg"] == "This field is required."


def test_model_bounds_are_checked_with_readable_messages(world, admin, new_compound):
    zh = client_for(admin).post("/compounds/", {**new_compound, "latitude": "95"})
    assert fields_in(zh) == {"latitude"}
    assert zh.json()["detail"][0]["msg"] == "确保该值小于或等于90。"
    en = client_for(admin, language="en").post("/compounds/", {**new_compound, "latitude": "95"})
    assert en.json()["detail"][0]["msg"] == "Ensure this value is less than or equal to 90."


def test_rules_of_the_model_clean_are_422_with_field(world, as_admin, new_compound):
    # Art 6: an unmanaged compound needs its community.
    response = as_admin.post("/compounds/", {**new_compound, "property_company": None})
    assert fields_in(response) == {"community"}
    assert "第6条" in response.json()["detail"][0]["msg"]


def test_bad_foreign_key_ids_are_422_naming_the_field(world, as_admin, new_compound):
    unknown = as_admin.post("/compounds/", {**new_compound, "police_station": 999999})
    assert fields_in(unknown) == {"police_station"}
    assert "999999" in unknown.json()["detail"][0]["msg"]
    # An organisation of the wrong kind (a community is no police station).
    wrong_kind = as_admin.post("/compounds/", {**new_compound, "police_station": world["community"].pk})
    assert fields_in(wrong_kind) == {"police_station"}
    both = as_admin.post("/compounds/", {**new_compound, "community": 999998, "property_company": 999997})
    assert fields_in(both) == {"community", "property_company"}


def test_wrong_types_and_enums_are_422(world, as_admin, new_compound):
    response = as_admin.post("/compounds/", {**new_compound, "households": "many", "status": "demolished"})
    assert fields_in(response) == {"households", "status"}
    assert as_admin.patch(f"/compounds/{world['cx'].pk}", {"name": "a\x00b"}).status_code == 422


def test_unique_name_per_station_is_422_not_500(world, as_admin, new_compound):
    clash = as_admin.post("/compounds/", {**new_compound, "name": "乐家小区"})  # already at station B
    assert clash.status_code == 422
    assert "同名" in clash.json()["detail"][0]["msg"]
    renamed = as_admin.patch(f"/compounds/{world['cu'].pk}", {"name": "安居花园"})  # same station A
    assert renamed.status_code == 422


def test_unparsable_body_is_400(world, as_admin):
    response = as_admin.client.post(
        "/api/compounds/", "{not json", content_type="application/json", headers=as_admin.headers
    )
    assert response.status_code == 400


# ---------------------------------------------------------------- delete, archive, history


def test_fresh_compound_can_be_deleted(world, as_admin, new_compound):
    pk = as_admin.post("/compounds/", new_compound).json()["id"]
    assert as_admin.delete(f"/compounds/{pk}").status_code == 204
    assert not Compound.objects.filter(pk=pk).exists()
    assert as_admin.get(f"/compounds/{pk}").status_code == 404


def test_delete_with_history_is_409_suggesting_archive(world, as_admin):
    cx = world["cx"]
    assert as_admin.post(f"/compounds/{cx.pk}/buildings/", {"name": "1号楼"}).status_code == 201
    refused = as_admin.delete(f"/compounds/{cx.pk}")
    assert refused.status_code == 409
    assert "归档" in refused.json()["detail"]
    assert Compound.objects.filter(pk=cx.pk).exists()


def test_delete_with_devices_is_409(world, as_admin):
    f.DeviceFactory(compound=world["cy"])
    refused = as_admin.delete(f"/compounds/{world['cy'].pk}")
    assert refused.status_code == 409
    assert "设备" in refused.json()["detail"]


def test_archive_and_unarchive(world, as_manager_x):
    cx = world["cx"]
    archived = as_manager_x.post(f"/compounds/{cx.pk}/archive")
    assert archived.status_code == 200
    assert archived.json()["archived_at"] is not None
    assert as_manager_x.get("/compounds/").json()["count"] == 0  # default list hides archived
    assert as_manager_x.get("/compounds/", archived=True).json()["count"] == 1
    assert as_manager_x.get(f"/compounds/{cx.pk}").status_code == 200  # still readable
    restored = as_manager_x.post(f"/compounds/{cx.pk}/unarchive")
    assert restored.json()["archived_at"] is None
    assert as_manager_x.get("/compounds/").json()["count"] == 1
    actions = list(ChangeRecord.objects.filter(compound=cx).values_list("action", flat=True))
    assert actions == ["update", "archive"]


def test_history_after_patch_shows_before_and_after(world, as_manager_x, manager_x):
    cx = world["cx"]
    as_manager_x.patch(f"/compounds/{cx.pk}", {"households": 350, "note": "第5条"})
    as_manager_x.post(f"/compounds/{cx.pk}/buildings/", {"name": "9号楼", "floors": 11})
    history = as_manager_x.get(f"/compounds/{cx.pk}/history").json()
    assert history["count"] == 2
    building, compound = history["items"]  # newest first
    assert compound["action"] == "update"
    assert compound["action_label"] == "修改"
    assert compound["actor_name"] == "mgr-x"
    assert compound["object_type"] == "compound"
    assert compound["changes"] == {"households": [300, 350], "note": ["", "第5条"]}
    assert building["object_type"] == "building"
    assert building["changes"]["floors"] == [None, 11]
    assert as_manager_x.get(f"/compounds/{cx.pk}/history", limit=1).json()["items"][0]["id"] == building["id"]


def test_history_is_readable_by_police_of_the_station(world, as_manager_x, as_officer_a):
    as_manager_x.patch(f"/compounds/{world['cx'].pk}", {"households": 1})
    assert as_officer_a.get(f"/compounds/{world['cx'].pk}/history").json()["count"] == 1


# ---------------------------------------------------------------- list: pagination, filters, query count


def test_pagination(world, as_admin):
    first = as_admin.get("/compounds/", limit=2).json()
    assert first["count"] == 3
    assert [c["name"] for c in first["items"]] == ["乐家小区", "安居花园"]  # ordered by name
    rest = as_admin.get("/compounds/", limit=2, offset=2).json()
    assert [c["name"] for c in rest["items"]] == ["老街小区"]
    assert as_admin.get("/compounds/", offset=10).json() == {"count": 3, "items": []}
    assert fields_in(as_admin.get("/compounds/", limit=0)) == {"limit"}
    assert fields_in(as_admin.get("/compounds/", limit=1000)) == {"limit"}
    assert fields_in(as_admin.get("/compounds/", offset=-1)) == {"offset"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "安居"}, {"安居花园"}),
        ({"mode": "unmanaged"}, {"老街小区"}),
        ({"mode": "managed"}, {"安居花园", "乐家小区"}),
        ({"status": "in_use"}, {"安居花园", "乐家小区", "老街小区"}),
        ({"status": "planned"}, set()),
    ],
)
def test_filters(world, as_admin, params, expected):
    assert {c["name"] for c in as_admin.get("/compounds/", **params).json()["items"]} == expected


def test_q_searches_the_address_too(world, as_admin):
    found = as_admin.get("/compounds/", q=world["cu"].address).json()["items"]
    assert [c["name"] for c in found] == ["老街小区"]


def test_filters_by_organisation(world, as_admin):
    def listed(**params):
        return {c["name"] for c in as_admin.get("/compounds/", **params).json()["items"]}

    assert listed(police_station=world["station_b"].pk) == {"乐家小区"}
    assert listed(district=world["district"].pk) == {"安居花园", "乐家小区", "老街小区"}
    assert listed(community=world["community"].pk) == {"老街小区"}
    assert listed(property_company=world["company_x"].pk) == {"安居花园"}
    assert fields_in(as_admin.get("/compounds/", mode="sometimes")) == {"mode"}


def test_filters_stay_inside_scope(world, as_manager_x):
    assert as_manager_x.get("/compounds/", property_company=world["company_y"].pk).json()["count"] == 0


def _add_compounds(n: int, station, company) -> None:
    for i in range(n):
        c = f.CompoundFactory(name=f"批量{i:03d}", police_station=station, property_company=company)
        f.BuildingFactory(compound=c)
        f.DeviceFactory(compound=c)


def _queries_for_page(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/compounds/", limit=100)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["admin", "manager"])
def test_list_query_count_does_not_grow_with_page_size(world, admin, manager_x, django_assert_num_queries, who):
    user = admin if who == "admin" else manager_x
    client = client_for(user)
    client.get("/core/me")  # first use of a token stamps last_used_at; keep that out of the count
    _add_compounds(5, world["station_a"], world["company_x"])
    few = _queries_for_page(client)
    _add_compounds(45, world["station_b"], world["company_x"])
    with django_assert_num_queries(few):
        response = client.get("/compounds/", limit=100)
    items = response.json()["items"]
    assert len(items) == response.json()["count"] == (53 if who == "admin" else 51)
    assert all(item["counts"]["devices"] == 1 for item in items if item["name"].startswith("批量"))
    assert few <= 5  # token, grants, count, page (+ nothing per row)


def test_station_and_district_names_need_no_extra_queries(world, as_admin):
    other = f.OrganisationFactory(kind=OrgKind.DISTRICT_BUREAU, name="西市分局", parent=world["city"])
    station = f.OrganisationFactory(kind=OrgKind.POLICE_STATION, name="西市派出所", parent=other)
    f.CompoundFactory(name="西苑", police_station=station, property_company=world["company_x"])
    item = next(c for c in as_admin.get("/compounds/").json()["items"] if c["name"] == "西苑")
    assert (item["district_name"], item["police_station_name"]) == ("西市分局", "西市派出所")
