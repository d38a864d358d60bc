"""Property: whatever the holds (by compound, device, time range, any combination, overlapping),
the rows the purge removes are exactly the expired rows no active hold covers (a Python oracle)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anfang.events.models import Event
from anfang.retention import purge as p
from anfang.retention.models import LegalHold
from anfang.retention.registry import CLASSES
from tests import factories as f

from .factories import event

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
AGES = st.integers(min_value=80, max_value=110)  # around the 90-day cut-off

holds = st.lists(
    st.tuples(
        st.sampled_from([None, 0, 1]),  # compound index
        st.sampled_from([None, 0, 1, 2]),  # device index
        st.one_of(st.none(), AGES),  # data_from: days ago
        st.one_of(st.none(), AGES),  # data_to: days ago
    ),
    max_size=3,
)
rows = st.lists(st.tuples(st.sampled_from([0, 1, 2]), AGES), min_size=1, max_size=8)


@pytest.fixture
def place(world):
    admin = f.admin_user()
    devices = [
        f.DeviceFactory(compound=world["cx"], name="A"),
        f.DeviceFactory(compound=world["cx"], name="B"),
        f.DeviceFactory(compound=world["cy"], name="C"),
    ]
    return admin, [world["cx"], world["cy"]], devices


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows, hold_specs=holds)
def test_removed_rows_are_the_expired_unheld_ones(place, rows, hold_specs):
    admin, compounds, devices = place
    Event.objects.all().delete()
    LegalHold.objects.all().delete()
    ago = lambda days: NOW - dt.timedelta(days=days, hours=6)  # noqa: E731
    made = {event(devices[d], ago(age)).pk: (devices[d], ago(age)) for d, age in rows}
    active = []
    for c, d, start, end in hold_specs:
        device = devices[d] if d is not None else None
        compound = compounds[c] if c is not None else None
        if device is not None and compound is not None and device.compound_id != compound.pk:
            compound = None  # a device decides its compound
        hold = LegalHold.objects.create(
            case_number="P",
            reason="p",
            owner=admin,
            compound=compound or (device.compound if device else None),
            device=device,
            data_from=ago(start) if start else None,
            data_to=ago(end) if end else None,
        )
        active.append(hold)

    def covered(device, at):
        return any(
            (h.compound_id is None or h.compound_id == device.compound_id)
            and (h.device_id is None or h.device_id == device.pk)
            and (h.data_from is None or at >= h.data_from)
            and (h.data_to is None or at < h.data_to)
            for h in active
        )

    cutoff = NOW - dt.timedelta(days=90)
    expected = {pk for pk, (device, at) in made.items() if at < cutoff and not covered(device, at)}
    scope = p.Scope(CLASSES["events"], Event, NOW, 90, {}, active)
    doomed = Event.objects.filter(scope.expired())
    held = scope.held()
    if held is not None:
        doomed = doomed.exclude(held)
    assert set(doomed.values_list("pk", flat=True)) == expected
