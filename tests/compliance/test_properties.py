"""Property tests on pure snapshots (no database): adding a missing camera never turns a pass into
a fail, and the place it covers drops out of the served rule's evidence."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from anfang.compliance.engine import Status, get_pack, run
from anfang.compliance.facts import label
from anfang.compliance.snapshot import COMPOUND, TABLES, Snapshot

PACK = get_pack()
CID = 1
SERVES = {
    "entrance": "yingkou_2015.art9.entrances",
    "unit": "yingkou_2015.art9.units",
    "parking_entrance": "yingkou_2015.art9.parking",
    "elevator": "yingkou_2015.art9.elevators",
    "public_area": "yingkou_2015.art9.public_areas",
}
maybe_bool = st.sampled_from([True, False, None])


@st.composite
def snapshots(draw) -> Snapshot:
    ids = iter(range(100, 10_000))
    managed = draw(st.booleans())
    compound = COMPOUND.make(
        id=CID,
        name="测试小区",
        property_company_id=5 if managed else None,
        community_id=7,
        police_station_id=3,
        property_contract_ref=draw(st.sampled_from(["", "WY-1"])),
        households=300,
        area_m2=None,
    )
    buildings = [
        TABLES["buildings"].make(
            id=next(ids), compound_id=CID, name=f"{i}号楼", floors=draw(st.sampled_from([None, 6, 18]))
        )
        for i in range(1, draw(st.integers(0, 3)) + 1)
    ]
    units = [
        TABLES["units"].make(
            id=next(ids),
            compound_id=CID,
            name=f"{j}单元",
            building_id=b.id,
            building_name=b.name,
            building_compound_id=CID,
            households=20,
            entrance_door_standard=draw(maybe_bool),
            intercom=draw(st.sampled_from(["", "networked", "standalone", "none"])),
        )
        for b in buildings
        for j in range(1, draw(st.integers(0, 2)) + 1)
    ]
    entrances = [
        TABLES["entrances"].make(
            id=next(ids),
            compound_id=CID,
            name=f"门{i}",
            role=draw(st.sampled_from(["main", "secondary", "emergency"])),
            traffic=draw(st.sampled_from(["vehicle", "pedestrian", "mixed"])),
            gate_type=draw(st.sampled_from(["", "electric_sliding", "none"])),
            barrier=draw(st.sampled_from(["", "electric", "manual", "none"])),
        )
        for i in range(draw(st.integers(0, 3)))
    ]
    lots = (
        [TABLES["parking_lots"].make(id=next(ids), compound_id=CID, name="车库", kind="underground", spaces=10)]
        if draw(st.booleans())
        else []
    )
    parking_entrances = [
        TABLES["parking_entrances"].make(
            id=next(ids),
            compound_id=CID,
            name=f"口{i}",
            parking_lot_id=lot.id,
            parking_lot_name=lot.name,
            parking_lot_compound_id=CID,
            barrier=draw(st.sampled_from(["", "electric", "manual"])),
        )
        for lot in lots
        for i in range(draw(st.integers(0, 2)))
    ]
    elevators = [
        TABLES["elevators"].make(
            id=next(ids),
            compound_id=CID,
            name=f"{k}号梯",
            building_id=b.id,
            unit_id=None,
            building_name=b.name,
            building_compound_id=CID,
            unit_building_id=None,
        )
        for b in buildings
        for k in range(draw(st.integers(0, 2)))
    ]
    areas = [
        TABLES["public_areas"].make(id=next(ids), compound_id=CID, name=f"通道{i}", kind="main_road")
        for i in range(draw(st.integers(0, 2)))
    ]
    places = (
        [("entrance", p) for p in entrances]
        + [("unit", p) for p in units]
        + [("parking_entrance", p) for p in parking_entrances]
        + [("elevator", p) for p in elevators]
        + [("public_area", p) for p in areas]
    )
    devices = []
    for kind, place in places:
        if draw(st.booleans()):
            devices.append(camera(next(ids), kind, place, draw))
    for sub, dtype in draw(
        st.lists(
            st.sampled_from(
                [
                    ("patrol", "patrol_checkpoint"),
                    ("household_alarm", "household_panel"),
                    ("access", "access_controller"),
                    ("perimeter", "perimeter_detector"),
                ]
            ),
            max_size=3,
        )
    ):
        devices.append(device(next(ids), sub, dtype))
    return Snapshot(
        compound=compound,
        buildings=tuple(buildings),
        units=tuple(units),
        entrances=tuple(entrances),
        parking_lots=tuple(lots),
        parking_entrances=tuple(parking_entrances),
        elevators=tuple(elevators),
        public_areas=tuple(areas),
        devices=tuple(devices),
    )


def device(pk: int, subsystem: str, device_type: str, **kw):
    base = dict(
        id=pk,
        compound_id=CID,
        name=f"设备{pk}",
        subsystem=subsystem,
        device_type=device_type,
        status="active",
        resolution_width=None,
        resolution_height=None,
        anpr=False,
        police_linked=False,
        place_kind=None,
        place_id=None,
        place_compound_id=None,
        n_places=0,
    )
    return TABLES["devices"].make(**{**base, **kw})


def camera(pk: int, kind: str, place, draw):
    height = draw(st.sampled_from([None, 720, 1080]))
    return device(
        pk,
        "video",
        "camera",
        resolution_width=height and height * 16 // 9,
        resolution_height=height,
        anpr=draw(st.booleans()),
        police_linked=draw(st.booleans()),
        place_kind=kind,
        place_id=place.id,
        place_compound_id=CID,
        n_places=1,
    )


def places_of(s: Snapshot) -> list[tuple[str, object]]:
    return (
        [("entrance", p) for p in s.entrances]
        + [("unit", p) for p in s.units]
        + [("parking_entrance", p) for p in s.parking_entrances]
        + [("elevator", p) for p in s.elevators]
        + [("public_area", p) for p in s.public_areas]
    )


@settings(max_examples=300, deadline=None)
@given(snapshots(), st.data())
def test_adding_a_missing_camera_never_turns_a_pass_into_a_fail(snap, data):
    places = places_of(snap)
    if not places:
        return
    kind, place = data.draw(st.sampled_from(places))
    new_camera = camera(99_999, kind, place, data.draw)
    before = {f.rule_id: f for f in run(PACK, snap)}
    after = {f.rule_id: f for f in run(PACK, replace(snap, devices=(*snap.devices, new_camera)))}
    for rule_id, old in before.items():
        new = after[rule_id]
        assert new.status != Status.ERROR, (rule_id, new.evidence)
        if old.status == Status.PASS:
            assert new.status != Status.FAIL, (rule_id, new.evidence)
    served = after[SERVES[kind]]
    assert not any(e.startswith(f"{label(kind, place)} ") for e in served.evidence), served.evidence
    assert before[SERVES[kind]].status != Status.PASS or served.status == Status.PASS
