"""Registry writes: validation, permissions, history, delete vs archive."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from anfang.compounds import services
from anfang.compounds.models import Building, Compound
from anfang.core.choices import ChangeAction, Role
from anfang.core.models import ChangeRecord
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_x(world):
    return f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x")


def test_manager_adds_building_and_history_records_it(world, manager_x):
    b = services.save(manager_x, Building(compound=world["cx"], name="7号楼", floors=18))
    rec = ChangeRecord.objects.get(object_id=str(b.pk), content_type__model="building")
    assert rec.action == ChangeAction.CREATE
    assert rec.actor == manager_x
    assert rec.compound == world["cx"]
    assert rec.changes["floors"] == [None, 18]


def test_update_records_before_and_after(world, manager_x):
    b = services.save(manager_x, Building(compound=world["cx"], name="7号楼", floors=18))
    b.floors = 20
    services.save(manager_x, b)
    rec = ChangeRecord.objects.filter(action=ChangeAction.UPDATE).get()
    assert rec.changes == {"floors": [18, 20]}


def test_unchanged_save_leaves_no_record(world, manager_x):
    b = services.save(manager_x, Building(compound=world["cx"], name="7号楼"))
    services.save(manager_x, b)
    assert ChangeRecord.objects.filter(action=ChangeAction.UPDATE).count() == 0


def test_manager_refused_on_other_company(world, manager_x):
    with pytest.raises(PermissionDenied):
        services.save(manager_x, Building(compound=world["cy"], name="入侵楼"))
    assert not Building.objects.filter(name="入侵楼").exists()


def test_police_cannot_edit_registry(world):
    officer = f.user_with(Role.POLICE_STATION, organisation=world["station_a"])
    with pytest.raises(PermissionDenied):
        services.save(officer, Building(compound=world["cx"], name="x"))


def test_manager_cannot_create_compound_for_other_company(world, manager_x):
    c = Compound(name="新小区", address="a", police_station=world["station_a"], property_company=world["company_y"])
    with pytest.raises(PermissionDenied):
        services.save(manager_x, c)


def test_manager_cannot_move_compound_away(world, manager_x):
    cx = world["cx"]
    cx.property_company = world["company_y"]
    with pytest.raises(PermissionDenied):
        services.save(manager_x, cx)


def test_unique_clash_is_readable(world, manager_x):
    services.save(manager_x, Building(compound=world["cx"], name="1号楼"))
    with pytest.raises(ValidationError) as err:
        services.save(manager_x, Building(compound=world["cx"], name="1号楼"))
    assert "同名" in str(err.value)


def test_unmanaged_compound_needs_community(world):
    admin = f.admin_user()
    c = Compound(name="无主小区", address="a", police_station=world["station_a"])
    with pytest.raises(ValidationError) as err:
        services.save(admin, c)
    assert "community" in err.value.message_dict


def test_management_mode_follows_property_company(world):
    assert world["cx"].management_mode == "managed"
    assert world["cu"].management_mode == "unmanaged"


def test_delete_compound_with_devices_refused(world):
    admin = f.admin_user()
    f.DeviceFactory(compound=world["cx"])
    with pytest.raises(ValidationError, match="归档"):
        services.delete_compound(admin, world["cx"])
    assert Compound.objects.filter(pk=world["cx"].pk).exists()


def test_delete_compound_with_history_refused_but_archive_works(world):
    admin = f.admin_user()
    c = world["cy"]
    services.save(admin, Building(compound=c, name="1号楼"))
    with pytest.raises(ValidationError):
        services.delete_compound(admin, c)
    services.archive_compound(admin, c)
    c.refresh_from_db()
    assert c.archived_at is not None
    assert Compound.objects.active().filter(pk=c.pk).count() == 0


def test_fresh_mistaken_compound_can_be_deleted(world):
    admin = f.admin_user()
    c = services.save(
        admin,
        Compound(name="录错了", address="a", police_station=world["station_a"], property_company=world["company_x"]),
    )
    services.delete_compound(admin, c)
    assert not Compound.objects.filter(name="录错了").exists()
    assert ChangeRecord.objects.filter(action=ChangeAction.DELETE, object_repr="录错了").exists()


def test_device_place_must_belong_to_compound(world):
    admin = f.admin_user()
    other_entrance = f.EntranceFactory(compound=world["cy"])
    d = f.DeviceFactory.build(compound=world["cx"], entrance=other_entrance)
    with pytest.raises(ValidationError) as err:
        services.save(admin, d)
    assert "entrance" in err.value.message_dict


def test_delete_records_cascaded_and_unlinked_objects(world):
    admin = f.admin_user()
    building = services.save(admin, Building(compound=world["cx"], name="9号楼"))
    unit = f.UnitFactory(building=building, name="1单元")
    camera = f.DeviceFactory(compound=world["cx"], unit=unit, name="单元门口摄像机")
    services.delete(admin, building)
    deleted = set(ChangeRecord.objects.filter(action=ChangeAction.DELETE).values_list("object_repr", flat=True))
    assert {"9号楼", "9号楼1单元"} <= deleted
    unlinked = ChangeRecord.objects.get(action=ChangeAction.UPDATE, object_id=str(camera.pk))
    assert unlinked.changes == {"unit": [unit.pk, None]}
    camera.refresh_from_db()
    assert camera.unit_id is None
