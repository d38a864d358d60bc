"""Art 9 (ANPR + police link working) and Art 11 (barrier control in use) from operational data."""

import datetime as dt

import pytest
from django.apps import apps
from django.utils import timezone

from anfang.compliance.snapshot import OPERATION_LOADERS
from anfang.uplink import choices as c
from anfang.uplink.compliance_facts import vehicle_facts
from anfang.uplink.models import OutboxMessage
from tests.compliance.builders import exemplary, findings, statuses

from .factories import queue

pytestmark = pytest.mark.django_db


def passages(site, place="south", n=5, age=dt.timedelta(hours=2), decision="allow"):
    Passage = apps.get_model("vehicles", "Passage")
    at = timezone.now() - age
    field = "parking_entrance" if place == "garage_in" else "entrance"
    Passage.objects.bulk_create(
        Passage(
            compound=site.compound,
            **{field: site.places[place]},
            captured_at=at,
            received_at=at,
            plate=f"辽H1234{i}",
            decision=decision,
        )
        for i in range(n)
    )


def uplinked(site, ids, status=c.Status.SENT, age=dt.timedelta(hours=1)):
    now = timezone.now() - age
    queue(site.compound.pk, ids, now=now)
    OutboxMessage.objects.filter(object_id__in=ids).update(status=status)


@pytest.fixture
def site(orgs):
    return exemplary(orgs)


def test_loader_is_registered():
    assert OPERATION_LOADERS["vehicles"] is vehicle_facts


def test_without_vehicle_data_the_registry_answer_stands(site):
    found = findings(site.compound)
    assert found["art9.police_link"].status == "pass"
    assert found["art9.police_link"].evidence == ["1个车行出入口监控均已与公安平台联网"]
    assert found["art11.entrance_control"].evidence == ["2个车行/停车场出入口均有自动道闸和视频监控"]


def test_working_link_and_barriers_in_use_pass_with_figures(site):
    passages(site, n=5)
    uplinked(site, range(1, 6))
    found = findings(site.compound)
    assert statuses(found)["art9.police_link"] == "pass"
    assert found["art9.police_link"].evidence[-1] == "近7日车牌识别过车5次，上传公安平台成功5/5条"
    assert found["art11.entrance_control"].status == "pass"
    assert found["art11.entrance_control"].evidence[-1] == "近7日道闸判定5次"


def test_anpr_entrance_silent_for_a_week_fails(site):
    passages(site, n=3, age=dt.timedelta(days=12))
    found = findings(site.compound)
    assert found["art9.police_link"].status == "fail"
    assert found["art9.police_link"].evidence == ["南门 近7日无车牌识别过车记录"]


def test_passages_never_uplinked_fail(site):
    passages(site, n=3)
    found = findings(site.compound)
    assert found["art9.police_link"].evidence == ["近7日的过车记录均未上传公安平台"]


def test_low_delivery_share_long_backlog_and_dead_messages_fail(site):
    passages(site, n=4)
    uplinked(site, range(1, 9))
    uplinked(site, [9], status=c.Status.FAILED, age=dt.timedelta(hours=10))
    uplinked(site, [10], status=c.Status.DEAD)
    found = findings(site.compound)
    assert found["art9.police_link"].status == "fail"
    assert found["art9.police_link"].evidence == [
        "近7日上传公安平台成功8/10条（80.0%），低于95%",
        "最早一条待上传记录已等待10.0小时（超过6小时）",
        "1条过车记录已放弃上传，需在“公安联网上传”页面重新排队",
    ]


def test_a_short_backlog_is_not_a_finding(site):
    passages(site, n=40)
    uplinked(site, range(1, 40))
    uplinked(site, [40], status=c.Status.PENDING, age=dt.timedelta(minutes=5))
    assert findings(site.compound)["art9.police_link"].status == "pass"


def test_barrier_without_decisions_is_not_in_use(site):
    passages(site, n=5)
    passages(site, "garage_in", n=2, decision="none")
    uplinked(site, range(1, 8))
    found = findings(site.compound)
    assert found["art11.entrance_control"].status == "fail"
    assert found["art11.entrance_control"].evidence == ["地下车库·入口 近7日过车2次，均无道闸判定记录"]


def test_registry_failure_keeps_its_lines_and_adds_operational_ones(site):
    site.compound.devices.filter(name="南门车牌机").update(police_linked=False)
    passages(site, n=2, age=dt.timedelta(days=9))
    found = findings(site.compound)
    assert found["art9.police_link"].evidence == [
        "南门 出入口监控未与公安监控平台联网",
        "南门 近7日无车牌识别过车记录",
    ]


def test_facts_cost_a_fixed_number_of_queries(orgs, django_assert_num_queries):
    sites = [exemplary(orgs, f"小区{i}") for i in range(4)]
    for n, s in enumerate(sites):
        passages(s, n=n + 1)
        uplinked(s, range(100 * n + 1, 100 * n + 3))
    ids = [s.compound.pk for s in sites]
    with django_assert_num_queries(2):
        facts = vehicle_facts(ids[:1])
    with django_assert_num_queries(2):
        facts = vehicle_facts(ids)
    assert [facts[i]["passages"] for i in ids] == [1, 2, 3, 4]
    assert facts[ids[0]]["entrances"] == {str(sites[0].places["south"].pk): [1, 1]}
    assert facts[ids[0]]["uplink"] == {"queued": 2, "sent": 2, "backlog": 0, "dead": 0, "oldest_pending_hours": None}
