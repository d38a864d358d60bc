"""The fast list rendering (`json_page`) must give exactly what ninja's validated schema output gives."""

import json

import pytest
from ninja.responses import NinjaJSONEncoder

from anfang.compounds.models import Compound
from anfang.compounds.schemas import COMPOUND, with_list_data
from anfang.compounds.selectors import with_counts
from anfang.core.choices import Role
from anfang.core.schemas import page_of
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_compound_page_equals_the_schema_output(world, client, language):
    world["cx"].latitude, world["cx"].longitude, world["cx"].area_m2 = "40.667432", "122.235150", "51234.50"
    world["cx"].save()
    f.BuildingFactory(compound=world["cx"])
    f.DeviceFactory(compound=world["cu"])
    client.force_login(f.admin_user())
    fast = client.get("/api/compounds/?limit=50", HTTP_ACCEPT_LANGUAGE=language)
    assert fast.status_code == 200
    from django.utils import translation

    with translation.override(language):
        items = with_counts(with_list_data(Compound.objects.all()).order_by("name", "id"))
        reference = page_of(COMPOUND.out).model_validate({"count": len(items), "items": items}).model_dump()
        expected = json.loads(json.dumps(reference, cls=NinjaJSONEncoder))
    assert fast.json() == expected
    assert fast.json()["count"] == 3


def test_fast_page_keeps_scope(world, client):
    client.force_login(f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"]))
    assert [c["name"] for c in client.get("/api/compounds/").json()["items"]] == ["安居花园"]
