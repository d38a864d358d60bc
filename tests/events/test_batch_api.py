"""JSON batch API (`POST /api/events/batch`), the scoped event list and the published schema:
idempotency, per-event results with field paths, device and user authentication both ways, the
1,000-event limit, spool and 503 when the database is down."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from anfang.core.choices import Role
from anfang.devices import services as device_services
from anfang.events import choices as c
from anfang.events import writer
from anfang.events.adapters import batch, jsonevent
from anfang.events.models import DeadLetter, Event
from tests import factories as f
from tests.api.conftest import ApiClient, client_for

pytestmark = pytest.mark.django_db


def ev(n: int, **fields):
    moment = timezone.now() - dt.timedelta(seconds=30)
    return {"external_id": f"int-{n}", "kind": "door_open", "occurred_at": moment.isoformat(), **fields}


@pytest.fixture
def cams(world):
    return {
        "x": f.DeviceFactory(compound=world["cx"], name="X门禁"),
        "y": f.DeviceFactory(compound=world["cy"], name="Y门禁"),
        "u": f.DeviceFactory(compound=world["cu"], name="老街门禁"),
    }


@pytest.fixture
def x_token(cams):
    return device_services.issue_device_token(None, cams["x"])


def post(client: ApiClient, events):
    return client.post("/events/batch", {"events": events})


def statuses(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["status"] for r in response.json()["results"]]


def test_device_token_batch_is_stored_and_a_repeat_answers_duplicates_with_the_same_ids(cams, x_token):
    as_device = ApiClient(x_token)
    first = post(as_device, [ev(1), ev(2, vendor_code="DOOR_FORCED", kind=None), ev(3, channel=4)])
    assert statuses(first) == ["stored"] * 3
    body = first.json()
    assert (body["stored"], body["duplicates"], body["rejected"]) == (3, 0, 0)
    again = post(as_device, [ev(1), ev(2, vendor_code="DOOR_FORCED", kind=None), ev(3, channel=4)])
    assert statuses(again) == ["duplicate"] * 3
    assert [r["event_id"] for r in again.json()["results"]] == [r["event_id"] for r in body["results"]]
    rows = Event.objects.order_by("id")
    assert rows.count() == 3
    assert {(e.device_id, e.source) for e in rows} == {(cams["x"].pk, c.Source.API)}
    assert rows[1].kind == c.EventKind.DOOR_FORCED and rows[1].vendor_code == "DOOR_FORCED"


def test_x_device_token_header_is_accepted(cams, x_token):
    response = Client().post(
        "/api/events/batch",
        {"events": [ev(1)]},
        content_type="application/json",
        headers={"X-Device-Token": x_token},
    )
    assert statuses(response) == ["stored"]


def test_one_bad_event_is_rejected_with_field_paths_and_kept_while_the_rest_is_stored(cams, x_token):
    response = post(ApiClient(x_token), [ev(1), ev(2, occurred_at="2025-13-45T99:00", channel=-1), ev(3)])
    assert statuses(response) == ["stored", "rejected", "stored"]
    bad = response.json()["results"][1]
    assert bad["event_id"] is None
    assert {e["loc"][-1] for e in bad["errors"]} == {"occurred_at", "channel"}
    letter = DeadLetter.objects.get(pk=bad["dead_letter"])
    assert (letter.reason, letter.device_id, letter.source) == (c.DeadLetterReason.INVALID, cams["x"].pk, "api")
    assert jsonevent.decode(bytes(letter.body))["external_id"] == "int-2"
    assert letter.detail.startswith("events[1]: ")


def test_a_device_token_sends_only_for_its_own_device(cams, x_token):
    response = post(ApiClient(x_token), [ev(1, device=cams["y"].pk), ev(2, device=cams["x"].pk)])
    assert statuses(response) == ["rejected", "stored"]
    assert response.json()["results"][0]["errors"][0]["type"] == "unknown_device"


def test_unknown_device_token_is_refused_and_recorded(cams):
    response = post(ApiClient("afd_not-a-real-token"), [ev(1)])
    assert response.status_code == 401
    letter = DeadLetter.objects.get()
    assert letter.reason == c.DeadLetterReason.UNAUTHENTICATED
    assert "not-a-real-token" not in str(letter.headers)
    assert Event.objects.count() == 0


def test_user_with_an_ingest_role_sends_for_devices_in_scope_only(cams, world):
    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x")
    response = post(
        client_for(manager),
        [
            ev(1, device=cams["x"].pk),
            ev(2, device=cams["y"].pk),  # exists, another company's compound
            ev(3, device=987654),  # does not exist
            ev(4),  # no device named
        ],
    )
    assert statuses(response) == ["stored", "rejected", "rejected", "rejected"]
    results = response.json()["results"]
    assert results[1]["errors"] == results[2]["errors"]  # out of scope reads as non-existent
    assert results[1]["errors"][0]["loc"] == ["device"]
    assert results[3]["errors"][0]["type"] == "missing"
    letters = DeadLetter.objects.filter(pk__in=[r["dead_letter"] for r in results[1:3]])
    assert {(d.reason, d.device_id) for d in letters} == {(c.DeadLetterReason.UNKNOWN_DEVICE, None)}


def test_duty_operator_and_community_manager_may_send_police_may_not(cams, world):
    operator = f.user_with(Role.DUTY_OPERATOR, organisation=world["company_x"], username="duty-x")
    community = f.user_with(Role.COMMUNITY_MANAGER, organisation=world["community"], username="comm")
    officer = f.user_with(Role.POLICE_STATION, organisation=world["station_a"], username="officer-a")
    assert statuses(post(client_for(operator), [ev(1, device=cams["x"].pk)])) == ["stored"]
    assert statuses(post(client_for(community), [ev(2, device=cams["u"].pk), ev(3, device=cams["x"].pk)])) == [
        "stored",
        "rejected",
    ]
    refused = post(client_for(officer), [ev(4, device=cams["x"].pk)])
    assert refused.status_code == 403
    assert post(ApiClient(), [ev(5)]).status_code == 401


def test_session_user_can_send(cams, world):
    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x")
    browser = Client()
    browser.force_login(manager)
    response = browser.post(
        "/api/events/batch", {"events": [ev(1, device=cams["x"].pk)]}, content_type="application/json"
    )
    assert statuses(response) == ["stored"]


def test_more_than_1000_events_is_refused_whole_saying_so(cams, x_token):
    response = post(ApiClient(x_token), [ev(i) for i in range(batch.MAX_EVENTS + 1)])
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "events"] and "1000" in error["msg"] and "1001" in error["msg"]
    assert Event.objects.count() == 0


def test_exactly_1000_events_go_in_one_request(cams, x_token):
    response = post(ApiClient(x_token), [ev(i) for i in range(batch.MAX_EVENTS)])
    assert response.json()["stored"] == batch.MAX_EVENTS
    assert Event.objects.count() == batch.MAX_EVENTS


def test_messages_follow_the_request_language(cams, world):
    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x")
    english = client_for(manager, language="en")
    result = post(english, [ev(1, device=cams["y"].pk), ev(2, device=cams["x"].pk, kind="motoin")]).json()
    assert result["results"][0]["errors"][0]["msg"] == "Unknown device, or not in your scope."
    assert "motoin" in result["results"][1]["errors"][0]["msg"]


@pytest.mark.django_db(transaction=True)  # the writer drops a broken connection, and with it any test transaction
def test_database_down_spools_and_storage_down_answers_503(cams, x_token, monkeypatch):
    def down(_events):
        raise OperationalError("connection refused")

    monkeypatch.setattr(writer, "write", down)
    response = post(ApiClient(x_token), [ev(1), ev(2)])
    assert statuses(response) == ["spooled", "spooled"]
    monkeypatch.undo()
    assert writer.replay_spool() == 1 and Event.objects.count() == 2

    def no_disk(_events):
        raise OSError("disk full")

    monkeypatch.setattr(batch, "store", no_disk)
    unavailable = post(ApiClient(x_token), [ev(3)])
    assert unavailable.status_code == 503 and unavailable["Retry-After"]


def test_a_token_inside_a_rejected_event_is_not_kept(cams, x_token):
    response = post(ApiClient(x_token), [ev(1, token=x_token, channel="1")])
    letter = DeadLetter.objects.get(pk=response.json()["results"][0]["dead_letter"])
    assert x_token not in bytes(letter.body).decode()


# ---------------------------------------------------------------- list, detail, schema


@pytest.fixture
def stored(cams):
    now = timezone.now()
    rows = []
    for key, kind, hours in (("x", "motion", 1), ("x", "door_open", 2), ("y", "motion", 1), ("u", "motion", 30)):
        device = cams[key]
        rows.append(
            Event.objects.create(
                compound_id=device.compound_id,
                device=device,
                kind=kind,
                occurred_at=now - dt.timedelta(hours=hours),
                received_at=now - dt.timedelta(hours=hours),
                source="api",
            )
        )
    return rows


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [e["id"] for e in response.json()["items"]]


def test_list_is_scoped_newest_first_within_the_last_day_by_default(stored, world):
    manager = client_for(f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x"))
    admin = client_for(f.admin_user())
    assert ids(manager.get("/events/")) == [stored[0].pk, stored[1].pk]
    assert ids(admin.get("/events/")) == [stored[2].pk, stored[0].pk, stored[1].pk]  # same time: newest id first
    week = (timezone.now() - dt.timedelta(days=7)).isoformat()
    assert stored[3].pk in ids(admin.get("/events/", since=week))
    officer = client_for(f.user_with(Role.POLICE_STATION, organisation=world["station_a"], username="officer-a"))
    assert set(ids(officer.get("/events/", since=week))) == {stored[0].pk, stored[1].pk, stored[3].pk}


def test_list_filters_and_pagination(stored, world, cams):
    admin = client_for(f.admin_user())
    assert ids(admin.get("/events/", kind="door_open")) == [stored[1].pk]
    assert set(ids(admin.get("/events/", device=cams["y"].pk))) == {stored[2].pk}
    assert set(ids(admin.get("/events/", compound=world["cx"].pk))) == {stored[0].pk, stored[1].pk}
    until = (timezone.now() - dt.timedelta(minutes=90)).isoformat()
    assert ids(admin.get("/events/", until=until)) == [stored[1].pk]
    page = admin.get("/events/", limit=1, offset=1).json()
    assert page["count"] == 3 and len(page["items"]) == 1
    item = admin.get("/events/", kind="door_open").json()["items"][0]
    assert item["kind_label"] == "门开" and item["device"] == cams["x"].pk and item["flags"] == []
    assert admin.get("/events/", kind="fire").status_code == 422


def test_detail_outside_the_scope_reads_as_missing(stored, world):
    manager = client_for(f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x"))
    assert manager.get(f"/events/{stored[0].pk}").status_code == 200
    assert manager.get(f"/events/{stored[2].pk}").status_code == 404


def test_schema_is_public_and_the_models_own(db):
    response = Client().get("/api/events/schema")
    assert response.status_code == 200
    assert response.json() == jsonevent.json_schema()


def test_list_window_with_odd_zones_and_years(stored, world):
    admin = client_for(f.admin_user())
    assert admin.get("/events/", since="2020-01-01T00:00:00-23:19").status_code == 200
    assert admin.get("/events/", since="0241-08-10T05:10:17-23:19").status_code == 422
