"""A fixed number of queries per detail page whatever the size of the compound, and the
language switch."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from anfang.compounds import services
from anfang.compounds.models import Building
from tests import factories as f

pytestmark = pytest.mark.django_db


def fill(compound, n: int, actor) -> None:
    """n buildings (each with a unit and an elevator), n devices placed on them, and history."""
    for i in range(n):
        building = services.save(actor, Building(compound=compound, name=f"{i}号楼", floors=6))
        unit = f.UnitFactory(building=building, compound=compound)
        f.DeviceFactory(compound=compound, unit=unit)
        f.EntranceFactory(compound=compound)


def count_queries(client, url: str, tab: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"tab": tab})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("tab", ["structure", "devices", "people", "history"])
def test_detail_query_count_does_not_grow(login, manager_x, world, tab):
    small, large = world["cx"], f.CompoundFactory(name="大小区", property_company=world["company_x"])
    fill(small, 1, manager_x)
    fill(large, 20, manager_x)
    client = login(manager_x)
    one = count_queries(client, reverse("compounds:detail", args=[small.pk]), tab)
    twenty = count_queries(client, reverse("compounds:detail", args=[large.pk]), tab)
    assert one == twenty


def test_list_query_count_does_not_grow(login, world):
    admin = f.admin_user()
    client = login(admin)
    url = reverse("compounds:list")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(20):
        f.DeviceFactory(compound=f.CompoundFactory(name=f"增{i}", police_station=world["station_a"]))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(few.captured_queries) == len(many.captured_queries)


def test_language_switch_changes_ui_language(client, manager_x):
    login_page = client.get(reverse("login"))
    assert "用户名" in login_page.content.decode()
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response.status_code == 302
    english = client.get(reverse("login")).content.decode()
    assert '<html lang="en">' in english
    assert "Username" in english
    client.force_login(manager_x)
    assert '<html lang="en">' in client.get(reverse("compounds:list")).content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans"})
    assert '<html lang="zh-hans">' in client.get(reverse("compounds:list")).content.decode()
