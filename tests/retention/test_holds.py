"""Who may place and release legal holds, both ways; bad input names the field."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from anfang.core.choices import Role
from anfang.retention import services
from anfang.retention.models import LegalHold
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(world):
    return {
        **world,
        "admin": f.admin_user(),
        "police_a": f.user_with(Role.POLICE_STATION, organisation=world["station_a"]),
        "manager_x": f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"]),
        "operator_x": f.user_with(Role.DUTY_OPERATOR, organisation=world["company_x"]),
    }


def test_police_hold_in_their_jurisdiction_only(people):
    hold = services.place_hold(people["police_a"], case_number="A-1", reason="盗窃案", compound=people["cx"])
    assert hold.owner == people["police_a"]
    with pytest.raises(PermissionDenied):
        services.place_hold(people["police_a"], case_number="A-2", reason="x", compound=people["cy"])


def test_manager_holds_own_compound_but_cannot_lift_a_police_hold(people):
    services.place_hold(people["manager_x"], case_number="M-1", reason="纠纷", compound=people["cx"])
    with pytest.raises(PermissionDenied):
        services.place_hold(people["manager_x"], case_number="M-2", reason="x", compound=people["cy"])
    police_hold = services.place_hold(people["police_a"], case_number="P-1", reason="案件", compound=people["cx"])
    assert not services.may_release(people["manager_x"], police_hold)
    with pytest.raises(PermissionDenied):
        services.release_hold(people["manager_x"], police_hold)
    services.release_hold(people["police_a"], police_hold, "结案")
    assert LegalHold.objects.get(pk=police_hold.pk).released_by == people["police_a"]


def test_bad_holds_name_the_field(people):
    with pytest.raises(ValidationError) as caught:
        services.place_hold(people["manager_x"], case_number="", reason="", compound=None)
    assert {"case_number", "reason", "compound"} <= set(caught.value.message_dict)
    device_y = f.DeviceFactory(compound=people["cy"])
    with pytest.raises(ValidationError) as caught:
        services.place_hold(people["admin"], case_number="X", reason="y", compound=people["cx"], device=device_y)
    assert "device" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.place_hold(people["admin"], case_number="X", reason="y")  # no scope at all


def test_releasing_twice_is_refused(people):
    hold = services.place_hold(people["admin"], case_number="R-1", reason="x", compound=people["cx"])
    services.release_hold(people["admin"], hold)
    with pytest.raises(ValidationError):
        services.release_hold(people["admin"], hold)


def test_holds_page_both_ways(client, people):
    client.force_login(people["manager_x"])
    response = client.post(
        reverse("retention:holds"), {"case_number": "页-1", "reason": "取证", "compound": people["cx"].pk}
    )
    assert response.status_code == 302 and LegalHold.objects.filter(case_number="页-1").exists()
    refused = client.post(
        reverse("retention:holds"), {"case_number": "页-2", "reason": "取证", "compound": people["cy"].pk}
    )
    assert refused.status_code == 400 and not LegalHold.objects.filter(case_number="页-2").exists()
    page = client.get(reverse("retention:holds")).content.decode()
    assert "页-1" in page
    client.force_login(people["operator_x"])
    assert client.get(reverse("retention:holds")).status_code == 403
    hold = LegalHold.objects.get(case_number="页-1")
    assert client.post(reverse("retention:hold_release", args=[hold.pk])).status_code == 404
    client.force_login(people["police_a"])
    assert client.post(reverse("retention:hold_release", args=[hold.pk]), {"note": "结案"}).status_code == 302
    assert LegalHold.objects.get(pk=hold.pk).released_at is not None


def test_purge_pages_are_the_admins(client, people):
    client.force_login(people["manager_x"])
    assert client.get(reverse("retention:runs")).status_code == 403
    assert client.post(reverse("retention:run_start"), {"dry_run": "1"}).status_code == 403
    client.force_login(people["admin"])
    started = client.post(reverse("retention:run_start"), {"dry_run": "1"})
    assert started.status_code == 302
    detail = client.get(started["Location"])
    assert detail.status_code == 200 and "演练" in detail.content.decode()
    run_id = int(started["Location"].rstrip("/").split("/")[-1])
    report = client.get(reverse("retention:run_report", args=[run_id]))
    assert report.status_code == 200 and report["Content-Type"].startswith("application/vnd.openxmlformats")
    assert client.get(reverse("retention:runs")).status_code == 200
