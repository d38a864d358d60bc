"""Compliance API: packs, running assessments over a scope, latest / history / diff of a compound —
401 without credentials, 403 for roles that may not assess, 404 outside the scope, 422 on bad input."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anfang.compliance.engine import get_pack
from anfang.compliance.models import Assessment, CompoundAssessment
from anfang.compliance.services import assess, history
from anfang.compounds.models import Compound, DutyRoom
from anfang.core.choices import Role
from tests import factories as f
from tests.api.conftest import ApiClient, client_for, fields_in

from .builders import exemplary

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(world):
    s = exemplary(world, "示范小区")
    set_duty_area(s, "19.9")
    return s


def set_duty_area(site, area: str) -> CompoundAssessment:
    DutyRoom.objects.filter(compound=site.compound).update(area_m2=area)
    assess(None, Compound.objects.filter(pk=site.compound.pk))
    return history(site.compound).first()


def as_role(role, org) -> ApiClient:
    return client_for(f.user_with(role, organisation=org))


@pytest.fixture
def as_admin(world) -> ApiClient:
    return client_for(f.admin_user())


@pytest.fixture
def as_manager_x(world) -> ApiClient:
    return client_for(f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x"))


@pytest.fixture
def as_officer_a(world) -> ApiClient:
    return as_role(Role.POLICE_STATION, world["station_a"])


def base(compound) -> str:
    return f"/compliance/compounds/{compound.pk}"


@pytest.mark.parametrize(
    "path", ["/compliance/packs", "/compliance/compounds/1/latest", "/compliance/compounds/1/history"]
)
def test_reads_need_credentials(world, path):
    assert ApiClient().get(path).status_code == 401


def test_assessing_needs_credentials(world):
    response = ApiClient().post("/compliance/assessments", {"scope": "compound", "id": world["cx"].pk})
    assert response.status_code == 401 and not Assessment.objects.exists()


# ---------------------------------------------------------------- packs


def test_packs_list_rules_with_article_and_clause(world, as_manager_x):
    response = as_manager_x.get("/compliance/packs")
    assert response.status_code == 200
    packs = {p["name"]: p for p in response.json()}
    assert packs["yingkou_2015"]["advisory"] is False and packs["gb_advisory"]["advisory"] is True
    rules = {r["id"]: r for r in packs["yingkou_2015"]["rules"]}
    duty = rules["yingkou_2015.art15.duty_room"]
    assert (duty["article"], duty["clause"], duty["citation_zh"]) == (15, "", "第15条") and duty["title_zh"]
    assert any(r["clause"] == "2" and r["article"] == 33 for r in rules.values())
    advisory = packs["gb_advisory"]["rules"]
    assert all(r["article"] is None and r["citation_zh"].startswith(("GB", "JGJ")) for r in advisory)
    assert len(rules) == len(get_pack().rules)


# ---------------------------------------------------------------- running


def test_manager_assesses_own_compound_with_every_pack(world, as_manager_x):
    response = as_manager_x.post("/compliance/assessments", {"scope": "compound", "id": world["cx"].pk})
    assert response.status_code == 201, response.content
    done = response.json()
    assert [(a["pack"]["name"], a["pack"]["advisory"], a["compounds_count"]) for a in done] == [
        ("yingkou_2015", False, 1),
        ("gb_advisory", True, 1),
    ]
    assert Assessment.objects.get(advisory=False).actor.username == "mgr-x"


def test_one_pack_only(world, as_manager_x):
    body = {"scope": "compound", "id": world["cx"].pk, "pack": "gb_advisory"}
    response = as_manager_x.post("/compliance/assessments", body)
    assert response.status_code == 201 and [a["pack"]["name"] for a in response.json()] == ["gb_advisory"]
    assert not Assessment.objects.filter(advisory=False).exists()


def test_station_scope_covers_only_visible_compounds(world, as_officer_a, as_manager_x):
    body = {"scope": "station", "id": world["station_a"].pk, "pack": "yingkou_2015"}
    response = as_officer_a.post("/compliance/assessments", body)
    assert response.status_code == 201 and response.json()[0]["compounds_count"] == 2  # cx and cu
    # The manager of X sees only cx at that station.
    response = as_manager_x.post("/compliance/assessments", body)
    assert response.json()[0]["compounds_count"] == 1
    assert set(CompoundAssessment.objects.values_list("compound_id", flat=True)) == {world["cx"].pk, world["cu"].pk}


def test_district_and_city_scopes(world, as_admin, as_officer_a):
    for scope, org in (("district", "district"), ("city", "city")):
        body = {"scope": scope, "id": world[org].pk, "pack": "yingkou_2015"}
        assert as_admin.post("/compliance/assessments", body).json()[0]["compounds_count"] == 3
    body = {"scope": "district", "id": world["district"].pk, "pack": "yingkou_2015"}
    assert as_officer_a.post("/compliance/assessments", body).json()[0]["compounds_count"] == 2


@pytest.mark.parametrize("role", [Role.GUARD, Role.DUTY_OPERATOR])
def test_guards_and_operators_may_not_assess(world, role):
    client = as_role(role, world["company_x"])
    response = client.post("/compliance/assessments", {"scope": "compound", "id": world["cx"].pk})
    assert response.status_code == 403 and not Assessment.objects.exists()


def test_only_compounds_reached_through_an_assessing_role_are_assessed(world):
    user = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"])
    user.grants.create(role=Role.GUARD, organisation=world["company_y"])
    client = client_for(user)
    response = client.post("/compliance/assessments", {"scope": "compound", "id": world["cy"].pk})
    assert response.status_code == 403
    body = {"scope": "district", "id": world["district"].pk, "pack": "yingkou_2015"}
    response = client.post("/compliance/assessments", body)
    assert response.status_code == 201 and response.json()[0]["compounds_count"] == 1
    assert response.json()[0]["scope_label"] == world["district"].name
    assert set(CompoundAssessment.objects.values_list("compound_id", flat=True)) == {world["cx"].pk}


def test_out_of_scope_and_unknown_targets_are_404(world, as_manager_x, as_officer_a):
    for client, body in (
        (as_manager_x, {"scope": "compound", "id": world["cy"].pk}),
        (as_officer_a, {"scope": "station", "id": world["station_b"].pk}),
        (as_officer_a, {"scope": "compound", "id": 987654}),
        (as_officer_a, {"scope": "district", "id": world["station_a"].pk}),  # not a district
    ):
        assert client.post("/compliance/assessments", body).status_code == 404
    assert not Assessment.objects.exists()


def test_invalid_body_is_422(world, as_manager_x):
    assert fields_in(as_manager_x.post("/compliance/assessments", {"scope": "street", "id": 1})) == {"scope"}
    assert fields_in(as_manager_x.post("/compliance/assessments", {"scope": "compound"})) == {"id"}
    body = {"scope": "compound", "id": world["cx"].pk, "pack": "nope"}
    assert fields_in(as_manager_x.post("/compliance/assessments", body)) == {"pack"}
    assert fields_in(as_manager_x.post("/compliance/assessments", {"scope": "compound", "id": 0})) == {"id"}


# ---------------------------------------------------------------- latest


def test_latest_has_findings_counts_pack_hash_and_advisory_apart(site, world, as_manager_x):
    assess(None, Compound.objects.filter(pk=site.compound.pk), get_pack("gb_advisory"))
    response = as_manager_x.get(base(site.compound) + "/latest")
    assert response.status_code == 200
    data = response.json()
    assert data["pack"] == {"name": "yingkou_2015", "version": "1.0", "advisory": False}
    assert len(data["snapshot_hash"]) == 64 and data["counts"]["fail"] == 1
    duty = next(x for x in data["findings"] if x["rule_id"] == "yingkou_2015.art15.duty_room")
    assert duty["status"] == "fail" and "不足20㎡" in " ".join(duty["evidence"]) and duty["remedy"]
    assert all(x["remedy"] == "" for x in data["findings"] if x["status"] in ("pass", "not_applicable"))
    [advisory] = data["advisory"]
    assert advisory["pack"]["advisory"] is True and advisory["counts"]["fail"] == 1


def test_latest_404_when_not_assessed_or_out_of_scope(site, world, as_manager_x, as_officer_a):
    assert as_manager_x.get(base(world["cx"]) + "/latest").status_code == 404  # never assessed
    assert as_officer_a.get(base(site.compound) + "/latest").status_code == 200
    for client in (
        as_role(Role.PROPERTY_MANAGER, world["company_y"]),
        as_role(Role.POLICE_STATION, world["station_b"]),
    ):
        assert client.get(base(site.compound) + "/latest").status_code == 404
    assert as_officer_a.get("/compliance/compounds/987654/latest").status_code == 404


# ---------------------------------------------------------------- history


def test_history_is_paginated_newest_first(site, as_manager_x):
    newest = set_duty_area(site, "20.0")
    response = as_manager_x.get(base(site.compound) + "/history", limit=1)
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 2 and [x["id"] for x in data["items"]] == [newest.pk]
    assert data["items"][0]["counts"]["fail"] == 0 and "findings" not in data["items"][0]
    assert fields_in(as_manager_x.get(base(site.compound) + "/history", limit=0)) == {"limit"}


def test_history_query_count_does_not_grow(site, as_manager_x):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert as_manager_x.get(base(site.compound) + "/history").status_code == 200
        return len(ctx.captured_queries)

    queries()  # the first call of a token records its use
    few = queries()
    for area in ("20.0", "19.0", "21.0"):
        set_duty_area(site, area)
    assert queries() == few


def test_history_out_of_scope_404(site, world):
    client = as_role(Role.POLICE_STATION, world["station_b"])
    assert client.get(base(site.compound) + "/history").status_code == 404


# ---------------------------------------------------------------- diff


def test_diff_of_the_last_two(site, as_manager_x):
    first = history(site.compound).first()
    second = set_duty_area(site, "20.0")
    response = as_manager_x.get(base(site.compound) + "/diff")
    assert response.status_code == 200
    data = response.json()
    assert (data["a"]["id"], data["b"]["id"]) == (first.pk, second.pk)
    assert [x["rule_id"] for x in data["fixed"]] == ["yingkou_2015.art15.duty_room"]
    assert data["new_failures"] == [] and data["still_failing"] == []
    assert {"rule_id": "yingkou_2015.art15.duty_room", "before": "fail", "after": "pass"} in data["changed"]


def test_diff_by_ids(site, as_manager_x):
    ok = set_duty_area(site, "20.0")
    bad = set_duty_area(site, "19.9")
    data = as_manager_x.get(base(site.compound) + "/diff", a=ok.pk, b=bad.pk).json()
    [new] = data["new_failures"]
    assert new["citation_zh"] == "第15条" and "不足20㎡" in " ".join(new["evidence"])
    again = set_duty_area(site, "19.9")
    data = as_manager_x.get(base(site.compound) + "/diff", a=bad.pk, b=again.pk).json()
    assert [x["rule_id"] for x in data["still_failing"]] == ["yingkou_2015.art15.duty_room"]
    # Only b: compared with the assessment before it.
    data = as_manager_x.get(base(site.compound) + "/diff", b=bad.pk).json()
    assert data["a"]["id"] == ok.pk


def test_diff_refusals(site, world, as_manager_x):
    only = history(site.compound).first()
    assert as_manager_x.get(base(site.compound) + "/diff").status_code == 404  # one assessment only
    other = exemplary(world, "另一小区")
    assess(None, Compound.objects.filter(pk=other.compound.pk))
    foreign = history(other.compound).first()
    response = as_manager_x.get(base(site.compound) + "/diff", a=foreign.pk, b=only.pk)
    assert response.status_code == 404
    assert fields_in(as_manager_x.get(base(site.compound) + "/diff", a=0, b=only.pk)) == {"a"}
    assert fields_in(as_manager_x.get(base(site.compound) + "/diff", a="x")) == {"a"}
    client = as_role(Role.PROPERTY_MANAGER, world["company_y"])
    assert client.get(base(site.compound) + "/diff").status_code == 404
