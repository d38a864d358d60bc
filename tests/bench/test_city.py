"""The benchmark's city generator (quick-mode size) on the test database: it writes a coherent
city whose scoping works. Nothing is timed here — timing lives in `python -m bench`."""

import pytest
from django.db.models import Count

from anfang.compounds import models as cm
from anfang.core.choices import OrgKind, Role
from anfang.core.models import Organisation
from anfang.devices.models import Device
from bench import city
from bench.measure import percentile
from tests import factories as f

pytestmark = pytest.mark.django_db

N = 60  # the size of `python -m bench --quick`: two stations, six communities


@pytest.fixture
def stats():
    return city.generate_city(N)


def test_generates_the_requested_city(stats):
    assert cm.Compound.objects.count() == N
    assert Device.objects.count() == N * city.DEVICES_PER_COMPOUND
    assert stats.rows["devices_device"] == N * city.DEVICES_PER_COMPOUND
    assert stats.total_rows == stats.rows["core_organisation"] + sum(
        m.objects.count() for m in (cm.Compound, *cm.PART_MODELS, Device)
    )
    per_compound = set(cm.Compound.objects.annotate(n=Count("devices")).values_list("n", flat=True))
    assert per_compound == {city.DEVICES_PER_COMPOUND}
    assert cm.Unit.objects.count() == N * city.BUILDINGS * city.UNITS


def test_generated_rows_are_valid(stats):
    """A sample of every kind passes the model's own validation (the services' full_clean)."""
    for model in (cm.Compound, *cm.PART_MODELS, Device):
        for obj in model.objects.order_by("?")[:3]:
            obj.full_clean()


def test_places_belong_to_the_device_compound(stats):
    for device in Device.objects.select_related("entrance", "unit", "elevator", "duty_room")[:200]:
        place = device.place
        assert place is not None and place.compound_id == device.compound_id


def test_org_paths_make_scoping_work(stats):
    station = Organisation.objects.filter(kind=OrgKind.POLICE_STATION).order_by("pk").first()
    officer = f.user_with(Role.POLICE_STATION, organisation=station)
    city_officer = f.user_with(Role.POLICE_CITY, organisation=Organisation.objects.get(kind=OrgKind.CITY_BUREAU))
    mine = cm.Compound.objects.visible_to(officer)
    assert 0 < mine.count() < N
    assert set(mine.values_list("police_station", flat=True)) == {station.pk}
    assert cm.Compound.objects.visible_to(city_officer).count() == N
    assert not cm.Compound.objects.filter(property_company=None, community=None).exists()


def test_device_insert_hook_sees_every_device_before_insert():
    seen = []
    city.generate_city(3, before_device_insert=lambda devices: seen.append((len(devices), Device.objects.count())))
    assert seen == [(3 * city.DEVICES_PER_COMPOUND, 0)]
    rows = city.copy_rows(list(Device.objects.all()[:2]))
    assert len(rows[0]) == len(city.COPY_FIELDS)


def test_percentile_is_nearest_rank():
    samples = [float(i) for i in range(1, 101)]
    assert percentile(samples, 95) == 95.0
    assert percentile(samples, 50) == 50.0
    assert percentile([7.0], 95) == 7.0
