"""The advisory pack of national standards (issue 4 §3): every rule met and not met, the pack is
flagged advisory, and running it never touches the mandatory pack's results."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from anfang.compliance.engine import Level, Status, get_pack, run
from anfang.compliance.models import Assessment, CompoundAssessment
from anfang.compliance.rulepacks import gb_advisory
from anfang.compliance.services import assess, latest, reproduce
from anfang.compliance.snapshot import build_snapshots
from anfang.compounds import choices as cc
from anfang.compounds.models import Compound, DutyRoom
from anfang.devices import choices as dc
from anfang.devices.models import Device
from tests import factories as f

from .builders import Site, bare, exemplary, findings

pytestmark = pytest.mark.django_db

PACK = gb_advisory.PACK
V = dc.Subsystem
T = dc.DeviceType


def advisory(site: Site) -> dict:
    return findings(site.compound, PACK)


def verdict(site: Site, rule: str) -> tuple[str, list[str]]:
    found = advisory(site)[rule]
    return str(found.status), found.evidence


def mentions(evidence: list[str], text: str) -> bool:
    return any(text in line for line in evidence)


# --- Pack metadata ------------------------------------------------------------------------------


def test_pack_is_registered_advisory_and_separate_from_the_mandatory_one():
    assert get_pack("gb_advisory") is PACK
    assert (PACK.name, PACK.version, PACK.advisory) == ("gb_advisory", "1.0", True)
    assert "参考" in PACK.title
    mandatory = get_pack()
    assert mandatory.name == "yingkou_2015" and not mandatory.advisory
    assert not {r.id for r in PACK.rules} & {r.id for r in mandatory.rules}


@pytest.mark.parametrize("rule", PACK.rules, ids=lambda r: r.id)
def test_every_rule_cites_standard_clause_and_source(rule):
    assert isinstance(rule, gb_advisory.StandardRule)
    assert rule.id.startswith("gb_advisory.")
    assert rule.article is None  # never an article of the regulation
    assert rule.standard and rule.clause and len(rule.clause) <= 8  # FindingRecord.clause max_length
    assert rule.source.startswith("http")
    assert rule.title_zh and rule.title_en and rule.excerpt and rule.remedy
    assert rule.citation == f"{rule.standard} §{rule.clause}"
    assert rule.citation_zh == f"{rule.standard} 第{rule.clause}条"


def test_should_clauses_are_encouraged_shall_clauses_are_not():
    encouraged = {r.id.split(".", 1)[1] for r in PACK.rules if r.level == Level.ENCOURAGED}
    assert encouraged == {"jgj16.centre_area", "gb51348.perimeter_zones", "gb51348.ground_top_floors"}


def test_nothing_registered_never_passes_and_never_errors(orgs):
    site = bare(orgs, "空白小区")
    found = advisory(site)
    assert set(found) == {r.id.split(".", 1)[1] for r in PACK.rules}
    for key, x in found.items():
        assert x.status in (Status.UNKNOWN, Status.NOT_APPLICABLE), key
        assert x.evidence, key


# --- GB 55029-2022 §3.1.3 perimeter -------------------------------------------------------------


def test_perimeter_covered(orgs):
    assert verdict(exemplary(orgs), "gb55029.perimeter")[0] == "pass"


def test_perimeter_open_unguarded_segment_fails(orgs):
    site = exemplary(orgs)
    f.PerimeterSegmentFactory(
        compound=site.compound, name="北段", barrier=cc.PerimeterBarrier.OPEN, electronic_protection=False
    )
    status, evidence = verdict(site, "gb55029.perimeter")
    assert status == "fail" and mentions(evidence, "周界段北段 未封闭")


def test_perimeter_open_segment_with_camera_passes(orgs):
    site = exemplary(orgs)
    site.places["gap"] = f.PerimeterSegmentFactory(
        compound=site.compound, name="北段", barrier=cc.PerimeterBarrier.OPEN, electronic_protection=False
    )
    site.device("北段摄像机", "gap")
    assert verdict(site, "gb55029.perimeter")[0] == "pass"


def test_perimeter_open_segment_not_surveyed_is_unknown(orgs):
    site = exemplary(orgs)
    f.PerimeterSegmentFactory(
        compound=site.compound, name="北段", barrier=cc.PerimeterBarrier.OPEN, electronic_protection=None
    )
    status, evidence = verdict(site, "gb55029.perimeter")
    assert status == "unknown" and mentions(evidence, "北段")


# --- GB 55029-2022 §3.1.4 entrances -------------------------------------------------------------


def test_pedestrian_entrances_clear(orgs):
    status, evidence = verdict(exemplary(orgs), "gb55029.entrance_people")
    assert status == "pass" and mentions(evidence, "2个人行出入口")


def test_pedestrian_entrance_low_resolution_fails(orgs):
    site = exemplary(orgs)
    Device.objects.filter(name="北门摄像机").update(resolution_width=640, resolution_height=480)
    status, evidence = verdict(site, "gb55029.entrance_people")
    assert status == "fail" and mentions(evidence, "北门 摄像机分辨率640×480")


def test_pedestrian_entrance_without_camera_fails(orgs):
    site = exemplary(orgs)
    f.EntranceFactory(
        compound=site.compound, name="西门", role=cc.EntranceRole.SECONDARY, traffic=cc.Traffic.PEDESTRIAN
    )
    status, evidence = verdict(site, "gb55029.entrance_people")
    assert status == "fail" and evidence == ["西门 无摄像机"]


def test_pedestrian_entrance_resolution_not_registered_is_unknown(orgs):
    site = exemplary(orgs)
    Device.objects.filter(name="北门摄像机").update(resolution_width=None, resolution_height=None)
    status, evidence = verdict(site, "gb55029.entrance_people")
    assert status == "unknown" and mentions(evidence, "北门 摄像机未登记分辨率")


def test_camera_of_another_compound_does_not_cover_this_entrance(orgs):
    site = exemplary(orgs)
    other = exemplary(orgs, "邻近小区")
    Device.objects.filter(compound=site.compound, name="北门摄像机").update(entrance=other.places["north"])
    status, evidence = verdict(site, "gb55029.entrance_people")
    assert status == "fail" and mentions(evidence, "北门 无摄像机")


def test_vehicle_entrances_show_plates(orgs):
    site = exemplary(orgs)
    site.device("车库车牌机", "garage_in", device_type=T.ANPR_CAMERA, anpr=True)
    status, evidence = verdict(site, "gb55029.entrance_plates")
    assert status == "pass" and mentions(evidence, "2个车行/停车场出入口")


def test_plain_camera_at_parking_entrance_is_unknown(orgs):
    status, evidence = verdict(exemplary(orgs), "gb55029.entrance_plates")
    assert status == "unknown" and evidence == ["地下车库·入口 有摄像机但未登记为车牌识别，无法确认图像能清晰显示号牌"]


def test_vehicle_entrance_without_camera_fails(orgs):
    site = exemplary(orgs)
    site.device("车库车牌机", "garage_in", device_type=T.ANPR_CAMERA, anpr=True)
    f.EntranceFactory(compound=site.compound, name="东门", role=cc.EntranceRole.SECONDARY, traffic=cc.Traffic.VEHICLE)
    status, evidence = verdict(site, "gb55029.entrance_plates")
    assert status == "fail" and evidence == ["东门 无摄像机"]


def test_pedestrian_only_compound_has_no_plates_to_show(orgs):
    site = bare(orgs, "步行小区")
    f.BuildingFactory(compound=site.compound)
    site.places["gate"] = f.EntranceFactory(compound=site.compound, name="大门", traffic=cc.Traffic.PEDESTRIAN)
    site.device("大门摄像机", "gate")
    assert verdict(site, "gb55029.entrance_plates")[0] == "not_applicable"
    assert verdict(site, "gb55029.entrance_people")[0] == "pass"


# --- GB 55029-2022 §3.1.5 public areas ----------------------------------------------------------


def test_public_areas_clear(orgs):
    assert verdict(exemplary(orgs), "gb55029.public_areas")[0] == "pass"


def test_public_area_without_camera_fails(orgs):
    site = exemplary(orgs)
    f.PublicAreaFactory(compound=site.compound, name="北广场", kind=cc.AreaKind.SQUARE)
    status, evidence = verdict(site, "gb55029.public_areas")
    assert status == "fail" and evidence == ["北广场 无摄像机"]


def test_no_public_areas_is_not_applicable_once_the_site_is_surveyed(orgs):
    site = bare(orgs, "小型小区")
    f.BuildingFactory(compound=site.compound)
    f.EntranceFactory(compound=site.compound)
    assert verdict(site, "gb55029.public_areas")[0] == "not_applicable"


# --- JGJ 16-2008 §14.9.2 / §14.9.4 monitoring centre ---------------------------------------------


def separate_centre(orgs, area: str) -> Site:
    site = exemplary(orgs)
    DutyRoom.objects.filter(pk=site.places["duty"].pk).update(
        relation=cc.DutyRoomRelation.CONNECTED, is_monitoring_centre=False
    )
    site.places["centre"] = f.DutyRoomFactory(
        compound=site.compound,
        name="监控中心",
        area_m2=area,
        relation=cc.DutyRoomRelation.CONNECTED,
        is_monitoring_centre=True,
    )
    return site


def test_separate_centre_of_20_m2_meets_the_area(orgs):
    status, evidence = verdict(separate_centre(orgs, "25.0"), "jgj16.centre_area")
    assert status == "pass" and evidence == ["监控中心 面积25.0㎡"]


def test_small_separate_centre_is_a_recommendation_not_a_failure(orgs):
    status, evidence = verdict(separate_centre(orgs, "18.0"), "jgj16.centre_area")
    assert status == "recommendation" and evidence == ["监控中心 面积18.0㎡，小于20㎡"]


def test_merged_centre_working_area_is_unknown(orgs):
    status, evidence = verdict(exemplary(orgs), "jgj16.centre_area")
    assert status == "unknown" and mentions(evidence, "专用工作区面积未登记")


def test_merged_centre_below_12_m2_is_a_recommendation(orgs):
    site = exemplary(orgs)
    DutyRoom.objects.filter(pk=site.places["duty"].pk).update(area_m2="10.0")
    status, evidence = verdict(site, "jgj16.centre_area")
    assert status == "recommendation" and mentions(evidence, "总面积10.0㎡")


def test_centre_only_connected_is_unknown_and_none_at_all_not_applicable(orgs):
    site = exemplary(orgs)
    DutyRoom.objects.filter(pk=site.places["duty"].pk).update(
        relation=cc.DutyRoomRelation.CONNECTED, is_monitoring_centre=False
    )
    status, evidence = verdict(site, "jgj16.centre_alarm")
    assert status == "unknown" and mentions(evidence, "监控中心未单独登记")
    DutyRoom.objects.filter(pk=site.places["duty"].pk).update(relation=cc.DutyRoomRelation.SEPARATE)
    assert verdict(site, "jgj16.centre_area")[0] == "not_applicable"


def test_centre_with_emergency_button_passes(orgs):
    site = exemplary(orgs)
    site.device("值班室紧急按钮", "duty", subsystem=V.HOUSEHOLD_ALARM, device_type=T.PANIC_BUTTON)
    status, evidence = verdict(site, "jgj16.centre_alarm")
    assert status == "pass" and evidence[0] == "监控中心已设置紧急报警装置"
    assert evidence[-1] == gb_advisory.CENTRE_NOT_CHECKED  # what the registry cannot show is said


def test_centre_without_emergency_button_fails(orgs):
    site = exemplary(orgs)
    site.device("广场紧急按钮", "square", subsystem=V.HOUSEHOLD_ALARM, device_type=T.PANIC_BUTTON)
    status, evidence = verdict(site, "jgj16.centre_alarm")
    assert status == "fail" and evidence[0] == "南门值班室 未登记紧急报警装置"


# --- GB 51348-2019 §14.2.1 (条文说明) --------------------------------------------------------------


def test_perimeter_zones_short_enough(orgs):
    site = exemplary(orgs)
    site.device("东段探测器", "east_wall", subsystem=V.PERIMETER, device_type=T.PERIMETER_DETECTOR)
    status, evidence = verdict(site, "gb51348.perimeter_zones")
    assert status == "pass" and evidence[-1] == gb_advisory.ZONE_ESTIMATE


def test_long_zone_is_a_recommendation(orgs):
    site = exemplary(orgs)
    site.device("东段探测器", "east_wall", subsystem=V.PERIMETER, device_type=T.PERIMETER_DETECTOR)
    site.places["long"] = f.PerimeterSegmentFactory(compound=site.compound, name="南段", length_m=450)
    site.device("南段探测器", "long", subsystem=V.PERIMETER, device_type=T.PERIMETER_DETECTOR)
    status, evidence = verdict(site, "gb51348.perimeter_zones")
    assert status == "recommendation" and mentions(evidence, "周界段南段 长450.0米，登记1台周界设备")
    site.device("南段探测器2", "long", subsystem=V.PERIMETER, device_type=T.PERIMETER_DETECTOR)
    site.device("南段探测器3", "long", subsystem=V.PERIMETER, device_type=T.PERIMETER_DETECTOR)
    assert verdict(site, "gb51348.perimeter_zones")[0] == "pass"  # 3 zones of 150 m


def test_electric_fence_zone_limit_is_100_m(orgs):
    site = exemplary(orgs)
    site.device("东段探测器", "east_wall", subsystem=V.PERIMETER, device_type=T.PERIMETER_DETECTOR)
    site.device("西段电子围栏", "west_fence", subsystem=V.PERIMETER, device_type=T.ELECTRIC_FENCE)
    Device.objects.filter(name="西段探测器").delete()
    status, evidence = verdict(site, "gb51348.perimeter_zones")  # 西段 120 m, one fence zone
    assert status == "recommendation" and mentions(evidence, "超过100米")


def test_zone_without_registered_devices_is_unknown(orgs):
    status, evidence = verdict(exemplary(orgs), "gb51348.perimeter_zones")
    assert status == "unknown" and mentions(evidence, "周界段东段 未登记周界设备")


def test_no_household_alarm_at_all_is_a_recommendation(orgs):
    site = exemplary(orgs)
    Device.objects.filter(compound=site.compound, subsystem=V.HOUSEHOLD_ALARM).delete()
    status, evidence = verdict(site, "gb51348.ground_top_floors")
    assert status == "recommendation" and mentions(evidence, "未登记任何住户报警设备")


def test_household_alarm_floors_are_not_in_the_registry(orgs):
    status, evidence = verdict(exemplary(orgs), "gb51348.ground_top_floors")
    assert status == "unknown" and mentions(evidence, "未登记其所在楼层")


# --- Stored assessments: separate from the mandatory pack ---------------------------------------


def test_advisory_assessment_is_stored_apart_and_leaves_mandatory_results_alone(orgs):
    site = exemplary(orgs)
    qs = Compound.objects.filter(pk=site.compound.pk)
    mandatory = assess(None, qs)
    mandatory_counts = dict(mandatory.counts)
    mandatory_result = latest(site.compound)

    adv = assess(None, qs, PACK, scope_label="参考")
    assert (adv.pack_name, adv.pack_version, adv.advisory) == ("gb_advisory", "1.0", True)
    stored = adv.compound_results.get()
    assert [x.rule_id for x in stored.finding_records] == [r.id for r in PACK.rules]
    assert all(x.article is None for x in stored.finding_records)
    assert sum(adv.counts.values()) == len(PACK.rules)

    # The mandatory view of the compound is untouched: same latest result, same counts.
    assert latest(site.compound) == mandatory_result
    again = assess(None, qs)
    assert again.counts == mandatory_counts
    newest = latest(site.compound)
    assert newest is not None and newest.assessment == again
    for result in CompoundAssessment.objects.filter(assessment__advisory=False):
        assert not any(x.rule_id.startswith("gb_advisory.") for x in result.finding_records)
    assert set(Assessment.objects.values_list("pack_name", "advisory")) == {
        ("yingkou_2015", False),
        ("gb_advisory", True),
    }

    # The stored advisory result reproduces from its snapshot with its own pack version.
    snap = build_snapshots(qs)[site.compound.pk]
    assert [(x.rule_id, x.status) for x in reproduce(stored)] == [(x.rule_id, x.status) for x in run(PACK, snap)]


def test_assess_command_runs_the_advisory_pack(orgs):
    site = exemplary(orgs)
    out = StringIO()
    call_command("assess", "--compound", str(site.compound.pk), "--pack", "gb_advisory", stdout=out)
    assert "pack gb_advisory 1.0" in out.getvalue()
    assert Assessment.objects.get().advisory is True
