"""Patrol API permissions both ways: a guard reaches the compounds (and teams) granted; anything
else is 404 (or, inside a batch, a rejected item naming `run_id`)."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from anfang.core.choices import Role
from anfang.core.models import ApiToken
from anfang.patrol.models import Checkin, PatrolException
from tests import factories as f

from .factories import site, team
from .test_checkins import item

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def api(user=None):
    headers = {}
    if user is not None:
        headers["Authorization"] = "Bearer " + ApiToken.issue(user, "t")[1]
    client = Client(headers=headers)
    return client


def post_json(client, path, body):
    return client.post(f"/api/patrol{path}", data=json.dumps(body), content_type="application/json")


@pytest.fixture
def two():
    a = site(prefix="A")
    b = site(prefix="B")
    now = timezone.now()
    return a, b, a.run(now - dt.timedelta(minutes=10)), b.run(now - dt.timedelta(minutes=10))


def test_guard_checks_in_on_own_run_and_resend_is_idempotent(two):
    a, _b, run_a, _run_b = two
    now = timezone.now()
    batch = {
        "sent_at": now.isoformat(),
        "items": [item(a.checkpoints[0].code, now - dt.timedelta(minutes=1), run_a.pk)],
    }
    client = api(a.guard)
    r = post_json(client, "/checkins", batch)
    assert r.status_code == 200, r.content
    assert (r.json()["stored"], r.json()["results"][0]["status"]) == (1, "stored")
    again = post_json(client, "/checkins", batch)
    assert again.json()["duplicates"] == 1 and Checkin.objects.count() == 1


def test_run_out_of_scope_is_a_rejected_item(two):
    a, b, _run_a, run_b = two
    now = timezone.now()
    r = post_json(api(a.guard), "/checkins", {"items": [item(b.checkpoints[0].code, now, run_b.pk)]})
    assert r.status_code == 200
    result = r.json()["results"][0]
    assert result["status"] == "rejected" and result["errors"][0]["field"] == "items.0.run_id"
    assert Checkin.objects.count() == 0


def test_a_tag_of_an_out_of_scope_compound_is_unknown_to_the_guard(two):
    a, b, _run_a, _run_b = two
    r = post_json(api(a.guard), "/checkins", {"items": [item(b.checkpoints[0].code, timezone.now())]})
    read = Checkin.objects.get(pk=r.json()["results"][0]["id"])
    assert read.checkpoint_id is None and "unknown_tag" in read.flags


def test_police_officer_cannot_walk_patrols(two):
    a, _b, run_a, _run_b = two
    officer = f.user_with(Role.POLICE_STATION, organisation=a.compound.police_station)
    r = post_json(api(officer), "/checkins", {"items": [item(a.checkpoints[0].code, timezone.now(), run_a.pk)]})
    assert r.json()["results"][0]["errors"][0]["field"] == "items.0.run_id"
    assert api(officer).get("/api/patrol/runs/running").json() == []
    assert api(officer).post(f"/api/patrol/runs/{run_a.pk}/start").status_code == 404


def test_anonymous_is_401(two):
    assert post_json(api(), "/checkins", {"items": []}).status_code == 401
    assert api().get("/api/patrol/runs/running").status_code == 401


def test_batch_shape_errors_are_422():
    guard = site().guard
    r = post_json(api(guard), "/checkins", {"item": []})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "items"


def test_running_runs_show_own_runs_with_stops(two):
    a, _b, run_a, _run_b = two
    runs = api(a.guard).get("/api/patrol/runs/running").json()
    assert [r["id"] for r in runs] == [run_a.pk]
    assert [s["name"] for s in runs[0]["stops"]] == ["A点1", "A点2", "A点3", "A点4"]
    assert api(a.guard).post(f"/api/patrol/runs/{run_a.pk}/start").status_code == 200


def test_start_run_of_another_compound_is_404(two):
    a, _b, _run_a, run_b = two
    assert api(a.guard).post(f"/api/patrol/runs/{run_b.pk}/start").status_code == 404


def test_team_member_walks_the_teams_compounds(two):
    """Art 6: a community team covers several compounds; membership reaches them."""
    a, b, _run_a, run_b = two
    run_b.guard = None
    run_b.save()
    team(f.OrganisationFactory(kind="community", name="青年社区"), [a.compound, b.compound], [a.guard])
    runs = api(a.guard).get("/api/patrol/runs/running").json()
    assert {r["id"] for r in runs} >= {run_b.pk}
    r = post_json(api(a.guard), "/checkins", {"items": [item(b.checkpoints[0].code, timezone.now(), run_b.pk)]})
    assert r.json()["results"][0]["status"] == "stored"


def test_reader_upload_csv_json_replay_and_scope(two):
    a, b, run_a, _run_b = two
    reader = a.reader()
    client = api(a.guard)
    when = (timezone.now() - dt.timedelta(minutes=2)).astimezone(dt.UTC).isoformat()
    body = f"tag,time\n{a.checkpoints[0].code},{when}\nBROKEN\n"
    r = client.post(f"/api/patrol/readers/{reader.pk}/uploads", data=body, content_type="text/csv")
    assert r.status_code == 201, r.content
    out = r.json()
    assert (out["accepted"], out["rejected"], out["errors"][0]["line"]) == (1, 1, 3)
    replay = client.post(f"/api/patrol/readers/{reader.pk}/uploads", data=body, content_type="text/csv")
    assert replay.status_code == 200 and replay.json()["replayed"] and Checkin.objects.count() == 1
    js = {"reads": [{"tag": a.checkpoints[1].code, "time": when}]}
    r = client.post(
        f"/api/patrol/readers/{reader.pk}/uploads?clock_offset_seconds=0",
        data=json.dumps(js),
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["accepted"] == 1
    run_a.refresh_from_db()
    assert run_a.completed_count == 2
    outsider = api(b.guard).post(f"/api/patrol/readers/{reader.pk}/uploads", data=body, content_type="text/csv")
    assert outsider.status_code == 404


def test_exception_with_photo_and_scope(two, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    a, b, run_a, _run_b = two
    body = {
        "compound_id": a.compound.pk,
        "kind": "facility",
        "note": "3号楼消防门损坏",
        "run_id": run_a.pk,
        "checkpoint_id": a.checkpoints[2].pk,
        "photo": base64.b64encode(PNG).decode(),
        "client_id": "e-1",
    }
    r = post_json(api(a.guard), "/exceptions", body)
    assert r.status_code == 201, r.content
    assert r.json()["photo"] is True
    assert post_json(api(a.guard), "/exceptions", body).json()["id"] == r.json()["id"]  # queue resend
    assert PatrolException.objects.count() == 1
    bad = post_json(
        api(a.guard), "/exceptions", {**body, "client_id": "e-2", "photo": base64.b64encode(b"GIF89a").decode()}
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "photo"
    assert post_json(api(b.guard), "/exceptions", {**body, "client_id": "e-3"}).status_code == 404
