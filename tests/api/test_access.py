"""Authentication and scope through the API, both ways, for each role family."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from anfang.core.choices import Role
from anfang.core.models import ApiToken
from tests import factories as f

from .conftest import ApiClient, client_for

pytestmark = pytest.mark.django_db


def names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {c["name"] for c in response.json()["items"]}


# ---------------------------------------------------------------- authentication


@pytest.mark.parametrize("path", ["/core/me", "/core/organisations", "/compounds/", "/devices/"])
def test_no_credentials_is_401(world, path):
    response = ApiClient().get(path)
    assert response.status_code == 401
    assert response.json()["detail"]


def test_unknown_and_revoked_tokens_are_401(world, manager_x):
    assert ApiClient("afg_not-a-token").get("/compounds/").status_code == 401
    token, raw = ApiToken.issue(manager_x, "old")
    assert ApiClient(raw).get("/compounds/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert ApiClient(raw).get("/compounds/").status_code == 401
    assert ApiClient(raw).post(f"/compounds/{world['cx'].pk}/buildings/", {"name": "X"}).status_code == 401


def test_inactive_user_token_is_401(world, manager_x):
    _token, raw = ApiToken.issue(manager_x, "t")
    manager_x.is_active = False
    manager_x.save()
    assert ApiClient(raw).get("/core/me").status_code == 401


def test_session_writes_need_csrf_but_bearer_writes_do_not(world, manager_x):
    url = f"/api/compounds/{world['cx'].pk}/buildings/"
    session = Client(enforce_csrf_checks=True)
    session.force_login(manager_x)
    assert session.get("/api/compounds/").status_code == 200
    refused = session.post(url, {"name": "A"}, content_type="application/json")
    assert refused.status_code == 403
    secret = "a" * 32
    session.cookies[settings.CSRF_COOKIE_NAME] = secret
    accepted = session.post(url, {"name": "A"}, content_type="application/json", headers={"X-CSRFToken": secret})
    assert accepted.status_code == 201

    _token, raw = ApiToken.issue(manager_x, "integration")
    bearer = Client(enforce_csrf_checks=True)
    created = bearer.post(
        url, {"name": "B"}, content_type="application/json", headers={"Authorization": f"Bearer {raw}"}
    )
    assert created.status_code == 201


# ---------------------------------------------------------------- scope, per role family


def test_property_manager_sees_and_edits_own_compound_only(world, as_manager_x):
    cx, cy = world["cx"], world["cy"]
    assert names(as_manager_x.get("/compounds/")) == {"安居花园"}
    assert as_manager_x.get(f"/compounds/{cx.pk}").status_code == 200
    assert as_manager_x.patch(f"/compounds/{cx.pk}", {"households": 420}).json()["households"] == 420
    assert as_manager_x.post(f"/compounds/{cx.pk}/buildings/", {"name": "2号楼"}).status_code == 201
    # Y's compound does not exist for X — whatever the method.
    assert as_manager_x.get(f"/compounds/{cy.pk}").status_code == 404
    assert as_manager_x.patch(f"/compounds/{cy.pk}", {"households": 1}).status_code == 404
    assert as_manager_x.delete(f"/compounds/{cy.pk}").status_code == 404
    assert as_manager_x.post(f"/compounds/{cy.pk}/archive").status_code == 404
    assert as_manager_x.get(f"/compounds/{cy.pk}/history").status_code == 404
    assert as_manager_x.get(f"/compounds/{cy.pk}/buildings/").status_code == 404
    assert as_manager_x.post(f"/compounds/{cy.pk}/buildings/", {"name": "入侵楼"}).status_code == 404
    cy.refresh_from_db()
    assert cy.households == 300


def test_property_manager_cannot_register_compound_for_another_company(world, as_manager_x):
    body = {"name": "新苑", "address": "a", "police_station": world["station_a"].pk}
    assert as_manager_x.post("/compounds/", {**body, "property_company": world["company_y"].pk}).status_code == 403
    assert as_manager_x.post("/compounds/", {**body, "property_company": world["company_x"].pk}).status_code == 201
    assert (
        as_manager_x.patch(f"/compounds/{world['cx'].pk}", {"property_company": world["company_y"].pk}).status_code
        == 403
    )


def test_station_officer_lists_exactly_their_station_and_cannot_write(world, as_officer_a):
    cx, cy = world["cx"], world["cy"]
    assert names(as_officer_a.get("/compounds/")) == {"安居花园", "老街小区"}
    assert as_officer_a.get(f"/compounds/{cx.pk}").status_code == 200
    assert as_officer_a.get(f"/compounds/{cy.pk}").status_code == 404
    patched = as_officer_a.patch(f"/compounds/{cx.pk}", {"households": 1})
    assert patched.status_code == 403
    assert patched.json()["detail"]
    assert as_officer_a.delete(f"/compounds/{cx.pk}").status_code == 403
    assert as_officer_a.post(f"/compounds/{cx.pk}/archive").status_code == 403
    assert as_officer_a.post(f"/compounds/{cx.pk}/buildings/", {"name": "x"}).status_code == 403
    body = {"name": "n", "address": "a", "police_station": world["station_a"].pk, "community": world["community"].pk}
    assert as_officer_a.post("/compounds/", body).status_code == 403
    cx.refresh_from_db()
    assert cx.households == 300


def test_station_officer_403_comes_before_payload_checks(world, as_officer_a):
    # A visible compound answers 403 to a non-editor even when the payload names a bad id.
    response = as_officer_a.patch(f"/compounds/{world['cx'].pk}", {"police_station": 999999})
    assert response.status_code == 403


def test_community_manager_edits_unmanaged_compound(world):
    client = client_for(f.user_with(Role.COMMUNITY_MANAGER, organisation=world["community"]))
    assert names(client.get("/compounds/")) == {"老街小区"}
    assert client.patch(f"/compounds/{world['cu'].pk}", {"note": "第6条：社区巡防"}).status_code == 200
    assert client.patch(f"/compounds/{world['cx'].pk}", {"note": "x"}).status_code == 404


def test_duty_operator_reads_their_compound_only(world):
    client = client_for(f.user_with(Role.DUTY_OPERATOR, compound=world["cx"]))
    assert names(client.get("/compounds/")) == {"安居花园"}
    assert client.patch(f"/compounds/{world['cx'].pk}", {"note": "x"}).status_code == 403
    assert client.get(f"/compounds/{world['cx'].pk}/buildings/").status_code == 200


def test_platform_admin_sees_and_edits_all(world, as_admin):
    assert names(as_admin.get("/compounds/")) == {"安居花园", "乐家小区", "老街小区"}
    for key in ("cx", "cy", "cu"):
        assert as_admin.patch(f"/compounds/{world[key].pk}", {"year_built": 2001}).status_code == 200


def test_user_without_grants_sees_nothing(world):
    client = client_for(f.UserFactory())
    assert client.get("/compounds/").json() == {"count": 0, "items": []}
    assert client.get(f"/compounds/{world['cx'].pk}").status_code == 404


# ---------------------------------------------------------------- /core


def test_me_describes_grants_and_rights(world, as_manager_x, as_officer_a, as_admin):
    me = as_manager_x.get("/core/me").json()
    assert me["user"]["username"] == "mgr-x"
    assert me["grants"] == [
        {
            "role": "property_manager",
            "role_label": "物业管理员",
            "scope": "organisation",
            "scope_id": world["company_x"].pk,
            "scope_label": "安居物业",
        }
    ]
    assert me["can_edit_registry"] is True
    assert me["is_platform_admin"] is False
    assert as_officer_a.get("/core/me").json()["can_edit_registry"] is False
    admin_me = as_admin.get("/core/me").json()
    assert admin_me["is_platform_admin"] is True
    assert admin_me["grants"][0]["scope"] == "platform"


def test_organisations_filters_and_pagination(world, as_officer_a):
    stations = as_officer_a.get("/core/organisations", kind="police_station").json()
    assert stations["count"] == 2
    assert {o["kind_label"] for o in stations["items"]} == {"派出所"}
    children = as_officer_a.get("/core/organisations", parent=world["district"].pk).json()
    assert {o["name"] for o in children["items"]} == {"建设派出所", "跃进派出所"}
    assert as_officer_a.get("/core/organisations", q="物业").json()["count"] == 2
    page = as_officer_a.get("/core/organisations", limit=3, offset=3).json()
    assert page["count"] == 8
    assert len(page["items"]) == 3
    assert as_officer_a.get("/core/organisations", kind="nonsense").status_code == 422


def test_organisations_are_read_only(world, as_admin):
    assert as_admin.post("/core/organisations", {"name": "x"}).status_code == 405
