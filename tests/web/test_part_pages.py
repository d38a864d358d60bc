"""The generic part views: one registry drives every part model's form, table and delete."""

from __future__ import annotations

import pytest
from django.urls import reverse

from anfang.compounds.forms import PARTS, PARTS_BY_MODEL
from anfang.compounds.models import PART_MODELS, Building, Elevator, Unit
from anfang.core.choices import ChangeAction
from anfang.core.models import ChangeRecord
from tests import factories as f

pytestmark = pytest.mark.django_db


def part_url(compound, slug, part=None, action="new"):
    if part is None:
        return reverse("compounds:part_create", args=[compound.pk, slug])
    return reverse(f"compounds:part_{action}", args=[compound.pk, slug, part.pk])


def test_registry_covers_every_part_model():
    assert set(PARTS_BY_MODEL) == set(PART_MODELS)
    assert all(PARTS[spec.slug] is spec for spec in PARTS.values())


@pytest.mark.parametrize("slug", sorted(PARTS))
def test_every_part_form_renders(login, manager_x, world, slug):
    response = login(manager_x).get(part_url(world["cx"], slug))
    assert response.status_code == 200
    assert "compound" not in response.context["form"].fields


def test_manager_adds_building_with_history(login, manager_x, world):
    response = login(manager_x).post(part_url(world["cx"], "building"), {"name": "7号楼", "floors": 18})
    assert response.status_code == 302
    assert response["Location"].endswith("?tab=structure#building")
    building = Building.objects.get(name="7号楼")
    assert building.compound == world["cx"]
    record = ChangeRecord.objects.get(object_id=str(building.pk), content_type__model="building")
    assert record.action == ChangeAction.CREATE and record.actor == manager_x


def test_part_form_errors_render(login, manager_x, world):
    response = login(manager_x).post(part_url(world["cx"], "building"), {"name": "", "floors": "-1"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"name", "floors"}
    assert 'class="error"' in response.content.decode()


def test_duplicate_name_from_service_lands_on_form(login, manager_x, world):
    f.BuildingFactory(compound=world["cx"], name="1号楼")
    response = login(manager_x).post(part_url(world["cx"], "building"), {"name": "1号楼"})
    assert response.status_code == 200
    assert "本小区已有同名记录" in response.content.decode()
    assert Building.objects.filter(compound=world["cx"], name="1号楼").count() == 1


def test_dropdowns_offer_only_the_compounds_own_records(login, manager_x, world):
    own = f.BuildingFactory(compound=world["cx"], name="X楼")
    foreign = f.BuildingFactory(compound=world["cy"], name="Y楼")
    client = login(manager_x)
    form = client.get(part_url(world["cx"], "unit")).context["form"]
    assert list(form.fields["building"].queryset) == [own]
    response = client.post(part_url(world["cx"], "unit"), {"name": "1单元", "building": foreign.pk})
    assert "building" in response.context["form"].errors
    assert not Unit.objects.filter(name="1单元").exists()


def test_elevator_unit_must_belong_to_building(login, manager_x, world):
    b1, b2 = f.BuildingFactory(compound=world["cx"]), f.BuildingFactory(compound=world["cx"])
    unit = f.UnitFactory(building=b2)
    response = login(manager_x).post(
        part_url(world["cx"], "elevator"), {"name": "1号梯", "building": b1.pk, "unit": unit.pk}
    )
    assert response.status_code == 200
    assert "unit" in response.context["form"].errors
    assert not Elevator.objects.exists()


def test_team_provider_limited_to_compounds_company_or_community(login, manager_x, world):
    form = login(manager_x).get(part_url(world["cx"], "securityteam")).context["form"]
    assert list(form.fields["provider"].queryset) == [world["company_x"]]


def test_edit_and_delete_part(login, manager_x, world):
    building = f.BuildingFactory(compound=world["cx"], name="2号楼", floors=6)
    client = login(manager_x)
    assert client.get(part_url(world["cx"], "building", building, "edit")).status_code == 200
    client.post(part_url(world["cx"], "building", building, "edit"), {"name": "2号楼", "floors": 9})
    building.refresh_from_db()
    assert building.floors == 9
    response = client.post(part_url(world["cx"], "building", building, "delete"), follow=True)
    assert not Building.objects.filter(pk=building.pk).exists()
    assert "已删除" in response.content.decode()


def test_other_company_part_pages_are_404(login, manager_x, world):
    foreign = f.BuildingFactory(compound=world["cy"])
    client = login(manager_x)
    assert client.get(part_url(world["cy"], "building")).status_code == 404
    assert client.get(part_url(world["cy"], "building", foreign, "edit")).status_code == 404
    assert client.post(part_url(world["cy"], "building", foreign, "delete")).status_code == 404
    # A part of Y addressed through X's URL is not found either.
    assert client.get(part_url(world["cx"], "building", foreign, "edit")).status_code == 404
    assert Building.objects.filter(pk=foreign.pk).exists()


def test_unknown_part_slug_is_404(login, manager_x, world):
    assert login(manager_x).get(part_url(world["cx"], "nuclear-silo")).status_code == 404


def test_officer_part_pages_are_403(login, officer_a, world):
    building = f.BuildingFactory(compound=world["cx"])
    client = login(officer_a)
    assert client.get(part_url(world["cx"], "building")).status_code == 403
    assert client.get(part_url(world["cx"], "building", building, "edit")).status_code == 403
    assert client.post(part_url(world["cx"], "building", building, "delete")).status_code == 403
    assert Building.objects.filter(pk=building.pk).exists()
    structure = client.get(reverse("compounds:detail", args=[world["cx"].pk]))
    assert part_url(world["cx"], "building") not in structure.content.decode()
