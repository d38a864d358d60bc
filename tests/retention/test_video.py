"""Video retention evidence (issue 9 §4): pulled from a recorder over ISAPI (a fake one on a real
socket) or reported through the API; compared with the 1-month floor; fed to Art 33(2)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from anfang.core.choices import Role
from anfang.devices import choices as dc
from anfang.devices import services as devices
from anfang.devices.models import DeviceCredential
from anfang.retention import recorder
from anfang.retention.compliance_facts import retention_facts
from anfang.retention.models import VideoRetentionReport
from tests import factories as f
from tests.compliance.builders import findings

from .fake_recorder import Recorder

pytestmark = pytest.mark.django_db


@pytest.fixture
def nvr(world):
    device = f.DeviceFactory(compound=world["cx"], name="1号录像机", device_type=dc.DeviceType.NVR)
    return device


def connect(device, url, password="pass1234"):
    DeviceCredential.objects.update_or_create(
        device=device, defaults={"pull_url": url, "pull_username": "admin", "pull_password": password}
    )


def test_pull_reads_the_earliest_recording_per_channel(nvr):
    now = timezone.now()
    with Recorder({1: now - dt.timedelta(days=35, hours=2), 2: now - dt.timedelta(days=12), 3: None}) as fake:
        connect(nvr, fake.url)
        outcome = recorder.pull(now=now)
    assert outcome == {nvr.pk: "ok: 3"}
    assert fake.searches == ["101", "201", "301"]
    days = dict(VideoRetentionReport.objects.values_list("channel", "days"))
    assert days == {1: 35, 2: 12, 3: None}
    facts = retention_facts([nvr.compound_id])[nvr.compound_id]
    assert facts["video_days"] == 0  # a channel without any recording holds nothing


def test_wrong_password_and_bad_xml_are_reported_not_fatal(world, nvr):
    other = f.DeviceFactory(compound=world["cx"], name="2号录像机", device_type=dc.DeviceType.NVR)
    now = timezone.now()
    with Recorder({1: now - dt.timedelta(days=40)}) as good, Recorder({1: now}, broken=True) as bad:
        connect(nvr, good.url, password="wrong")
        connect(other, bad.url)
        outcome = recorder.pull(now=now)
    assert "401" in outcome[nvr.pk] and "XML" in outcome[other.pk]
    assert not VideoRetentionReport.objects.exists()


def test_api_report_by_device_token_and_the_compliance_rule(client, world, nvr):
    admin = f.admin_user()
    token = devices.issue_device_token(admin, nvr)
    camera = f.DeviceFactory(compound=world["cx"], name="东门")
    now = timezone.now()
    body = {
        "channels": [
            {"channel": 1, "earliest": (now - dt.timedelta(days=31)).isoformat(), "camera_id": camera.pk},
            {"channel": 2, "earliest": (now - dt.timedelta(days=45)).isoformat()},
        ]
    }
    response = client.post(
        "/api/retention/video-reports", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"stored": 2, "days": [31, 45]}
    facts = retention_facts([world["cx"].pk, world["cy"].pk])
    assert facts == {world["cx"].pk: {"video_days": 31, "vehicle_days": None, "vehicle_oldest_days": None}}
    finding = findings(world["cx"])["art33_2.retention"]
    assert str(finding.status) == "unknown"  # video is fine, but nothing is known of vehicle data yet
    evidence = " ".join(str(e) for e in finding.evidence)
    assert "车辆数据与照片存储天数未知" in evidence and "视频图像" not in evidence
    assert str(findings(world["cy"])["art33_2.retention"].status) == "unknown"


def test_api_refuses_bad_reports_naming_the_field(client, world, nvr):
    admin = f.admin_user()
    token = devices.issue_device_token(admin, nvr)
    foreign = f.DeviceFactory(compound=world["cy"], name="别的小区")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    future = (timezone.now() + dt.timedelta(days=3)).isoformat()
    bad = client.post(
        "/api/retention/video-reports",
        {"channels": [{"channel": 1, "earliest": future}, {"channel": 2, "earliest": None, "camera_id": foreign.pk}]},
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 422
    locs = {tuple(d["loc"]) for d in bad.json()["detail"]}
    assert locs == {("body", "channels.0.earliest"), ("body", "channels.1.camera_id")}
    missing = client.post("/api/retention/video-reports", {"channels": []}, content_type="application/json", **auth)
    assert missing.status_code == 422
    other = client.post(
        "/api/retention/video-reports",
        {"device_id": foreign.pk, "channels": [{"channel": 1, "earliest": None}]},
        content_type="application/json",
        **auth,
    )
    assert other.status_code == 403
    assert (
        client.post(
            "/api/retention/video-reports",
            {"channels": [{"channel": 1, "earliest": None}]},
            content_type="application/json",
        ).status_code
        == 401
    )
    assert not VideoRetentionReport.objects.exists()


def test_api_report_by_a_person_in_scope_only(client, world, nvr):
    manager_y = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_y"])
    client.force_login(manager_y)
    body = {"device_id": nvr.pk, "channels": [{"channel": 1, "earliest": timezone.now().isoformat()}]}
    assert client.post("/api/retention/video-reports", body, content_type="application/json").status_code == 404
    manager_x = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"])
    client.force_login(manager_x)
    assert client.post("/api/retention/video-reports", body, content_type="application/json").status_code == 200


def test_video_page_compares_with_the_floor_and_is_scoped(client, world, nvr):
    now = timezone.now()
    VideoRetentionReport.objects.create(
        compound=world["cx"], device=nvr, channel=1, earliest=now - dt.timedelta(days=20), days=20, source="api"
    )
    VideoRetentionReport.objects.create(
        compound=world["cx"], device=nvr, channel=2, earliest=now - dt.timedelta(days=40), days=40, source="isapi"
    )
    manager_x = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"])
    client.force_login(manager_x)
    body = client.get(reverse("retention:video")).content.decode()
    assert "1号录像机" in body and "不足 30 天" in body and "符合" in body
    manager_y = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_y"])
    client.force_login(manager_y)
    body = client.get(reverse("retention:video")).content.decode()
    assert "1号录像机" not in body
    assert client.get(reverse("retention:video"), {"compound": world["cx"].pk}).status_code == 404


def test_stale_reports_do_not_count(world, nvr):
    old = timezone.now() - dt.timedelta(days=8)
    VideoRetentionReport.objects.create(
        compound=world["cx"], device=nvr, channel=1, days=60, source="api", reported_at=old
    )
    assert retention_facts([world["cx"].pk]) == {}


def test_vehicle_days_follow_the_policy_once_there_are_passages(world):
    from anfang.vehicles.models import Passage

    anpr = f.DeviceFactory(compound=world["cy"], name="道口", device_type=dc.DeviceType.ANPR_CAMERA)
    at = timezone.now() - dt.timedelta(days=12)
    Passage.objects.create(compound=world["cy"], device=anpr, captured_at=at, received_at=at, plate="辽H12345")
    admin = f.admin_user()
    facts = retention_facts([world["cx"].pk, world["cy"].pk])
    assert facts == {world["cy"].pk: {"video_days": None, "vehicle_days": 180, "vehicle_oldest_days": 12}}
    from anfang.retention import services

    services.set_policy(admin, "vehicle_passages", 120, compound=world["cy"])
    assert retention_facts([world["cy"].pk])[world["cy"].pk]["vehicle_days"] == 120


def test_the_loader_reads_a_fixed_number_of_queries(world, nvr):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from anfang.compliance.snapshot import OPERATION_LOADERS

    assert OPERATION_LOADERS["retention"] is retention_facts
    more = [f.CompoundFactory().pk for _ in range(8)]
    counts = []
    for ids in ([world["cx"].pk], [world["cx"].pk, world["cy"].pk, *more]):
        with CaptureQueriesContext(connection) as ctx:
            retention_facts(ids)
        counts.append(len(ctx.captured_queries))
    assert counts == [3, 3]
