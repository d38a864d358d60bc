"""Property-based check of the whole API against its own OpenAPI (schemathesis): as a platform
admin on a small seeded world, no request may answer 5xx, and every response must match the
documented status codes, content types and schemas. Generated ids are folded onto the seeded
objects (plus one unknown id) so the operations reach real rows, not only 404s."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from anfang.compounds.models import PART_MODELS
from anfang.core.models import ApiToken
from tests import factories as f

pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
schema.config.phases.update(phases=["examples", "fuzzing"])

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
UNKNOWN_ID = 987654


@pytest.fixture(autouse=True)
def keep_test_connection():
    """The test runs in one transaction; Django's per-request connection clean-up would close it
    mid-test on PostgreSQL. Django's own test client switches it off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(world):
    """Compounds of the `world`, one of each part kind in the first, a device; an admin token."""
    cx = world["cx"]
    building = f.BuildingFactory(compound=cx, name="1号楼")
    unit = f.UnitFactory(compound=cx, building=building, name="1单元")
    entrance = f.EntranceFactory(compound=cx, name="南门")
    device = f.DeviceFactory(compound=cx, name="南门摄像机", entrance=entrance)
    part_ids = {building.pk, unit.pk, entrance.pk}
    _token, raw = ApiToken.issue(f.admin_user(), "schemathesis")
    compound_ids = [world[k].pk for k in ("cx", "cy", "cu")]
    return {"token": raw, "compounds": compound_ids, "parts": sorted(part_ids), "devices": [device.pk]}


def _fold(value: int, known: list[int]) -> int:
    choices = [*known, UNKNOWN_ID]
    return choices[value % len(choices)]


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case, seeded):
    params = case.path_parameters or {}
    for name, known in (
        ("compound_id", seeded["compounds"]),
        ("part_id", seeded["parts"]),
        ("device_id", seeded["devices"]),
    ):
        if isinstance(params.get(name), int):
            params[name] = _fold(params[name], known)
    case.call_and_validate(headers={"Authorization": f"Bearer {seeded['token']}"}, checks=CHECKS)


def test_every_part_kind_is_in_the_schema():
    paths = schema.raw_schema["paths"]
    assert len([p for p in paths if p.endswith("{part_id}")]) == len(PART_MODELS)
