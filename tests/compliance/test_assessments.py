"""Stored assessments: bulk run with a fixed number of queries, scope, reproduction, diff, command."""

from __future__ import annotations

import json
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from anfang.compliance import bulk, services
from anfang.compliance.models import Assessment, CompoundAssessment, StoredSnapshot
from anfang.compliance.services import assess, diff, latest, reproduce, tally
from anfang.compliance.snapshot import Snapshot, build_snapshots, snapshot_hash
from anfang.compounds.models import Compound, DutyRoom
from anfang.core.choices import Role
from tests import factories as f

from .builders import exemplary

pytestmark = pytest.mark.django_db


def make_city(orgs, n: int, prefix: str) -> list[Compound]:
    return [exemplary(orgs, f"{prefix}{i}").compound for i in range(n)]


def queries_of(func) -> int:
    with CaptureQueriesContext(connection) as ctx:
        func()
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_compounds(orgs):
    small = make_city(orgs, 3, "小")
    large = make_city(orgs, 12, "大")
    n_small = queries_of(lambda: assess(None, Compound.objects.filter(pk__in=[c.pk for c in small])))
    n_large = queries_of(lambda: assess(None, Compound.objects.filter(pk__in=[c.pk for c in large])))
    assert n_small == n_large
    n_snap = queries_of(lambda: build_snapshots(Compound.objects.all()))
    # compounds + 11 part tables + devices + the operation loaders: duty (2 × daily records, duty log),
    # patrol (checkpoints, routes, plans, runs), vehicles (passages, uplink), retention (policies, video, passages)
    assert n_snap == 25
    assert CompoundAssessment.objects.count() == 15


def test_assessment_stores_counts_findings_and_snapshot(orgs):
    site = exemplary(orgs)
    a = assess(None, Compound.objects.filter(pk=site.compound.pk), scope_label="单个小区")
    result = a.compound_results.get()
    assert a.pack_name == "yingkou_2015" and a.pack_version == "1.0" and not a.advisory
    assert a.finished_at >= a.started_at
    assert a.counts == {
        "pass": 22,
        "fail": 0,
        "unknown": 6,
        "not_applicable": 1,
        "error": 0,
        "recommendation": 0,
    }
    assert result.status_counts() == a.counts
    assert len(result.findings) == len(result.finding_records) == 29
    snap = build_snapshots(Compound.objects.filter(pk=site.compound.pk))[site.compound.pk]
    assert result.snapshot_hash == snapshot_hash(snap)
    art9 = result.finding("yingkou_2015.art9.units")
    assert (art9.citation, art9.citation_zh, art9.status) == ("Art. 9", "第9条", "pass")


def test_snapshots_are_deduplicated_by_hash(orgs):
    site = exemplary(orgs)
    qs = Compound.objects.filter(pk=site.compound.pk)
    first, second = assess(None, qs), assess(None, qs)
    assert StoredSnapshot.objects.count() == 1
    assert first.compound_results.get().snapshot_id == second.compound_results.get().snapshot_id


def test_past_report_is_reproduced_exactly_after_the_registry_changed(orgs):
    site = exemplary(orgs)
    a = assess(None, Compound.objects.filter(pk=site.compound.pk))
    DutyRoom.objects.filter(compound=site.compound).update(area_m2="12.0")
    result = a.compound_results.get()
    stored = {r.rule_id: (r.status, r.evidence) for r in result.finding_records}
    again = {x.rule_id: (str(x.status), x.evidence) for x in reproduce(result)}
    assert again == stored
    assert stored["yingkou_2015.art15.duty_room"][0] == "pass"


def test_snapshot_json_round_trip_keeps_hash(orgs):
    site = exemplary(orgs)
    snap = build_snapshots(Compound.objects.filter(pk=site.compound.pk))[site.compound.pk]
    text = snap.canonical_json()
    json.loads(text)  # plain JSON
    again = Snapshot.from_json(text)
    assert again == snap
    assert snapshot_hash(again) == snapshot_hash(snap)
    with pytest.raises(AttributeError):
        snap.compound.name = "x"  # frozen


def test_diff_reports_new_failures_and_fixed(orgs):
    site = exemplary(orgs)
    qs = Compound.objects.filter(pk=site.compound.pk)
    site.compound.door_surveys.update(standard_doors=90)
    before = assess(None, qs).compound_results.get()
    site.compound.door_surveys.update(standard_doors=100)
    DutyRoom.objects.filter(compound=site.compound).update(area_m2="19.9")
    after = assess(None, qs).compound_results.get()
    d = diff(before, after)
    assert [x.rule_id for x in d.new_failures] == ["yingkou_2015.art15.duty_room"]
    assert [x.rule_id for x in d.fixed] == ["yingkou_2015.art14.doors"]
    assert d.still_failing == []
    assert len(d.changed) == 2
    assert latest(site.compound) == after


def test_diff_refuses_two_compounds(orgs):
    a = assess(None, Compound.objects.filter(pk__in=[c.pk for c in make_city(orgs, 2, "x")]))
    one, two = a.compound_results.all()
    with pytest.raises(ValueError):
        diff(one, two)


def test_assess_only_covers_compounds_the_actor_sees(world):
    manager = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"])
    a = assess(manager, Compound.objects.all())
    assert set(a.compound_results.values_list("compound__name", flat=True)) == {"安居花园"}
    assert a.actor == manager
    officer = f.user_with(Role.POLICE_STATION, organisation=world["station_a"])
    b = assess(officer, Compound.objects.all())
    assert set(b.compound_results.values_list("compound__name", flat=True)) == {"安居花园", "老街小区"}
    outsider = f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_y"])
    assert assess(outsider, Compound.objects.filter(pk=world["cx"].pk)).compounds_count == 0


def test_command_runs_scopes_and_prints_summary(world):
    out = StringIO()
    call_command("assess", "--station", str(world["station_a"].pk), stdout=out)
    text = out.getvalue()
    assert "2 compounds" in text and "pack yingkou_2015 1.0" in text
    assert "unknown=" in text
    call_command("assess", "--all", stdout=StringIO())
    call_command("assess", "--district", str(world["district"].pk), stdout=StringIO())
    call_command("assess", "--compound", str(world["cy"].pk), stdout=StringIO())
    assert list(Assessment.objects.values_list("compounds_count", flat=True)) == [1, 3, 3, 2]
    assert not CompoundAssessment.objects.filter(n_error__gt=0).exists()


def test_command_refuses_empty_scope_and_unknown_pack(world):
    with pytest.raises(CommandError):
        call_command("assess", "--compound", "999999", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("assess", "--all", "--pack", "nope", stdout=StringIO())


def test_snapshot_is_the_same_alone_or_among_others(orgs):
    """A device linked to a place of another compound: its place's compound is found whether
    that compound is in the same build (already loaded) or not (looked up) — same snapshot."""
    site = exemplary(orgs)
    other = exemplary(orgs, "邻居小区")
    cam = site.compound.devices.get(name="北门摄像机")
    type(cam).objects.filter(pk=cam.pk).update(entrance=other.places["south"])
    pks = [site.compound.pk, other.compound.pk]
    alone = build_snapshots(Compound.objects.filter(pk=site.compound.pk))[site.compound.pk]
    together = build_snapshots(Compound.objects.filter(pk__in=pks))[site.compound.pk]
    assert snapshot_hash(alone) == snapshot_hash(together)
    linked = next(d for d in alone.devices if d.name == "北门摄像机")
    assert (linked.place_kind, linked.place_id, linked.place_compound_id, linked.n_places) == (
        "entrance",
        other.places["south"].pk,
        other.compound.pk,
        1,
    )


def test_stored_findings_read_back_with_the_remedy_of_the_pack(orgs):
    site = exemplary(orgs)
    DutyRoom.objects.filter(compound=site.compound).update(area_m2="19.9")
    result = assess(None, Compound.objects.filter(pk=site.compound.pk)).compound_results.get()
    stored = result.findings[[f[0] for f in result.findings].index("yingkou_2015.art15.duty_room")]
    # Positional, the evidence language-neutral: the zh-Hans template and its parameters.
    assert stored == [
        "yingkou_2015.art15.duty_room",
        15,
        "",
        "fail",
        [["{room} 面积{area}㎡，不足{minimum}㎡", {"room": "南门值班室", "area": "19.9", "minimum": 20}]],
    ]
    duty = result.finding("yingkou_2015.art15.duty_room")
    assert duty.evidence == ["南门值班室 面积19.9㎡，不足20㎡"]
    assert duty.remedy.startswith("在主出入口设立不少于20平方米的治安值班室")
    assert (duty.citation, duty.citation_zh) == ("Art. 15", "第15条")
    assert result.finding("yingkou_2015.art9.units").remedy == ""  # a pass needs no remedy
    assert result.finding("no.such.rule") is None
    Assessment.objects.filter(pk=result.assessment_id).update(pack_version="0.0-gone")
    gone = CompoundAssessment.objects.get(pk=result.pk)
    assert gone.finding("yingkou_2015.art15.duty_room").remedy == ""  # pack no longer shipped: still reads
    assert gone.finding("yingkou_2015.art15.duty_room").evidence == duty.evidence


def test_tally_counts_findings_per_article_and_per_station(world):
    a = assess(None, Compound.objects.all())
    overall = tally(a.compound_results.all())[None]
    assert sum(overall.values()) == sum(a.counts.values()) == 3 * 29
    assert sum(n for (_, _, status), n in overall.items() if status == "fail") == a.counts["fail"]
    assert overall[(33, "2", "unknown")] == 3  # Art 33(2) has no data yet in any compound
    by_station = tally(a.compound_results.all(), by="compound__police_station_id")
    assert set(by_station) == {world["station_a"].pk, world["station_b"].pk}
    assert sum(by_station[world["station_a"].pk].values()) == 2 * 29
    assert sum(by_station.values(), Counter()) == overall


@pytest.mark.parametrize("failing", ["compliance_storedsnapshot", "compliance_compoundassessment", "rules"])
def test_a_failed_assessment_stores_nothing(orgs, monkeypatch, failing):
    """Snapshots and results are written on a second thread while the rules run (PostgreSQL); an
    error there, or in the run itself, rolls the whole assessment back and is the one raised."""
    sites = [exemplary(orgs), exemplary(orgs, "第二小区")]
    qs = Compound.objects.filter(pk__in=[s.compound.pk for s in sites])
    insert_rows = bulk.insert_rows

    def broken_insert(model, rows, db=None, **kw):
        if model._meta.db_table == failing:
            raise RuntimeError("disk full")
        return insert_rows(model, rows, db, **kw)

    def broken_run(pack, snapshot):
        raise RuntimeError("disk full")

    monkeypatch.setattr(bulk, "insert_rows", broken_insert)
    if failing == "rules":
        monkeypatch.setattr(services, "run", broken_run)
    with pytest.raises(RuntimeError, match="disk full"):
        assess(None, qs)
    assert not Assessment.objects.exists() and not StoredSnapshot.objects.exists()
    assert not CompoundAssessment.objects.exists()
    monkeypatch.undo()
    assess(None, qs)
    assert StoredSnapshot.objects.count() == 2 and CompoundAssessment.objects.count() == 2
