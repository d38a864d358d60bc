"""The vehicles demo seed: lists and passages through the real event path, idempotent."""

from __future__ import annotations

import pytest

from anfang.vehicles import demo
from anfang.vehicles.models import Passage, ResidentVehicle, VisitorPass, WatchEntry
from anfang.vehicles.occupancy import overstays
from tests import factories as f
from tests.vehicles.factories import anpr_camera

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    compound = f.CompoundFactory()
    anpr_camera(compound, entrance=f.EntranceFactory(compound=compound))
    quiet = f.CompoundFactory()  # no ANPR camera: nothing seeded
    admin = f.admin_user()
    demo.seed([compound, quiet], {"admin": admin})
    counts = (ResidentVehicle.objects.count(), VisitorPass.objects.count(), WatchEntry.objects.count())
    assert counts == (12, 3, 1)
    assert Passage.objects.filter(compound=compound).count() == 9
    assert Passage.objects.filter(needs_confirmation=True).count() >= 1
    assert all(p.pictures for p in Passage.objects.all())
    assert list(overstays([compound.pk]))
    demo.seed([compound, quiet], {"admin": admin})
    assert (ResidentVehicle.objects.count(), VisitorPass.objects.count(), WatchEntry.objects.count()) == counts
    assert Passage.objects.count() == 9
