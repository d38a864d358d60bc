"""Barrier decisions (Art 11): the rule, and POST /api/vehicles/barrier/decide both ways."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anfang.core.choices import Role
from anfang.core.models import ApiToken
from anfang.devices import services as device_services
from anfang.vehicles import api as vehicles_api
from anfang.vehicles import choices as c
from anfang.vehicles.barrier import WATCH_CACHE, Match, Watch, decide
from anfang.vehicles.models import ParkingStay
from tests import factories as f
from tests.vehicles.factories import ResidentVehicleFactory, VisitorPassFactory, WatchEntryFactory, anpr_camera

pytestmark = pytest.mark.django_db
URL = "/api/vehicles/barrier/decide"
WATCH = Watch(1, "辽H9999A", "x", None, False)


@pytest.fixture(autouse=True)
def _fresh_caches():
    WATCH_CACHE.forget()
    vehicles_api._places.clear()
    device_services._credential_cache.clear()
    device_services._device_cache.clear()
    yield
    WATCH_CACHE.forget()


@pytest.mark.parametrize(
    ("plate", "valid", "direction", "match", "full", "expected"),
    [
        ("辽H12345", True, "in", Match(resident=1), False, ("allow", "resident")),
        ("辽H12345", True, "in", Match(resident=1), True, ("allow", "resident")),
        ("辽H12345", True, "in", Match(visitor=1), False, ("allow", "visitor")),
        ("辽H12345", True, "in", Match(visitor=1), True, ("deny", "lot_full")),
        ("辽H12345", True, "in", Match(), True, ("deny", "lot_full")),
        ("辽H12345", True, "in", Match(), False, ("ask", "unknown")),
        ("辽H12345", True, "in", Match(resident=1, watch=WATCH), False, ("ask", "watch")),
        ("辽H12345", True, "out", Match(watch=WATCH), False, ("ask", "watch")),
        ("辽H12345", True, "out", Match(), True, ("allow", "exit")),
        ("", False, "in", Match(), False, ("ask", "unreadable")),
        ("辽H12", False, "in", Match(), False, ("ask", "unreadable")),
    ],
)
def test_rule(plate, valid, direction, match, full, expected):
    d = decide(plate, valid, direction, match, full)
    assert (d.decision, d.reason) == expected


@pytest.fixture
def site():
    compound = f.CompoundFactory()
    entrance = f.EntranceFactory(compound=compound)
    lot = f.ParkingLotFactory(compound=compound, spaces=1)
    garage = f.ParkingEntranceFactory(compound=compound, parking_lot=lot)
    camera = anpr_camera(compound, entrance=entrance)
    token = device_services.issue_device_token(None, camera)
    return {"compound": compound, "entrance": entrance, "lot": lot, "garage": garage, "camera": camera, "token": token}


def ask(client, token, **body):
    return client.post(URL, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_device_asks_about_its_own_entrance(client, site):
    ResidentVehicleFactory(compound=site["compound"], plate="辽H12345")
    VisitorPassFactory(compound=site["compound"], plate="辽B00001")
    WatchEntryFactory(compound=site["compound"], plate="辽H9999A")
    answers = {
        plate: ask(client, site["token"], plate=plate).json()
        for plate in ("辽h·12345", "辽B00001", "辽H9999A", "辽H54321", "###")
    }
    assert answers["辽h·12345"]["decision"] == "allow" and answers["辽h·12345"]["reason"] == "resident"
    assert answers["辽h·12345"]["plate"] == "辽H12345"
    assert answers["辽B00001"]["reason"] == "visitor"
    assert answers["辽H9999A"]["decision"] == "ask" and answers["辽H9999A"]["reason"] == "watch"
    assert answers["辽H54321"]["decision"] == "ask" and answers["辽H54321"]["reason"] == "unknown"
    assert answers["###"]["reason"] == "unreadable" and answers["###"]["problems"]
    assert answers["辽H54321"]["reason_label"] == str(c.DecisionReason.UNKNOWN.label)


def test_expired_visitor_is_unknown(client, site):
    VisitorPassFactory(
        compound=site["compound"],
        plate="辽B00001",
        valid_from=timezone.now() - dt.timedelta(hours=5),
        valid_to=timezone.now() - dt.timedelta(hours=1),
    )
    assert ask(client, site["token"], plate="辽B00001").json()["reason"] == "unknown"


def test_lot_full_denies_visitors_not_residents(client, site):
    ResidentVehicleFactory(compound=site["compound"], plate="辽H12345")
    VisitorPassFactory(compound=site["compound"], plate="辽B00001")
    ParkingStay.objects.create(
        compound=site["compound"], parking_lot=site["lot"], plate="辽H11111", entered_at=timezone.now()
    )
    garage = site["garage"].pk
    visitor = ask(client, site["token"], plate="辽B00001", parking_entrance=garage).json()
    assert (visitor["decision"], visitor["reason"]) == ("deny", "lot_full")
    resident = ask(client, site["token"], plate="辽H12345", parking_entrance=garage).json()
    assert (resident["decision"], resident["reason"]) == ("allow", "resident")
    leaving = ask(client, site["token"], plate="辽B00001", parking_entrance=garage, direction="out").json()
    assert (leaving["decision"], leaving["reason"]) == ("allow", "exit")


def test_stale_stays_do_not_fill_the_lot(client, site, settings):
    settings.ANFANG_VEHICLES_STALE_DAYS = 7
    ParkingStay.objects.create(
        compound=site["compound"],
        parking_lot=site["lot"],
        plate="辽H11111",
        entered_at=timezone.now() - dt.timedelta(days=8),
    )
    answer = ask(client, site["token"], plate="辽H54321", parking_entrance=site["garage"].pk).json()
    assert answer["reason"] == "unknown"


def test_device_cannot_ask_about_another_compound(client, site):
    other = f.EntranceFactory()
    response = ask(client, site["token"], plate="辽H12345", entrance=other.pk)
    assert response.status_code == 404


def test_device_without_entrance_must_name_one(client):
    camera = anpr_camera()
    token = device_services.issue_device_token(None, camera)
    response = ask(client, token, plate="辽H12345")
    assert response.status_code == 403


def test_unknown_token_is_refused(client, site):
    assert ask(client, "afd_nonsense", plate="辽H12345").status_code == 401
    assert client.post(URL, {"plate": "辽H12345"}, content_type="application/json").status_code == 401


def test_user_token_on_duty_and_out_of_scope(client, world, site):
    compound = f.CompoundFactory(police_station=world["station_a"], property_company=world["company_x"])
    entrance = f.EntranceFactory(compound=compound)
    operator = f.user_with(Role.DUTY_OPERATOR, world["company_x"])
    _, raw = ApiToken.issue(operator, "gate")
    assert ask(client, raw, plate="辽H12345", entrance=entrance.pk).json()["reason"] == "unknown"
    # site's compound belongs to another company: it does not exist for this operator
    assert ask(client, raw, plate="辽H12345", entrance=site["entrance"].pk).status_code == 404
    assert ask(client, raw, plate="辽H12345").status_code == 403  # a user must name the entrance
    police = f.user_with(Role.POLICE_STATION, world["station_a"])
    _, police_raw = ApiToken.issue(police, "x")
    assert ask(client, police_raw, plate="辽H12345", entrance=entrance.pk).status_code == 404


def test_bad_input_names_the_field(client, site):
    response = ask(client, site["token"], plate="辽H12345", direction="sideways")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "direction"
