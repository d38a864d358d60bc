"""Running and storing assessments, diffing and reproducing them.

`assess` judges any number of compounds with a fixed number of queries: the snapshots come
from `build_snapshots` (one query per table), known snapshot hashes are looked up once, and
snapshots, compound results and findings are inserted with one statement each (`bulk.py`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from anfang.compounds.models import Compound

from .bulk import insert_rows
from .engine import Finding, RulePack, Status, counts, get_pack, run
from .models import Assessment, CompoundAssessment, FindingRecord, StoredSnapshot
from .snapshot import Snapshot, build_snapshots, snapshot_hash


def scoped(actor: Any, compounds: QuerySet[Compound]) -> QuerySet[Compound]:
    """Only compounds the actor may see; `None` is a system job (management command)."""
    return compounds if actor is None else compounds & Compound.objects.visible_to(actor)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Hundreds of thousands of short-lived tuples: the cyclic collector would run again and again
    for nothing (none of them forms a cycle)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@transaction.atomic
def assess(
    actor: Any, compounds: QuerySet[Compound], pack: RulePack | None = None, *, scope_label: str = ""
) -> Assessment:
    pack = pack or get_pack()
    started = timezone.now()
    with _no_gc():
        snapshots = build_snapshots(scoped(actor, compounds))
        canonical = {cid: snap.canonical_json() for cid, snap in snapshots.items()}
        hashes = {cid: snapshot_hash(text) for cid, text in canonical.items()}
        results = {cid: run(pack, snap) for cid, snap in snapshots.items()}
    _store_snapshots(canonical, hashes)
    total = counts(f for findings in results.values() for f in findings)
    finished = timezone.now()
    assessment = Assessment.objects.create(
        scope_label=scope_label or f"{len(snapshots)}个小区",
        pack_name=pack.name,
        pack_version=pack.version,
        advisory=pack.advisory,
        started_at=started,
        finished_at=finished,
        actor=actor if getattr(actor, "pk", None) else None,
        compounds_count=len(snapshots),
        counts=total,
    )
    insert_rows(
        CompoundAssessment,
        [
            {
                "assessment_id": assessment.pk,
                "compound_id": cid,
                "snapshot_id": hashes[cid],
                "assessed_at": finished,
                **{f"n_{status}": n for status, n in counts(results[cid]).items()},
            }
            for cid in snapshots
        ],
    )
    result_ids = dict(CompoundAssessment.objects.filter(assessment=assessment).values_list("compound_id", "id"))
    insert_rows(
        FindingRecord,
        [
            {
                "compound_assessment_id": result_ids[cid],
                "rule_id": f.rule_id,
                "article": f.article,
                "clause": f.clause,
                "status": str(f.status),
                "evidence": list(f.evidence),
                "remedy": f.remedy if f.status != Status.PASS else "",
            }
            for cid, findings in results.items()
            for f in findings
        ],
    )
    return assessment


def _store_snapshots(canonical: dict[int, str], hashes: dict[int, str]) -> None:
    known = set(StoredSnapshot.objects.filter(hash__in=set(hashes.values())).values_list("hash", flat=True))
    now = timezone.now()
    new = {h: canonical[cid] for cid, h in hashes.items() if h not in known}
    insert_rows(
        StoredSnapshot,
        [{"hash": h, "data": StoredSnapshot.pack(text), "created_at": now} for h, text in new.items()],
        ignore_conflicts=True,
    )


def stored_snapshot(result: CompoundAssessment) -> Snapshot:
    return Snapshot.from_json(result.snapshot.canonical)


def reproduce(result: CompoundAssessment) -> list[Finding]:
    """Judge the stored snapshot again with the pack version that was used."""
    return run(get_pack(result.assessment.pack_name, result.assessment.pack_version), stored_snapshot(result))


@dataclass
class Diff:
    new_failures: list[FindingRecord] = field(default_factory=list)
    fixed: list[FindingRecord] = field(default_factory=list)
    still_failing: list[FindingRecord] = field(default_factory=list)
    changed: list[tuple[FindingRecord | None, FindingRecord | None]] = field(default_factory=list)


def diff(old: CompoundAssessment, new: CompoundAssessment) -> Diff:
    """What changed between two assessments of one compound: failures that appeared, failures
    that are gone (the rule now passes or no longer applies), and any other status change."""
    if old.compound_id != new.compound_id:
        raise ValueError("diff needs two assessments of the same compound")
    before = {f.rule_id: f for f in old.findings.all()}
    after = {f.rule_id: f for f in new.findings.all()}
    result = Diff()
    for rule_id in sorted(before.keys() | after.keys()):
        a, b = before.get(rule_id), after.get(rule_id)
        was_fail = a is not None and a.status == Status.FAIL
        is_fail = b is not None and b.status == Status.FAIL
        if is_fail and not was_fail:
            result.new_failures.append(b)
        elif was_fail and is_fail:
            result.still_failing.append(b)
        elif was_fail and b is not None and b.status in (Status.PASS, Status.NOT_APPLICABLE):
            result.fixed.append(b)
        if (a.status if a else None) != (b.status if b else None):
            result.changed.append((a, b))
    return result


def latest(compound: Compound | int, pack_name: str | None = None) -> CompoundAssessment | None:
    qs = CompoundAssessment.objects.filter(compound=compound, assessment__advisory=False).select_related("assessment")
    if pack_name:
        qs = qs.filter(assessment__pack_name=pack_name)
    return qs.order_by("-assessed_at", "-id").first()
