"""Compound list, detail and compound form: scope both ways, filters, pagination, errors."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from anfang.compounds import services
from anfang.compounds.models import Compound
from anfang.core.choices import ChangeAction, Role
from anfang.core.models import ChangeRecord
from tests import factories as f

pytestmark = pytest.mark.django_db

LIST = reverse("compounds:list")


def names_in(response) -> set[str]:
    return {c.name for c in response.context["page"].object_list}


def test_anonymous_is_sent_to_login(client, world):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_manager_sees_only_own_company(login, manager_x):
    response = login(manager_x).get(LIST)
    assert response.status_code == 200
    assert names_in(response) == {"安居花园"}
    assert "乐家小区" not in response.content.decode()
    assert "新增小区" in response.content.decode()


def test_station_officer_sees_exactly_station_compounds_and_cannot_add(login, officer_a):
    response = login(officer_a).get(LIST)
    assert names_in(response) == {"安居花园", "老街小区"}
    assert "新增小区" not in response.content.decode()


def test_list_shows_device_count_and_org_columns(login, manager_x, world):
    f.DeviceFactory.create_batch(3, compound=world["cx"])
    response = login(manager_x).get(LIST)
    row = response.context["page"].object_list[0]
    assert row.device_count == 3
    html = response.content.decode()
    assert "建设派出所" in html and "站前分局" in html and "安居物业" in html


def test_filter_dropdowns_offer_only_visible_organisations(login, manager_x):
    form = login(manager_x).get(LIST).context["form"]
    assert [o.name for o in form.fields["police_station"].queryset] == ["建设派出所"]
    assert [o.name for o in form.fields["property_company"].queryset] == ["安居物业"]
    assert [o.name for o in form.fields["district"].queryset] == ["站前分局"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"mode": "unmanaged"}, {"老街小区"}),
        ({"mode": "managed"}, {"安居花园"}),
        ({"q": "老街"}, {"老街小区"}),
        ({"status": "planned"}, set()),
    ],
)
def test_filters(login, officer_a, params, expected):
    assert names_in(login(officer_a).get(LIST, params)) == expected


def test_filter_by_org_ids(login, world):
    admin = f.admin_user()
    client = login(admin)
    assert names_in(client.get(LIST, {"police_station": world["station_b"].pk})) == {"乐家小区"}
    assert names_in(client.get(LIST, {"district": world["district"].pk})) == {"安居花园", "乐家小区", "老街小区"}
    assert names_in(client.get(LIST, {"community": world["community"].pk})) == {"老街小区"}


def test_bad_filter_value_is_reported_not_a_500(login, officer_a, world):
    response = login(officer_a).get(LIST, {"district": "abc", "police_station": world["station_b"].pk, "mode": "x"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "部分筛选条件无效" in html
    # The invalid station (out of sight) is ignored, so the officer still sees their list.
    assert names_in(response) == {"安居花园", "老街小区"}


def test_archived_toggle(login, manager_x, world):
    services.archive_compound(manager_x, world["cx"])
    client = login(manager_x)
    assert names_in(client.get(LIST)) == set()
    assert names_in(client.get(LIST, {"archived": "1"})) == {"安居花园"}
    assert names_in(client.get(LIST, {"archived": "all"})) == {"安居花园"}
    assert "没有符合条件的小区" in client.get(LIST).content.decode()


def test_pagination_keeps_filters(login, world):
    for i in range(30):
        f.CompoundFactory(name=f"批量{i:02d}", police_station=world["station_b"], property_company=world["company_y"])
    client = login(f.admin_user())
    first = client.get(LIST, {"police_station": world["station_b"].pk})
    assert len(first.context["page"].object_list) == 25
    assert first.context["page"].paginator.count == 31
    html = first.content.decode()
    assert f"?police_station={world['station_b'].pk}&amp;page=2" in html
    second = client.get(LIST, {"police_station": world["station_b"].pk, "page": 2})
    assert len(second.context["page"].object_list) == 6
    assert client.get(LIST, {"page": "999"}).status_code == 200


# ---- detail and scope ----------------------------------------------------------------------


def test_detail_tabs_render_for_manager(login, manager_x, world):
    client = login(manager_x)
    url = reverse("compounds:detail", args=[world["cx"].pk])
    for tab in ("structure", "devices", "people", "history", "nonsense"):
        response = client.get(url, {"tab": tab})
        assert response.status_code == 200, tab
    assert client.get(url, {"tab": "nonsense"}).context["tab"] == "structure"


@pytest.mark.parametrize("name", ["compounds:detail", "compounds:edit"])
def test_other_company_compound_is_404(login, manager_x, world, name):
    assert login(manager_x).get(reverse(name, args=[world["cy"].pk])).status_code == 404


@pytest.mark.parametrize("name", ["compounds:archive", "compounds:delete"])
def test_other_company_compound_post_is_404(login, manager_x, world, name):
    assert login(manager_x).post(reverse(name, args=[world["cy"].pk])).status_code == 404
    assert Compound.objects.filter(pk=world["cy"].pk, archived_at=None).exists()


def test_officer_sees_detail_but_edit_is_403(login, officer_a, world):
    client = login(officer_a)
    detail = client.get(reverse("compounds:detail", args=[world["cx"].pk]))
    assert detail.status_code == 200
    assert reverse("compounds:edit", args=[world["cx"].pk]) not in detail.content.decode()
    assert client.get(reverse("compounds:edit", args=[world["cx"].pk])).status_code == 403
    assert client.post(reverse("compounds:archive", args=[world["cx"].pk])).status_code == 403
    assert client.get(reverse("compounds:create")).status_code == 403


def test_people_tab_lists_covering_grants_and_teams(login, manager_x, officer_a, world):
    f.user_with(Role.POLICE_CITY, organisation=world["city"], username="city-cop")
    f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_y"], username="mgr-y")
    f.user_with(Role.DUTY_OPERATOR, compound=world["cx"], username="duty-x")
    response = login(manager_x).get(reverse("compounds:detail", args=[world["cx"].pk]), {"tab": "people"})
    users = {g.user.username for g in response.context["grants"]}
    assert users == {"mgr-x", "officer-a", "city-cop", "duty-x"}
    assert "第5条" in response.content.decode()


def test_history_tab_shows_field_changes_with_verbose_names(login, manager_x, world):
    building = services.save(manager_x, f.BuildingFactory.build(compound=world["cx"], name="7号楼", floors=18))
    building.floors = 20
    services.save(manager_x, building)
    response = login(manager_x).get(reverse("compounds:detail", args=[world["cx"].pk]), {"tab": "history"})
    html = response.content.decode()
    assert "层数" in html and "18" in html and "20" in html
    assert "mgr-x" in html and "7号楼" in html
    update = next(e for e in response.context["entries"] if e.record.action == ChangeAction.UPDATE)
    assert update.changes == [("层数", "18", "20")]
    assert update.kind == "楼栋"


# ---- compound form -------------------------------------------------------------------------


def test_manager_creates_compound_only_for_own_company(login, manager_x, world):
    client = login(manager_x)
    url = reverse("compounds:create")
    form = client.get(url).context["form"]
    assert [o.name for o in form.fields["property_company"].queryset] == ["安居物业"]
    assert form.fields["property_company"].required
    data = {"name": "新城花园", "address": "新城路1号", "status": "in_use", "police_station": world["station_b"].pk}
    refused = client.post(url, {**data, "property_company": world["company_y"].pk})
    assert refused.status_code == 200
    assert "property_company" in refused.context["form"].errors
    assert not Compound.objects.filter(name="新城花园").exists()
    created = client.post(url, {**data, "property_company": world["company_x"].pk})
    compound = Compound.objects.get(name="新城花园")
    assert created.status_code == 302 and created["Location"] == compound.get_absolute_url()
    assert ChangeRecord.objects.filter(compound=compound, action=ChangeAction.CREATE, actor=manager_x).exists()


def test_compound_form_errors_render_next_to_fields(login, manager_x, world):
    response = login(manager_x).post(
        reverse("compounds:edit", args=[world["cx"].pk]),
        {"name": "", "address": "x", "status": "in_use", "police_station": world["station_a"].pk, "year_built": "1800"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) >= {"name", "year_built", "property_company"}
    html = response.content.decode()
    assert re.search(r'class="field has-error".*?id="id_name"', html, re.S)


def test_service_validation_error_is_mapped_onto_the_form(login, world):
    """The unique (station, name) constraint is checked by the service's full_clean."""
    admin = f.admin_user()
    data = {"name": "乐家小区", "address": "x", "status": "in_use", "police_station": world["station_b"].pk}
    response = login(admin).post(reverse("compounds:create"), {**data, "property_company": world["company_x"].pk})
    assert response.status_code == 200
    assert "该派出所辖区内已有同名小区" in response.content.decode()


def test_manager_edits_own_compound(login, manager_x, world):
    cx = world["cx"]
    data = {
        "name": cx.name,
        "address": "新地址9号",
        "status": "in_use",
        "police_station": cx.police_station_id,
        "property_company": cx.property_company_id,
        "households": 420,
    }
    response = login(manager_x).post(reverse("compounds:edit", args=[cx.pk]), data, follow=True)
    assert response.status_code == 200
    cx.refresh_from_db()
    assert cx.address == "新地址9号" and cx.households == 420
    assert "已保存" in response.content.decode()


def test_delete_refused_with_devices_suggests_archive(login, manager_x, world):
    f.DeviceFactory(compound=world["cx"])
    client = login(manager_x)
    response = client.post(reverse("compounds:delete", args=[world["cx"].pk]), follow=True)
    assert Compound.objects.filter(pk=world["cx"].pk).exists()
    assert "请改为归档" in response.content.decode()
    client.post(reverse("compounds:archive", args=[world["cx"].pk]))
    world["cx"].refresh_from_db()
    assert world["cx"].archived_at is not None
    client.post(reverse("compounds:archive", args=[world["cx"].pk]), {"archived": "0"})
    world["cx"].refresh_from_db()
    assert world["cx"].archived_at is None


def test_mistaken_compound_can_be_deleted(login, manager_x, world):
    compound = services.save(
        manager_x,
        Compound(name="误登记", address="x", police_station=world["station_a"], property_company=world["company_x"]),
    )
    response = login(manager_x).post(reverse("compounds:delete", args=[compound.pk]))
    assert response.status_code == 302 and response["Location"] == LIST
    assert not Compound.objects.filter(pk=compound.pk).exists()


def test_archive_and_delete_need_post(login, manager_x, world):
    assert login(manager_x).get(reverse("compounds:archive", args=[world["cx"].pk])).status_code == 405
