"""The demo seed: reports for the recorders, one short of the floor, a police hold; idempotent."""

from __future__ import annotations

import pytest

from anfang.core.choices import Role
from anfang.devices import choices as dc
from anfang.retention import demo
from anfang.retention.compliance_facts import retention_facts
from anfang.retention.models import LegalHold, VideoRetentionReport
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_shows_a_shortfall(world):
    for compound in (world["cx"], world["cu"]):
        f.DeviceFactory(compound=compound, name=f"{compound.name}录像机", device_type=dc.DeviceType.NVR)
    users = {"police-station": f.user_with(Role.POLICE_STATION, organisation=world["station_a"])}
    compounds = [world["cx"], world["cu"]]
    demo.seed(compounds, users)
    demo.seed(compounds, users)
    assert VideoRetentionReport.objects.count() == 8 and LegalHold.objects.count() == 1
    facts = retention_facts([c.pk for c in compounds])
    assert facts[world["cx"].pk]["video_days"] >= 30 and facts[world["cu"].pk]["video_days"] == 21
