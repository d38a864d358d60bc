"""The 接入 section of the device page: issue and rotate a token (shown once), a secret push path
with validated source addresses, stop and resume ingestion, health and the latest events. Only
registry editors change credentials."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from anfang.core.choices import Role
from anfang.core.models import ChangeRecord, hash_token
from anfang.devices import services as device_services
from anfang.devices.models import DeviceCredential, DeviceHealth
from anfang.events import choices as c
from anfang.events.ingest import normalise
from anfang.events.writer import write
from tests import factories as f

from .conftest import incoming

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(world):
    return f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x")


@pytest.fixture
def officer(world):
    return f.user_with(Role.POLICE_STATION, organisation=world["station_a"], username="officer-a")


@pytest.fixture
def cam(world):
    return f.DeviceFactory(compound=world["cx"], name="南门枪机", ip_address="10.0.0.20")


def url(name, device):
    return reverse(f"devices:{name}", args=[device.pk])


def test_token_is_shown_once_and_only_its_hash_kept(client, manager, cam):
    client.force_login(manager)
    page = client.get(url("detail", cam)).content.decode()
    assert "接入" in page and "未配置" in page and "生成令牌" in page
    response = client.post(url("ingest_token", cam))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    token = response.context["token"]
    assert (
        token.startswith("afd_") and token in response.content.decode() and "只显示这一次" in response.content.decode()
    )
    cred = DeviceCredential.objects.get(device=cam)
    assert cred.token_hash == hash_token(token) and cred.enabled
    assert device_services.device_by_token(token) == cam
    detail = client.get(url("detail", cam)).content.decode()
    assert token not in detail and f"afd_{cred.token_prefix}…" in detail and "更换令牌" in detail
    rotated = client.post(url("ingest_token", cam)).context["token"]
    assert rotated != token and device_services.device_by_token(token) is None
    assert ChangeRecord.objects.filter(object_id=str(cam.pk), note="更换接入令牌").count() == 2


def test_push_path_sources_are_validated_by_field(client, manager, cam):
    client.force_login(manager)
    bad = client.post(url("ingest_path", cam), {"allowed_sources": "10.0.0.20, 10.0.0.300"})
    assert bad.status_code == 400
    assert bad.context["path_form"].errors["allowed_sources"] == ["“10.0.0.300”不是 IP 地址或网段。"]
    assert "10.0.0.300" in bad.content.decode()  # what was typed stays in the field
    empty = client.post(url("ingest_path", cam), {"allowed_sources": " "})
    assert empty.status_code == 400
    assert "必须填写允许的来源地址" in empty.context["path_form"].errors["allowed_sources"][0]
    assert not DeviceCredential.objects.filter(device=cam).exists()
    ok = client.post(url("ingest_path", cam), {"allowed_sources": "10.0.0.20, 10.1.0.0/24"})
    assert ok.status_code == 200
    push_url = ok.context["push_url"]
    secret = push_url.rstrip("/").rsplit("/", 1)[1]
    assert push_url == f"http://testserver/ingest/isapi/{secret}/" and push_url in ok.content.decode()
    assert DeviceCredential.objects.get(device=cam).allowed_sources == "10.0.0.20/32,10.1.0.0/24"
    assert device_services.device_by_push_path(secret, "10.1.0.7") == cam
    assert device_services.device_by_push_path(secret, "10.2.0.7") is None


def test_stop_and_resume_ingest(client, manager, cam):
    token = device_services.issue_device_token(manager, cam)
    client.force_login(manager)
    assert "停止接入" in client.get(url("detail", cam)).content.decode()
    client.post(url("ingest_enabled", cam), {"enabled": "0"})
    assert not DeviceCredential.objects.get(device=cam).enabled
    assert device_services.device_by_token(token) is None
    page = client.get(url("detail", cam)).content.decode()
    assert "已停止接入" in page and "恢复接入" in page
    client.post(url("ingest_enabled", cam), {"enabled": "1"})
    assert device_services.device_by_token(token) == cam


def test_viewers_cannot_change_credentials_and_strangers_get_404(client, officer, manager, cam, world):
    client.force_login(officer)  # sees the compound (station A), may not edit it
    page = client.get(url("detail", cam))
    assert page.status_code == 200 and "生成令牌" not in page.content.decode()
    for name, data in [("ingest_token", {}), ("ingest_path", {"allowed_sources": "10.0.0.1"}), ("ingest_enabled", {})]:
        assert client.post(url(name, cam), data).status_code == 403, name
    assert not DeviceCredential.objects.filter(device=cam).exists()
    other = f.DeviceFactory(compound=world["cy"])
    client.force_login(manager)
    for name in ("ingest_token", "ingest_path", "ingest_enabled"):
        assert client.post(url(name, other)).status_code == 404, name
    assert client.get(url("ingest_token", cam)).status_code == 405


def test_health_and_latest_events(client, manager, cam):
    DeviceHealth.objects.create(
        device=cam,
        last_seen_at=timezone.now(),
        clock_skew_seconds=-742,
        clock_skew_flagged=True,
        events=1234,
        duplicates=5,
        dead_letters=2,
    )
    now = timezone.now()
    write([normalise(incoming(cam, c.EventKind.TAMPER, external_id="t1"), now)])
    client.force_login(manager)
    page = client.get(url("detail", cam)).content.decode()
    assert "-742 秒" in page and "超限" in page and "阈值 ±300 秒" in page
    assert "<dd>1234</dd>" in page.replace(",", "") and "遮挡/防拆" in page and "查看全部事件" in page
    empty = f.DeviceFactory(compound=cam.compound, name="空设备")
    html = client.get(url("detail", empty)).content.decode()
    assert "该设备还没有事件" in html and "从未" in html
