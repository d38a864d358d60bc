"""Scope filtering, both ways, for every role (issue 3 acceptance)."""

import pytest

from anfang.compounds.models import Building, Compound
from anfang.core.choices import Role
from anfang.devices.models import Device
from tests import factories as f

pytestmark = pytest.mark.django_db


def visible(user) -> set[str]:
    return set(Compound.objects.visible_to(user).values_list("name", flat=True))


def editable(user) -> set[str]:
    return set(Compound.objects.editable_by(user).values_list("name", flat=True))


ALL = {"安居花园", "乐家小区", "老街小区"}


@pytest.mark.parametrize(
    ("role", "scope", "sees", "edits"),
    [
        (Role.PLATFORM_ADMIN, None, ALL, ALL),
        (Role.POLICE_CITY, "city", ALL, set()),
        (Role.POLICE_DISTRICT, "district", ALL, set()),
        (Role.POLICE_STATION, "station_a", {"安居花园", "老街小区"}, set()),
        (Role.POLICE_STATION, "station_b", {"乐家小区"}, set()),
        (Role.COMMUNITY_MANAGER, "community", {"老街小区"}, {"老街小区"}),
        (Role.COMMUNITY_MANAGER, "street", {"老街小区"}, {"老街小区"}),
        (Role.PROPERTY_MANAGER, "company_x", {"安居花园"}, {"安居花园"}),
        (Role.PROPERTY_MANAGER, "company_y", {"乐家小区"}, {"乐家小区"}),
        (Role.DUTY_OPERATOR, "cx", {"安居花园"}, set()),
        (Role.GUARD, "cu", {"老街小区"}, set()),
        (Role.DUTY_OPERATOR, "company_x", {"安居花园"}, set()),
        (Role.CONSTRUCTION_PARTY, "cy", {"乐家小区"}, set()),
    ],
)
def test_each_role_sees_exactly_its_scope(world, role, scope, sees, edits):
    target = world[scope] if scope else None
    kwargs = {"compound": target} if scope in {"cx", "cy", "cu"} else {"organisation": target}
    user = f.user_with(role, **kwargs)
    assert visible(user) == sees
    assert editable(user) == edits


def test_user_without_grants_sees_nothing(world):
    assert visible(f.UserFactory()) == set()


def test_grants_add_up(world):
    user = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"])
    from anfang.core.models import RoleGrant

    RoleGrant.objects.create(user=user, role=Role.POLICE_STATION, organisation=world["station_b"])
    user._anfang_grants = None
    assert visible(user) == {"安居花园", "乐家小区"}
    assert editable(user) == {"安居花园"}


def test_parts_and_devices_follow_their_compound(world):
    f.BuildingFactory(compound=world["cx"], name="X1")
    f.BuildingFactory(compound=world["cy"], name="Y1")
    f.DeviceFactory(compound=world["cx"], name="X-cam")
    f.DeviceFactory(compound=world["cy"], name="Y-cam")
    user = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"])
    assert set(Building.objects.visible_to(user).values_list("name", flat=True)) == {"X1"}
    assert set(Device.objects.visible_to(user).values_list("name", flat=True)) == {"X-cam"}
    assert set(Device.objects.editable_by(user).values_list("name", flat=True)) == {"X-cam"}


def test_moving_org_reroots_descendants(orgs):
    orgs["station_a"].refresh_from_db()
    old = orgs["station_a"].path
    assert old.startswith(orgs["district"].path)
    from anfang.core.choices import OrgKind

    other = f.OrganisationFactory(kind=OrgKind.DISTRICT_BUREAU, name="西市分局", parent=orgs["city"])
    district = orgs["district"]
    district.parent = None
    other.refresh_from_db()
    orgs["station_a"].parent = other
    orgs["station_a"].save()
    orgs["station_a"].refresh_from_db()
    assert orgs["station_a"].path == f"{other.path}{orgs['station_a'].pk}/"
