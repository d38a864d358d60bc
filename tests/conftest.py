"""Shared fixtures. Services (PostgreSQL, Chromium, MQTT) are real; when one is missing a test
skips — or fails under ANFANG_REQUIRE_SERVICES=1, as in CI."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests import factories as f


def require_service(name: str, available: bool, why: str = "") -> None:
    if available:
        return
    message = f"service {name} unavailable{': ' + why if why else ''}"
    if settings.ANFANG_REQUIRE_SERVICES:
        pytest.fail(message + " (ANFANG_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def _stop_console_listener(django_db_setup, django_db_blocker):
    """The console's LISTEN thread holds a connection; close it before the test database is dropped."""
    yield
    from anfang.console import bus

    bus.stop_listener()


@pytest.fixture
def orgs(db):
    return f.org_tree()


@pytest.fixture
def world(orgs):
    """Three compounds: X's at station A, Y's at station B, an unmanaged one of the community at A."""
    cx = f.CompoundFactory(name="安居花园", police_station=orgs["station_a"], property_company=orgs["company_x"])
    cy = f.CompoundFactory(name="乐家小区", police_station=orgs["station_b"], property_company=orgs["company_y"])
    cu = f.CompoundFactory(
        name="老街小区", police_station=orgs["station_a"], property_company=None, community=orgs["community"]
    )
    return {**orgs, "cx": cx, "cy": cy, "cu": cu}
