"""The ANPR hook: events → passages inside the event transaction (issue 8 §3)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anfang.alarms.choices import PlatformKind
from anfang.alarms.models import Alarm
from anfang.events import writer
from anfang.events.ingest import DUPLICATE, STORED
from anfang.events.models import Event
from anfang.uplink.models import OutboxMessage
from anfang.vehicles import choices as c
from anfang.vehicles.barrier import WATCH_CACHE
from anfang.vehicles.models import ParkingStay, Passage, VisitorPass, WatchEntry
from tests import factories as f
from tests.vehicles.factories import (
    PLATE_PICTURE,
    SCENE_PICTURE,
    ResidentVehicleFactory,
    VisitorPassFactory,
    WatchEntryFactory,
    anpr_camera,
    anpr_event,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_watch_cache():
    WATCH_CACHE.forget()
    yield
    WATCH_CACHE.forget()


@pytest.fixture
def gate():
    compound = f.CompoundFactory()
    entrance = f.EntranceFactory(compound=compound)
    return anpr_camera(compound, entrance=entrance)


def test_passage_takes_the_entrance_of_its_device(gate):
    [outcome] = writer.write([anpr_event(gate, "辽h·12345")])
    passage = Passage.objects.get()
    assert passage.event_id == outcome.event_id
    assert passage.entrance_id == gate.entrance_id and passage.compound_id == gate.compound_id
    assert passage.device_id == gate.pk and passage.parking_lot_id is None
    assert passage.plate == "辽H12345" and passage.plate_valid and passage.plate_raw == "辽h·12345"
    assert passage.plate_skeleton and passage.plate_series == "ordinary"
    assert passage.direction == c.Direction.IN and passage.confidence == 96 and passage.lane == "1"
    assert not passage.needs_confirmation
    assert passage.flags == []


def test_parking_entrance_gives_its_lot():
    compound = f.CompoundFactory()
    lot = f.ParkingLotFactory(compound=compound, spaces=10)
    parking_entrance = f.ParkingEntranceFactory(compound=compound, parking_lot=lot)
    camera = anpr_camera(compound, parking_entrance=parking_entrance)
    writer.write([anpr_event(camera, direction="reverse")])
    passage = Passage.objects.get()
    assert passage.parking_entrance_id == parking_entrance.pk
    assert passage.parking_lot_id == lot.pk and passage.entrance_id is None
    assert passage.direction == c.Direction.OUT


def test_device_without_entrance_is_kept_and_flagged():
    camera = anpr_camera()
    writer.write([anpr_event(camera)])
    passage = Passage.objects.get()
    assert passage.entrance_id is None and passage.parking_entrance_id is None
    assert c.PassageFlag.NO_ENTRANCE in passage.flags
    assert passage.plate == "辽H12345"


@pytest.mark.parametrize("garbage", ["", "无车牌", "辽H12", "XX-$$$-1234567890123456789", "京A1234５6"])
def test_garbage_plate_is_kept_as_read_and_flagged(gate, garbage):
    writer.write([anpr_event(gate, garbage)])
    passage = Passage.objects.get()
    assert passage.plate_raw == garbage[:64]
    if garbage == "京A1234５6":  # full-width digit is normalised, length 8 → not a valid plate
        assert passage.plate.startswith("京A1234")
    assert not passage.plate_valid
    assert passage.needs_confirmation  # the guard looks at it
    assert c.PassageFlag.INVALID_PLATE in passage.flags
    assert passage.decision in (c.Decision.ASK, c.Decision.ALLOW)


def test_low_confidence_needs_confirmation(gate, settings):
    settings.ANFANG_VEHICLES_MIN_CONFIDENCE = 80
    writer.write(
        [anpr_event(gate, confidence="61", external_id="a"), anpr_event(gate, confidence="0.93", external_id="b")]
    )
    low, high = Passage.objects.order_by("id")
    assert low.confidence == 61 and low.needs_confirmation
    assert high.confidence == 93 and not high.needs_confirmation


def test_unparsable_confidence_is_none(gate):
    writer.write([anpr_event(gate, confidence="high")])
    assert Passage.objects.get().confidence is None


def test_picture_roles_from_names_and_non_images_skipped(gate):
    odd = {"path": "events/cc/x.bin", "type": "application/octet-stream", "size": 3, "sha256": "c" * 64, "name": "x"}
    named = {**SCENE_PICTURE, "name": "plate.jpg", "role": ""}
    writer.write([anpr_event(gate, media=[SCENE_PICTURE, odd, PLATE_PICTURE, named])])
    pictures = Passage.objects.get().pictures
    assert [(p["role"], p["index"]) for p in pictures] == [("scene", 0), ("plate", 2), ("plate", 3)]


def test_no_pictures_flagged(gate):
    writer.write([anpr_event(gate, media=[])])
    assert c.PassageFlag.NO_PICTURE in Passage.objects.get().flags


def test_duplicated_camera_events_give_one_passage(gate):
    first = anpr_event(gate, external_id="hik-1")
    again = anpr_event(gate, external_id="hik-1")
    outcomes = writer.write([first, again])
    assert [o.status for o in outcomes] == [STORED, DUPLICATE]
    [later] = writer.write([anpr_event(gate, external_id="hik-1")])
    assert later.status == DUPLICATE
    assert Event.objects.count() == 1
    assert Passage.objects.count() == 1
    assert OutboxMessage.objects.filter(kind="motor_vehicle").count() == 1


def test_every_passage_is_queued_for_the_police_platform(gate):
    writer.write([anpr_event(gate, external_id=str(i)) for i in range(3)])
    ids = set(Passage.objects.values_list("id", flat=True))
    assert set(OutboxMessage.objects.values_list("object_id", flat=True)) == ids


def test_resident_allowed_and_unknown_asks(gate):
    ResidentVehicleFactory(compound=gate.compound, plate="辽H12345")
    writer.write([anpr_event(gate, "辽H12345", external_id="1"), anpr_event(gate, "辽H54321", external_id="2")])
    resident, unknown = Passage.objects.order_by("id")
    assert (resident.decision, resident.decision_reason, resident.list_match) == ("allow", "resident", "resident")
    assert (unknown.decision, unknown.decision_reason, unknown.list_match) == ("ask", "unknown", "none")


def test_expired_resident_is_unknown(gate):
    ResidentVehicleFactory(
        compound=gate.compound, plate="辽H12345", valid_to=timezone.localdate() - dt.timedelta(days=1)
    )
    writer.write([anpr_event(gate, "辽H12345")])
    assert Passage.objects.get().decision_reason == c.DecisionReason.UNKNOWN


def test_single_entry_visitor_pass_is_used_once(gate):
    VisitorPassFactory(compound=gate.compound, plate="辽B00001", kind=c.PassKind.SINGLE)
    writer.write([anpr_event(gate, "辽B00001", external_id="1")])
    writer.write([anpr_event(gate, "辽B00001", external_id="2")])
    first, second = Passage.objects.order_by("id")
    assert first.decision_reason == c.DecisionReason.VISITOR and first.decision == c.Decision.ALLOW
    assert second.decision_reason == c.DecisionReason.UNKNOWN
    visitor = VisitorPass.objects.get()
    assert visitor.uses == 1 and visitor.first_entry_at is not None


def test_watch_list_hit_raises_an_alarm_with_a_link(gate):
    WatchEntryFactory(compound=gate.compound, plate="辽H9999A", reason="盗抢车辆")
    writer.write([anpr_event(gate, "辽H9999A")])
    passage = Passage.objects.get()
    assert (passage.decision, passage.decision_reason, passage.list_match) == ("ask", "watch", "watch")
    alarm = Alarm.objects.get(kind=PlatformKind.WATCHLIST_HIT)
    assert alarm.compound_id == gate.compound_id and alarm.device_id == gate.pk
    assert "辽H9999A" in alarm.subject and "盗抢车辆" in alarm.subject
    assert alarm.link == f"/vehicles/passages/{passage.pk}/"
    entry = WatchEntry.objects.get()
    assert entry.hits == 1 and entry.last_hit_at is not None


def test_watch_pattern_and_expiry(gate):
    WatchEntryFactory(compound=gate.compound, plate="辽H*88")
    WatchEntryFactory(compound=gate.compound, plate="辽H77777", expires_at=timezone.now() - dt.timedelta(minutes=1))
    writer.write([anpr_event(gate, "辽HA1288", external_id="1"), anpr_event(gate, "辽H77777", external_id="2")])
    pattern_hit, expired = Passage.objects.order_by("id")
    assert pattern_hit.list_match == c.ListMatch.WATCH
    assert expired.list_match == c.ListMatch.NONE
    assert Alarm.objects.count() == 1


def test_watch_list_of_another_compound_does_not_hit(gate):
    WatchEntryFactory(plate="辽H12345")  # its own compound
    writer.write([anpr_event(gate, "辽H12345")])
    assert Passage.objects.get().list_match == c.ListMatch.NONE
    assert not Alarm.objects.exists()


def test_other_event_kinds_make_no_passage(gate):
    from anfang.events import choices as ec
    from anfang.events.ingest import normalise
    from tests.events.conftest import incoming

    writer.write([normalise(incoming(gate, ec.EventKind.MOTION), timezone.now())])
    assert Event.objects.count() == 1 and not Passage.objects.exists()


def test_a_failing_passage_rolls_back_its_event(gate, monkeypatch):
    from anfang.vehicles import passages

    def broken(_passages):
        raise RuntimeError("boom")

    monkeypatch.setattr(passages, "record_stays", broken)
    with pytest.raises(RuntimeError):
        writer.write([anpr_event(gate)])
    assert not Event.objects.exists() and not Passage.objects.exists()


def test_entries_and_exits_open_and_close_stays(gate):
    writer.write([anpr_event(gate, "辽H12345", seconds_ago=60, external_id="in")])
    stay = ParkingStay.objects.get()
    assert stay.open and stay.entered_at is not None and stay.parking_lot_id is None
    writer.write([anpr_event(gate, "辽H12345", direction="reverse", seconds_ago=5, external_id="out")])
    stay.refresh_from_db()
    assert not stay.open and stay.exited_at > stay.entered_at
