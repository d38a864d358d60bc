"""Golden cases (issue 4 §6): hand-built compounds with the full expected finding per rule.

Art 16 and Art 33(1)–(4) stay `unknown` in every case: the duty and maintenance modules that
hold their data do not exist yet, and the rules say so."""

from __future__ import annotations

import pytest

from anfang.compliance.engine import Rule, Status, get_pack
from anfang.compliance.selectors import NO_RECORDS, NOT_YET
from anfang.compounds import choices as cc
from anfang.compounds.models import Compound, DutyRoom
from anfang.devices import choices as dc
from tests import factories as f

from .builders import bare, exemplary, findings, statuses

pytestmark = pytest.mark.django_db

OPERATIONS = {
    "art16.staffing": "unknown",
    "art16.duty_log": "unknown",
    "art33_1.operation": "unknown",
    "art33_2.retention": "unknown",
    "art33_3.change_control": "unknown",
    "art33_4.maintenance": "unknown",
}
REGISTRY_RULES = (
    "art5.guard_force",
    "art7.subsystems",
    "art8.enclosure",
    "art8.electronic",
    "art9.entrances",
    "art9.units",
    "art9.parking",
    "art9.elevators",
    "art9.public_areas",
    "art9.monitoring_centre",
    "art9.clarity",
    "art9.anpr",
    "art9.police_link",
    "art10.patrol",
    "art11.entrance_control",
    "art12.gates",
    "art13.door",
    "art13.intercom",
    "art14.doors",
    "art14.lock_grade",
    "art15.duty_room",
    "data_quality",
)
EXEMPLARY = {**dict.fromkeys(REGISTRY_RULES, "pass"), "art6.patrol_team": "not_applicable", **OPERATIONS}


def expect(**changes: str) -> dict[str, str]:
    return {**EXEMPLARY, **{k.replace("__", "."): v for k, v in changes.items()}}


def test_pack_covers_every_required_clause():
    ids = {r.id.split(".", 1)[1] for r in get_pack().rules}
    assert ids == set(EXEMPLARY)
    assert {r.article for r in get_pack().rules} == {None, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 33}


def test_exemplary_compound_passes_everything_it_can(orgs):
    found = findings(exemplary(orgs).compound)
    assert statuses(found) == EXEMPLARY
    assert found["art15.duty_room"].evidence == ["南门值班室 位于主出入口南门，合二为一，面积24.0㎡"]
    from_records = {"art16.staffing", "art16.duty_log", "art33_1.operation"}
    assert all(found[k].evidence == [NO_RECORDS] for k in from_records)
    assert all(found[k].evidence == [NOT_YET] for k in set(OPERATIONS) - from_records)


def test_nothing_registered_is_unknown_not_pass(orgs):
    found = findings(bare(orgs, "空白小区").compound)
    expected = {**dict.fromkeys(EXEMPLARY, "unknown"), "art6.patrol_team": "not_applicable"}
    expected["data_quality"] = "not_applicable"
    assert statuses(found) == expected
    assert "pass" not in statuses(found).values()
    assert "未登记出入口" in found["art9.entrances"].evidence
    assert found["art10.patrol"].evidence == ["本小区未登记任何设备（设备台账未建立）"]


def test_unmanaged_compound_takes_the_art6_path(orgs):
    found = findings(exemplary(orgs, "老街小区", managed=False).compound)
    assert statuses(found) == expect(art5__guard_force="not_applicable", art6__patrol_team="pass")
    assert found["art6.patrol_team"].evidence == ["社区青年社区专职巡防队伍：青年社区巡防队；属地派出所：建设派出所"]


def test_unmanaged_compound_with_part_time_team_fails_art6(orgs):
    site = exemplary(orgs, "老街小区", managed=False)
    site.compound.security_teams.update(full_time=False)
    found = findings(site.compound)
    assert statuses(found) == expect(art5__guard_force="not_applicable", art6__patrol_team="fail")
    assert found["art6.patrol_team"].evidence == ["青年社区巡防队 非专职"]


def test_managed_compound_without_guard_force_fails_art5(orgs):
    site = exemplary(orgs)
    site.compound.security_teams.all().delete()
    found = findings(site.compound)
    assert statuses(found) == expect(art5__guard_force="fail")


def test_two_main_entrances(orgs):
    site = exemplary(orgs)
    site.places["east"] = f.EntranceFactory(
        compound=site.compound, name="东门", role=cc.EntranceRole.MAIN, gate_type=cc.GateType.NONE
    )
    site.device("东门车牌机", "east", anpr=True, police_linked=True)
    site.device("东门道闸", "east", subsystem=dc.Subsystem.PARKING, device_type=dc.DeviceType.BARRIER_CONTROLLER)
    found = findings(site.compound)
    assert statuses(found) == expect(art12__gates="fail")
    assert found["art12.gates"].evidence == ["东门 无电动伸缩门或金属防护门"]
    # one duty room at one of the main entrances satisfies Art 15; the report says there are two
    assert found["art15.duty_room"].evidence[-1] == "本小区登记了2个主出入口：南门、东门"


@pytest.mark.parametrize(("area", "status"), [("19.9", "fail"), ("20.0", "pass")])
def test_duty_room_area_threshold(orgs, area, status):
    site = exemplary(orgs)
    DutyRoom.objects.filter(pk=site.places["duty"].pk).update(area_m2=area)
    found = findings(site.compound)
    assert statuses(found) == expect(art15__duty_room=status)
    if status == "fail":
        assert found["art15.duty_room"].evidence == ["南门值班室 面积19.9㎡，不足20㎡"]


def test_camera_missing_in_one_elevator_only(orgs):
    site = exemplary(orgs)
    f.ElevatorFactory(building=site.places["b1"], name="2号梯")
    found = findings(site.compound)
    assert statuses(found) == expect(art9__elevators="fail")
    assert found["art9.elevators"].evidence == ["1号楼2号梯 轿厢内无摄像机"]


def test_open_perimeter_segment(orgs):
    site = exemplary(orgs)
    f.PerimeterSegmentFactory(
        compound=site.compound, name="北段", barrier=cc.PerimeterBarrier.OPEN, electronic_protection=False
    )
    found = findings(site.compound)
    assert statuses(found) == expect(art8__enclosure="fail", art8__electronic="fail")
    assert found["art8.enclosure"].evidence == ["周界段北段 未封闭"]
    assert found["art8.electronic"].evidence == ["周界段北段 无周界电子防护"]


def test_non_networked_intercom(orgs):
    site = exemplary(orgs)
    site.places["u21"].__class__.objects.filter(pk=site.places["u21"].pk).update(intercom=cc.IntercomKind.STANDALONE)
    found = findings(site.compound)
    assert statuses(found) == expect(art13__intercom="fail")
    assert found["art13.intercom"].evidence == ["2号楼1单元 楼宇对讲非联网型"]


def test_uncovered_unit_entrance_is_named(orgs):
    site = exemplary(orgs)
    site.compound.devices.filter(unit=site.places["u22"], subsystem=dc.Subsystem.VIDEO).delete()
    found = findings(site.compound)
    assert statuses(found) == expect(art9__units="fail")
    assert found["art9.units"].evidence == ["2号楼2单元 无单元门口摄像机"]


def test_lock_grade_below_b_is_a_recommendation_never_a_failure(orgs):
    site = exemplary(orgs)
    site.compound.door_surveys.update(lock_grade_b_or_above=60)
    found = findings(site.compound)
    assert statuses(found) == expect(art14__lock_grade="recommendation")
    assert "fail" not in statuses(found).values()
    assert found["art14.lock_grade"].evidence == ["2024-05-01 调查100户，全小区300户，40户锁具低于B级（鼓励性要求）"]


def test_a_rule_that_raises_is_an_error_and_the_run_goes_on(orgs):
    def broken(snapshot):
        raise ZeroDivisionError("boom")

    pack = get_pack()
    bad = Rule("test.broken", 9, "", "坏规则", "broken", "", "", broken)
    rules = list(pack.rules)
    rules.insert(3, bad)
    found = findings(exemplary(orgs).compound, pack.with_rules(rules, version="test"))
    assert found["broken"].status == Status.ERROR
    assert found["broken"].evidence == ["ZeroDivisionError: boom"]
    assert statuses({k: v for k, v in found.items() if k != "broken"}) == EXEMPLARY


def test_rule_without_evidence_for_unknown_is_refused(orgs):
    silent = Rule("test.silent", 9, "", "无依据", "silent", "", "", lambda s: (Status.UNKNOWN, []))
    found = findings(bare(orgs, "x").compound, get_pack().with_rules([silent], version="test"))
    assert found["silent"].status == Status.ERROR


def test_devices_not_registered_leaves_device_rules_unknown(orgs):
    site = exemplary(orgs)
    site.compound.devices.all().delete()
    found = findings(site.compound)
    device_rules = [k for k in REGISTRY_RULES if k.startswith(("art7", "art9", "art10", "art11"))]
    device_rules.remove("art9.elevators")
    assert statuses(found) == expect(
        **{k.replace(".", "__"): "unknown" for k in device_rules}, art9__elevators="unknown", art8__electronic="unknown"
    )
    assert found["art9.units"].evidence == ["本小区未登记任何设备（设备台账未建立）"]


def test_low_resolution_and_unrecorded_resolution(orgs, settings):
    settings.ANFANG_MIN_CAMERA_HEIGHT = 1080
    site = exemplary(orgs)
    site.compound.devices.filter(name="广场摄像机").update(resolution_width=1280, resolution_height=720)
    found = findings(site.compound)
    assert statuses(found) == expect(art9__clarity="fail")
    assert found["art9.clarity"].evidence[0] == "广场摄像机 分辨率1280×720，低于1080线"
    site.compound.devices.filter(name="广场摄像机").update(resolution_width=None, resolution_height=None)
    assert findings(site.compound)["art9.clarity"].status == Status.UNKNOWN


def test_entrance_camera_without_anpr_or_police_link(orgs):
    site = exemplary(orgs)
    site.compound.devices.filter(name="南门车牌机").update(anpr=False, police_linked=False, device_type="camera")
    found = findings(site.compound)
    assert statuses(found) == expect(art9__anpr="fail", art9__police_link="fail")
    assert found["art9.anpr"].evidence == ["南门 无车牌识别摄像机"]


def test_pedestrian_only_compound_needs_no_anpr(orgs):
    site = exemplary(orgs)
    Compound.objects.get(pk=site.compound.pk).entrances.update(traffic=cc.Traffic.PEDESTRIAN)
    found = findings(site.compound)
    assert found["art9.anpr"].status == Status.NOT_APPLICABLE
    assert found["art9.police_link"].status == Status.NOT_APPLICABLE
    assert found["art11.entrance_control"].status == Status.PASS  # the garage entrance still counts


def test_inconsistent_registry_is_a_data_quality_finding(orgs):
    """Bad input (issue 4): a camera on another compound's entrance, a negative area, a unit whose
    building is in another compound — reported, not a crash and not a pass."""
    site = exemplary(orgs)
    other = exemplary(orgs, "邻居小区")
    cam = site.compound.devices.get(name="北门摄像机")
    type(cam).objects.filter(pk=cam.pk).update(entrance=other.places["south"])
    DutyRoom.objects.filter(pk=site.places["duty"].pk).update(area_m2="-5.0")
    site.places["u22"].__class__.objects.filter(pk=site.places["u22"].pk).update(
        building=other.places["b2"], name="9单元"
    )
    found = findings(site.compound)
    dq = found["data_quality"]
    assert dq.status == Status.FAIL
    oc = other.compound.pk
    assert dq.evidence == [
        f"单元2号楼9单元 所属楼栋属于另一小区（#{oc}）",
        "值班室南门值班室 面积-5.0㎡无效",
        f"设备北门摄像机 关联的安装位置（entrance #{other.places['south'].pk}）属于另一小区（#{oc}）",
    ]
    assert found["art9.entrances"].status == Status.FAIL  # the foreign camera covers nothing here
    assert found["art9.entrances"].evidence == ["北门 无出入口摄像机"]
    assert found["art15.duty_room"].status == Status.UNKNOWN
    assert Status.ERROR not in {x.status for x in found.values()}


def test_household_door_failure(orgs):
    site = exemplary(orgs)
    site.compound.door_surveys.update(standard_doors=97)
    found = findings(site.compound)
    assert statuses(found) == expect(art14__doors="fail")
    assert found["art14.doors"].evidence == ["2024-05-01 调查100户，全小区300户，3户非国标防盗门"]


def test_missing_household_alarm_is_an_art7_failure(orgs):
    site = exemplary(orgs)
    site.compound.devices.filter(subsystem=dc.Subsystem.HOUSEHOLD_ALARM).delete()
    found = findings(site.compound)
    assert statuses(found) == expect(art7__subsystems="fail")
    assert found["art7.subsystems"].evidence == ["缺少住户报警系统"]


def test_pedestrian_secondary_entrance_needs_a_gate_but_no_barrier(orgs):
    """Art 12's 道闸 are vehicle barriers: a pedestrian gate is judged on its gate alone."""
    site = exemplary(orgs)
    f.EntranceFactory(
        compound=site.compound,
        name="北门人行口",
        role=cc.EntranceRole.SECONDARY,
        traffic=cc.Traffic.PEDESTRIAN,
        gate_type=cc.GateType.METAL_PROTECTIVE,
        barrier=cc.BarrierKind.NONE,
    )
    assert findings(site.compound)["art12.gates"].status == Status.PASS
    vehicle = f.EntranceFactory(
        compound=site.compound,
        name="西门车行口",
        role=cc.EntranceRole.SECONDARY,
        traffic=cc.Traffic.VEHICLE,
        gate_type=cc.GateType.ELECTRIC_SLIDING,
        barrier=cc.BarrierKind.NONE,
    )
    found = findings(site.compound)
    assert found["art12.gates"].status == Status.FAIL
    assert found["art12.gates"].evidence == [f"{vehicle.name} 无道闸"]
