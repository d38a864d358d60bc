"""The event mix, plates and the pacer: no database, no network."""

import re
from collections import Counter

import pytest

from anfang.events.choices import EventKind as K
from anfang.simulator.traffic import ALARMS, MIX, Pacer, SimDevice, Traffic, plate

# GA 36 civil plates: province, letter, then 5 characters (6 for new energy), never I or O.
PLATE = re.compile(r"^[辽吉京黑][A-HJ-NP-Z]·([A-HJ-NP-Z0-9]{5}|[DF][0-9]{5})$")


def test_plates_look_like_chinese_civil_plates():
    import random

    rng = random.Random(5)
    plates = [plate(rng) for _ in range(2000)]
    assert all(PLATE.match(p) for p in plates), [p for p in plates if not PLATE.match(p)][:5]
    prefixes = Counter(p[:2] for p in plates)
    assert prefixes.most_common(1)[0][0] == "辽H"  # Yingkou's own plates dominate
    assert any(len(p) == 9 for p in plates)  # some new-energy plates


def test_kinds_come_from_the_device_mix_and_alarms_are_rare():
    camera = SimDevice(id=1, compound_id=1, device_type="camera", protocol="isapi")
    traffic = Traffic([camera], seed=1)
    kinds = Counter(traffic.next().kind for _ in range(20000))
    assert set(kinds) <= set(MIX["camera"])
    assert (kinds[K.HEARTBEAT] + kinds[K.MOTION]) / 20000 > 0.8
    assert sum(kinds[k] for k in ALARMS) / 20000 < 0.02
    assert kinds[K.PERIMETER_INTRUSION] > 0  # rare, not absent


def test_restricted_mix_is_what_the_protocol_can_say():
    panel = SimDevice(id=2, compound_id=1, device_type="household_panel", protocol="mqtt")
    panel.restricted = {K.HOUSEHOLD_PANIC: 1.0}
    traffic = Traffic([panel], seed=2)
    assert {traffic.next().kind for _ in range(50)} == {K.HOUSEHOLD_PANIC}


def test_happenings_carry_what_their_kind_needs():
    anpr = SimDevice(id=3, compound_id=1, device_type="anpr_camera", protocol="isapi")
    traffic = Traffic([anpr], seed=3)
    passage = traffic.next(kind=K.ANPR_PASSAGE)
    assert PLATE.match(passage.plate)
    swipe = traffic.next(kind=K.ACCESS_GRANTED)
    assert swipe.card_no.isdigit()
    assert passage.external_id != swipe.external_id
    assert passage.at.utcoffset().total_seconds() == 8 * 3600  # Beijing time, as devices report


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pacer_owes_exactly_the_rate():
    clock = FakeClock()
    pacer = Pacer(100, clock=clock)
    assert pacer.due() == 0
    clock.now += 0.5
    assert pacer.due() == 50
    assert pacer.due() == 0
    assert pacer.wait() == pytest.approx(0.01)
    total = 50
    for _ in range(250):  # 2.5 s more in uneven steps
        clock.now += 0.01
        total += pacer.due()
    assert total == 300
    assert pacer.slipped == 0


def test_pacer_slips_instead_of_bursting_when_the_sender_falls_behind():
    clock = FakeClock()
    pacer = Pacer(100, max_lag=1.0, clock=clock)
    clock.now += 10  # the sender was stuck for 10 s
    assert pacer.due() == 100  # at most one second's worth at once
    assert pacer.slipped == 900
    clock.now += 0.1
    assert pacer.due() == 10  # back on schedule


def test_pacer_refuses_a_nonsense_rate():
    with pytest.raises(ValueError):
        Pacer(0)
