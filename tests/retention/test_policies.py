"""Floors (Art 33(2)) refused in the service, the form and the API, with the article in the
message; who may set a policy, both ways."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from anfang.core.choices import Role
from anfang.retention import services
from anfang.retention.forms import PolicyForm
from anfang.retention.models import RetentionPolicy
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return f.admin_user()


@pytest.mark.parametrize(
    ("data_class", "days", "needle"),
    [("video_index", 29, "第33条第2项"), ("vehicle_passages", 89, "第33条第2项"), ("events", 60, "车辆数据与照片")],
)
def test_service_refuses_below_the_statutory_floor(admin, data_class, days, needle):
    with pytest.raises(ValidationError) as caught:
        services.set_policy(admin, data_class, days)
    message = " ".join(caught.value.message_dict["days"])
    assert needle in message and "法定下限" in message
    assert not RetentionPolicy.objects.exists()


def test_the_platform_floors_say_the_regulation_has_no_number(admin):
    with pytest.raises(ValidationError) as caught:
        services.set_policy(admin, "duty_logs", 30)
    message = " ".join(caught.value.message_dict["days"])
    assert "平台下限 365" in message and "法规未规定期限" in message


def test_at_the_floor_is_accepted_and_recorded(admin):
    policy = services.set_policy(admin, "video_index", 30)
    assert policy.days == 30 and services.effective_days("video_index") == 30
    services.set_policy(admin, "video_index", 45)
    assert RetentionPolicy.objects.get().days == 45


def test_form_refuses_with_the_article(world, admin):
    form = PolicyForm(
        {"data_class": "vehicle_passages", "days": 30}, compounds=services.policy_compounds(admin), allow_global=True
    )
    assert not form.is_valid()
    assert "第33条第2项" in " ".join(form.errors["days"])


def test_api_refuses_with_the_article(client, admin):
    client.force_login(admin)
    response = client.post(
        "/api/retention/policies", {"data_class": "vehicle_passages", "days": 30}, content_type="application/json"
    )
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "days"] and "第33条第2项" in detail["msg"]
    ok = client.post(
        "/api/retention/policies", {"data_class": "vehicle_passages", "days": 120}, content_type="application/json"
    )
    assert ok.status_code == 200 and ok.json()["days"] == 120 and ok.json()["article"] == "第33条第2项"


def test_page_refuses_with_the_article(client, admin):
    client.force_login(admin)
    response = client.post(reverse("retention:policies"), {"data_class": "video_index", "days": 7})
    assert response.status_code == 400
    assert "第33条第2项" in response.content.decode()
    assert not RetentionPolicy.objects.exists()


def test_page_shows_floors_articles_and_settings(client, world, admin):
    client.force_login(admin)
    body = client.get(reverse("retention:policies")).content.decode()
    for text in ("第33条第2项", "法规未规定期限", "车辆通行记录与照片", "访问审计", "网络安全法"):
        assert text in body


def test_property_manager_overrides_own_compound_only(client, world):
    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"])
    services.set_policy(manager, "vehicle_passages", 365, compound=world["cx"])
    with pytest.raises(PermissionDenied):
        services.set_policy(manager, "vehicle_passages", 365, compound=world["cy"])
    with pytest.raises(PermissionDenied):
        services.set_policy(manager, "vehicle_passages", 365)  # the global setting is the admin's
    client.force_login(manager)
    other = client.post(
        "/api/retention/policies",
        {"data_class": "events", "days": 120, "compound_id": world["cy"].pk},
        content_type="application/json",
    )
    assert other.status_code == 404  # out of scope reads like "does not exist"
    assert services.effective_days("vehicle_passages", world["cx"].pk) == 365
    assert services.effective_days("vehicle_passages", world["cy"].pk) == 180


def test_police_see_but_may_not_change(client, world):
    police = f.user_with(Role.POLICE_STATION, organisation=world["station_a"])
    client.force_login(police)
    assert client.get(reverse("retention:policies")).status_code == 200
    response = client.post(
        reverse("retention:policies"), {"data_class": "events", "days": 100, "compound": world["cx"].pk}
    )
    assert response.status_code == 403
    api = client.post(
        "/api/retention/policies",
        {"data_class": "events", "days": 100, "compound_id": world["cx"].pk},
        content_type="application/json",
    )
    assert api.status_code == 403


def test_no_compound_no_page(client, db):
    nobody = f.UserFactory()
    client.force_login(nobody)
    assert client.get(reverse("retention:policies")).status_code == 403
