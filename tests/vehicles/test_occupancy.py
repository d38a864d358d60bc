"""Parking occupancy from entries and exits, unmatched reads, visitor overstays (issue 8 §5)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from anfang.events import writer
from anfang.vehicles import occupancy
from anfang.vehicles.models import ParkingStay, VisitorPass
from tests import factories as f
from tests.vehicles.factories import ResidentVehicleFactory, VisitorPassFactory, anpr_camera, anpr_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def garage():
    compound = f.CompoundFactory()
    lot = f.ParkingLotFactory(compound=compound, spaces=3, name="地下车库")
    entrance = f.ParkingEntranceFactory(compound=compound, parking_lot=lot)
    return anpr_camera(compound, parking_entrance=entrance), lot


SEQ = itertools.count()


def passes(camera, *moves):
    """(plate, 'in'|'out', seconds ago) → one batch, in the given order."""
    events = [
        anpr_event(
            camera,
            plate,
            direction="forward" if way == "in" else "reverse",
            seconds_ago=ago,
            external_id=f"{next(SEQ)}",
        )
        for plate, way, ago in moves
    ]
    writer.write(events)


def lot_row(camera, lot):
    return next(r for r in occupancy.occupancy(camera.compound_id) if r.lot == lot)


def test_entries_minus_exits(garage):
    camera, lot = garage
    ResidentVehicleFactory(compound=camera.compound, plate="辽H00001")
    passes(camera, ("辽H00001", "in", 300), ("辽H00002", "in", 200), ("辽H00003", "in", 100), ("辽H00002", "out", 50))
    row = lot_row(camera, lot)
    assert (row.parked, row.residents, row.free, row.percent) == (2, 1, 1, 67)
    assert row.exits_without_entry == 0 and row.missed_exits == 0


def test_exit_without_entry_is_kept_and_counted(garage):
    camera, lot = garage
    passes(camera, ("辽H00009", "out", 10))
    stay = ParkingStay.objects.get()
    assert stay.entered_at is None and stay.exited_at is not None
    row = lot_row(camera, lot)
    assert row.parked == 0 and row.exits_without_entry == 1
    assert list(occupancy.unmatched(camera.compound_id)) == [stay]


def test_second_entry_supersedes_the_first(garage):
    camera, lot = garage
    passes(camera, ("辽H00001", "in", 300), ("辽H00001", "in", 100))
    row = lot_row(camera, lot)
    assert row.parked == 1 and row.missed_exits == 1
    # the exit closes the newer stay only
    passes(camera, ("辽H00001", "out", 10))
    assert lot_row(camera, lot).parked == 0
    assert ParkingStay.objects.filter(superseded=True).count() == 1


def test_entry_never_exited_goes_stale(garage, settings):
    settings.ANFANG_VEHICLES_STALE_DAYS = 3
    camera, lot = garage
    ParkingStay.objects.create(
        compound=camera.compound, parking_lot=lot, plate="辽H00001", entered_at=timezone.now() - dt.timedelta(days=4)
    )
    passes(camera, ("辽H00002", "in", 10))
    row = lot_row(camera, lot)
    assert (row.parked, row.stale) == (1, 1)
    assert [s.plate for s in occupancy.unmatched(camera.compound_id)] == ["辽H00001"]


def test_entry_and_exit_in_one_batch(garage):
    camera, _lot = garage
    passes(camera, ("辽H00001", "in", 30), ("辽H00001", "out", 20))
    stay = ParkingStay.objects.get()
    assert stay.entered_at and stay.exited_at and not stay.open


def test_invalid_and_unknown_direction_reads_do_not_move_cars(garage):
    camera, _lot = garage
    writer.write([anpr_event(camera, "辽H12", external_id="1"), anpr_event(camera, direction="", external_id="2")])
    assert not ParkingStay.objects.exists()


def test_visitor_overstay(garage):
    camera, _lot = garage
    visitor = VisitorPassFactory(
        compound=camera.compound,
        plate="辽B00001",
        valid_from=timezone.now() - dt.timedelta(hours=3),
        valid_to=timezone.now() + dt.timedelta(hours=1),
    )
    gone = VisitorPassFactory(compound=camera.compound, plate="辽B00002")
    passes(camera, ("辽B00001", "in", 600), ("辽B00002", "in", 500), ("辽B00002", "out", 100))
    assert list(occupancy.overstays([camera.compound_id])) == []
    VisitorPass.objects.filter(pk__in=[visitor.pk, gone.pk]).update(valid_to=timezone.now() - dt.timedelta(minutes=5))
    assert list(occupancy.overstays([camera.compound_id])) == [visitor]
