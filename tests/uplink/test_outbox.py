import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anfang.uplink import choices as c
from anfang.uplink import gat1400, services
from anfang.uplink.fakeplatform import problems
from anfang.uplink.models import OutboxMessage
from tests import factories as f

from .factories import T0, passage, queue


@pytest.fixture
def compound(db):
    return f.CompoundFactory()


def test_enqueue_twice_with_the_same_key_is_a_no_op(compound):
    p = passage(11, compound_id=compound.pk)
    for _ in range(2):
        services.enqueue("motor_vehicle", 11, compound.pk, gat1400.motor_vehicle(p), gat1400.idempotency_key(p))
    message = OutboxMessage.objects.get()
    assert message.idempotency_key == "motor_vehicle:11"
    assert message.status == c.Status.PENDING
    assert message.external_id == message.payload["MotorVehicleID"]
    assert message.next_attempt_at == message.created_at == message.queued_at


def test_enqueue_many_skips_keys_already_queued_inside_an_outer_transaction(compound, django_db_blocker):
    queue(compound.pk, range(1, 6))
    queue(compound.pk, range(4, 9))  # 4 and 5 replayed
    assert OutboxMessage.objects.count() == 8
    # The transaction is still usable after the conflicts (no aborted transaction on PostgreSQL).
    assert OutboxMessage.objects.filter(object_id__in=[4, 5]).count() == 2


def test_motor_vehicle_shape_and_ids():
    obj = gat1400.motor_vehicle(passage(123456, device_id=42))
    assert problems(obj) == []
    assert obj["DeviceID"] == "21080000001190000042"
    assert obj["PassTime"] == "20261104024736"  # 11-02 08:30 UTC + 123456 s = 11-03 18:47:36 UTC, Beijing +8
    assert obj["SourceID"] == obj["SubImageList"]["SubImageInfoObject"][0]["ImageID"]
    assert obj["MotorVehicleID"] == obj["SourceID"] + "02" + "00001"
    assert [img["Type"] for img in obj["SubImageList"]["SubImageInfoObject"]] == ["01", "02"]
    assert obj["StorageUrl1"].endswith("aa/00123456.jpg")
    assert (obj["PlateClass"], obj["PlateColor"], obj["PlateNo"], obj["LaneNo"]) == ("02", "5", "辽H8A123", 1)


def test_a_resend_carries_the_same_ids():
    assert gat1400.motor_vehicle(passage(9)) == gat1400.motor_vehicle(passage(9))


def test_unread_plate_and_unknown_codes():
    obj = gat1400.motor_vehicle(passage(5, plate="", plate_colour="", plate_series="", pictures=[], lane=""))
    assert obj["PlateNo"] == "无车牌" and obj["HasPlate"] == "0"
    assert obj["PlateColor"] == "99" and obj["PlateClass"] == "99"
    assert "LaneNo" not in obj and "StorageUrl1" not in obj
    assert problems(obj) == []
    assert gat1400.motor_vehicle(passage(5, plate="辽H8?12_"))["PlateNo"] == "辽H8-12-"


@pytest.mark.parametrize(
    ("series", "colour", "plate", "klass", "color"),
    [
        ("ordinary", "yellow", "辽H12345", "01", "6"),
        ("new_energy", "green", "辽HD12345", "52", "9"),
        ("new_energy", "yellow_green", "辽HD12345", "51", "9"),
        ("police", "white", "辽H1234警", "23", "2"),
        ("coach", "yellow", "辽H1234学", "16", "6"),
        ("trailer", "yellow", "辽H1234挂", "15", "6"),
        ("hk_macau", "black", "粤Z1234港", "26", "1"),
        ("hk_macau", "black", "粤Z1234澳", "27", "1"),
        ("embassy", "black", "使123456", "03", "1"),
        ("consulate", "black", "沪123领", "04", "1"),
        ("armed_police", "white", "WJ辽12345", "31", "2"),
        ("military", "white", "VA12345", "32", "2"),
        ("something_new", "red", "X", "99", "99"),
    ],
)
def test_plate_class_and_colour_code_tables(series, colour, plate, klass, color):
    assert gat1400.plate_class(series, colour, plate) == klass
    assert gat1400.plate_color(colour) == color


@settings(max_examples=200, deadline=None)
@given(
    pk=st.integers(min_value=1, max_value=10**12),
    device_id=st.one_of(st.none(), st.integers(min_value=1, max_value=10**9)),
    seconds=st.integers(min_value=0, max_value=10**9),
    plate=st.text(max_size=12),
    confidence=st.one_of(st.none(), st.integers(min_value=0, max_value=100)),
    pictures=st.integers(min_value=0, max_value=8),
)
def test_every_passage_yields_a_valid_object(pk, device_id, seconds, plate, confidence, pictures):
    refs = [{"path": f"p/{n}.jpg", "type": "image/jpeg", "name": f"{n}.jpg"} for n in range(pictures)]
    at = dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    obj = gat1400.motor_vehicle(
        passage(pk, device_id=device_id, captured_at=at, plate=plate, confidence=confidence, pictures=refs)
    )
    assert problems(obj) == [], obj
    ids = [img["ImageID"] for img in obj["SubImageList"]["SubImageInfoObject"]]
    assert len(set(ids)) == len(ids)


def test_neighbouring_passages_of_one_device_in_one_second_get_distinct_ids():
    same_second = {"captured_at": T0}
    ids = {gat1400.motor_vehicle(passage(pk, **same_second))["MotorVehicleID"] for pk in range(1000, 1500)}
    assert len(ids) == 500


def test_a_real_passage_row_yields_a_valid_object(compound):
    from django.apps import apps

    Passage = apps.get_model("vehicles", "Passage")
    device = f.DeviceFactory(compound=compound)
    row = Passage.objects.create(
        compound=compound,
        device=device,
        captured_at=T0,
        received_at=T0,
        plate="辽HD12345",
        plate_series="new_energy",
        plate_colour="green",
        confidence=88,
        lane="2",
        pictures=[{"path": "x/y.jpg", "type": "image/jpeg", "size": 1, "sha256": "0", "name": "s", "role": "scene"}],
    )
    obj = gat1400.motor_vehicle(row)
    assert problems(obj) == []
    assert obj["DeviceID"].endswith(f"{device.pk:06d}") and obj["PlateClass"] == "52" and obj["PlateColor"] == "9"


def test_demo_seed_queues_passages_without_a_message_once(compound):
    from django.apps import apps

    from anfang.uplink import demo

    Passage = apps.get_model("vehicles", "Passage")
    rows = Passage.objects.bulk_create(
        Passage(compound=compound, captured_at=T0, received_at=T0, plate=f"辽H0000{i}") for i in range(3)
    )
    services.enqueue(
        "motor_vehicle", rows[0].pk, compound.pk, gat1400.motor_vehicle(rows[0]), gat1400.idempotency_key(rows[0])
    )
    demo.seed([compound], {})
    demo.seed([compound], {})
    assert sorted(OutboxMessage.objects.values_list("object_id", flat=True)) == sorted(r.pk for r in rows)
