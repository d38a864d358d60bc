"""Audit fixtures: the usual world plus people with the roles the audit pages distinguish."""

from __future__ import annotations

import pytest

from anfang.core.choices import Role
from tests import factories as f


@pytest.fixture
def people(world):
    return {
        "pm_x": f.user_with(Role.PROPERTY_MANAGER, world["company_x"], username="pm-x"),
        "pm_x2": f.user_with(Role.PROPERTY_MANAGER, world["company_x"], username="pm-x2"),
        "pm_y": f.user_with(Role.PROPERTY_MANAGER, world["company_y"], username="pm-y"),
        "police_a": f.user_with(Role.POLICE_STATION, world["station_a"], username="police-a"),
        "police_b": f.user_with(Role.POLICE_STATION, world["station_b"], username="police-b"),
        "guard_x": f.user_with(Role.GUARD, world["company_x"], username="guard-x"),
        "admin": f.admin_user(),
    }
