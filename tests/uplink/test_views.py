"""Status pages: scope both ways, re-queue permission, filters, pagination, audit of payload views."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from anfang.audit.models import AuditEntry
from anfang.core.choices import Role
from anfang.uplink import choices as c
from anfang.uplink.models import OutboxMessage, UplinkAttempt
from tests import factories as f

from .factories import queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(world):
    now = timezone.now()
    queue(world["cx"].pk, range(1, 6), now=now - dt.timedelta(hours=3))
    queue(world["cy"].pk, range(101, 104), now=now - dt.timedelta(hours=1))
    OutboxMessage.objects.filter(object_id__in=[1, 2]).update(status=c.Status.SENT, sent_at=now)
    OutboxMessage.objects.filter(object_id=3).update(status=c.Status.DEAD, attempts=9, last_error="HTTP 500")
    OutboxMessage.objects.filter(object_id=101).update(status=c.Status.FAILED, last_error="请求超时")
    UplinkAttempt.objects.create(message=OutboxMessage.objects.get(object_id=101), at=now, ok=False, error="请求超时")
    return world


def login(role, org=None):
    client = Client()
    client.force_login(f.user_with(role, organisation=org))
    return client


def msg(object_id):
    return OutboxMessage.objects.get(object_id=object_id)


def test_admin_sees_every_compound_with_counts_and_errors(data):
    response = login(Role.PLATFORM_ADMIN).get(reverse("uplink:overview"))
    assert response.status_code == 200
    s = response.context["summary"]
    assert (s.pending, s.failed, s.dead, s.sent_24h, s.queued_24h) == (4, 1, 1, 2, 8)
    assert s.oldest_pending_at is not None
    assert {r.name for r in response.context["rows"]} == {"安居花园", "乐家小区"}
    assert [a.error for a in response.context["errors"]] == ["请求超时"]
    assert "请求超时" in response.content.decode()


def test_property_manager_sees_only_their_compounds(data):
    client = login(Role.PROPERTY_MANAGER, data["company_x"])
    response = client.get(reverse("uplink:overview"))
    assert {r.name for r in response.context["rows"]} == {"安居花园"}
    assert response.context["errors"] == []
    listed = client.get(reverse("uplink:messages")).context["page"].object_list
    assert {m.object_id for m in listed} == {1, 2, 3, 4, 5}
    assert client.get(reverse("uplink:message", args=[msg(101).pk])).status_code == 404


def test_station_officer_sees_their_station(data):
    client = login(Role.POLICE_STATION, data["station_b"])
    listed = client.get(reverse("uplink:messages")).context["page"].object_list
    assert {m.object_id for m in listed} == {101, 102, 103}


def test_guard_is_refused(data):
    client = login(Role.GUARD, data["company_x"])
    assert client.get(reverse("uplink:overview")).status_code == 403
    assert client.get(reverse("uplink:messages")).status_code == 403


def test_anonymous_is_sent_to_login(data):
    assert Client().get(reverse("uplink:overview")).status_code == 302


def test_filters_and_search(data):
    client = login(Role.PLATFORM_ADMIN)
    url = reverse("uplink:messages")

    def ids(**params):
        return sorted(m.object_id for m in client.get(url, params).context["page"].object_list)

    assert ids(status="dead") == [3]
    assert ids(compound=data["cy"].pk, status="pending") == [102, 103]
    assert ids(q=msg(4).external_id) == [4]
    assert ids(q="102") == [102]
    assert ids(period="24h") == [1, 2, 3, 4, 5, 101, 102, 103]
    response = client.get(url, {"status": "bogus"})
    assert response.status_code == 200 and "部分筛选条件无效" in response.content.decode()
    assert len(response.context["page"].object_list) == 8


def test_pagination(data, world):
    queue(world["cx"].pk, range(1000, 1070))
    response = login(Role.PLATFORM_ADMIN).get(reverse("uplink:messages"), {"page": 2})
    page = response.context["page"]
    assert page.number == 2 and page.paginator.count == 78 and len(page.object_list) == 28


def test_detail_shows_payload_and_is_audited(data):
    client = login(Role.POLICE_STATION, data["station_a"])
    message = msg(4)
    response = client.get(reverse("uplink:message", args=[message.pk]))
    assert response.status_code == 200
    assert message.external_id in response.content.decode() and "辽H8A123" in response.content.decode()
    entry = AuditEntry.objects.get(object_type="uplink.message")
    assert entry.object_id == str(message.pk) and entry.compound_id == data["cx"].pk
    assert not response.context["can_requeue"]  # police look, managers act


def test_manager_requeues_a_dead_message(data):
    client = login(Role.PROPERTY_MANAGER, data["company_x"])
    response = client.post(reverse("uplink:requeue", args=[msg(3).pk]), follow=True)
    assert "已重新排队" in response.content.decode()
    assert (msg(3).status, msg(3).attempts) == (c.Status.PENDING, 0)


def test_requeue_of_a_sent_message_is_refused_with_the_reason(data):
    client = login(Role.PROPERTY_MANAGER, data["company_x"])
    response = client.post(reverse("uplink:requeue", args=[msg(1).pk]), follow=True)
    assert "只有发送失败或已放弃的消息可以重新排队" in response.content.decode()
    assert msg(1).status == c.Status.SENT


def test_requeue_refused_to_police_and_out_of_scope(data):
    assert (
        login(Role.POLICE_STATION, data["station_a"]).post(reverse("uplink:requeue", args=[msg(3).pk])).status_code
        == 403
    )
    manager_y = login(Role.PROPERTY_MANAGER, data["company_y"])
    assert manager_y.post(reverse("uplink:requeue", args=[msg(3).pk])).status_code == 404
    assert manager_y.get(reverse("uplink:requeue", args=[msg(101).pk])).status_code == 405
    assert msg(3).status == c.Status.DEAD


def test_bulk_requeue_takes_only_what_the_user_may_requeue(data):
    client = login(Role.PROPERTY_MANAGER, data["company_y"])
    response = client.post(reverse("uplink:bulk_requeue"), {"status": "failed"})
    assert response.status_code == 302 and response.url.endswith("?status=failed")
    assert msg(101).status == c.Status.PENDING
    assert msg(3).status == c.Status.DEAD  # company X's
    response = client.post(reverse("uplink:bulk_requeue"), {}, follow=True)
    assert "没有您可重新排队" in response.content.decode()
