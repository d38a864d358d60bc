"""Running and storing assessments, diffing and reproducing them.

`assess` judges any number of compounds with a fixed number of queries: the snapshots come
from `build_snapshots` (one query per table), known snapshot hashes are looked up once (a
snapshot is stored once per content: an unchanged compound's is not written again), new
snapshots and the compound results (each carrying its findings) are written with one COPY each
(`bulk.py`). Both COPYs run on a writer thread while the rules run on this one: the snapshots
first, then each compound's result as soon as it is judged, so the database stores while Python
judges."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from anfang.compounds.models import Compound
from anfang.core.choices import OrgKind, Role
from anfang.core.grants import has_role

from .bulk import Writer, background_writer, lock_writes
from .engine import Finding, RulePack, Status, counts, get_pack, registered_packs, run
from .models import Assessment, CompoundAssessment, StoredFinding, StoredSnapshot, decode_finding
from .snapshot import Snapshot, build_snapshots, snapshot_hash


def scoped(actor: Any, compounds: QuerySet[Compound]) -> QuerySet[Compound]:
    """Only compounds the actor may see; `None` is a system job (management command)."""
    return compounds if actor is None else compounds & Compound.objects.visible_to(actor)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Hundreds of thousands of tuples, dicts and lists that live until the run ends: the cyclic
    collector would run again and again for nothing (none of them forms a cycle)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


RESULT_FIELDS = (
    "assessment_id",
    "compound_id",
    "snapshot_id",
    "assessed_at",
    *(f"n_{status}" for status in Status),
    "findings",
)


@transaction.atomic
def assess(
    actor: Any, compounds: QuerySet[Compound], pack: RulePack | None = None, *, scope_label: str = ""
) -> Assessment:
    pack = pack or get_pack()
    started = timezone.now()
    with _no_gc():
        snapshots = build_snapshots(scoped(actor, compounds))
        judged_at = timezone.now()  # the registry as read: the time every result speaks for
        canonical = {cid: snap.canonical_bytes() for cid, snap in snapshots.items()}
        hashes = {cid: snapshot_hash(data) for cid, data in canonical.items()}
        new = _new_snapshots(canonical, hashes)
        assessment = Assessment.objects.create(
            scope_label=scope_label or f"{len(snapshots)}个小区",
            pack_name=pack.name,
            pack_version=pack.version,
            advisory=pack.advisory,
            started_at=started,
            actor=actor if getattr(actor, "pk", None) else None,
            compounds_count=len(snapshots),
        )
        total = dict.fromkeys(map(str, Status), 0)
        with background_writer() as writer:  # the rules need no database
            _store_snapshots(writer, new, judged_at)
            results = writer.stream(CompoundAssessment, RESULT_FIELDS)
            for cid, snapshot in snapshots.items():
                findings = run(pack, snapshot)
                per_status = counts(findings)
                for status, n in per_status.items():
                    total[status] += n
                results.put(
                    {
                        "assessment_id": assessment.pk,
                        "compound_id": cid,
                        "snapshot_id": hashes[cid],
                        "assessed_at": judged_at,
                        **{f"n_{status}": n for status, n in per_status.items()},
                        "findings": [f.stored() for f in findings],
                    }
                )
        assessment.finished_at, assessment.counts = timezone.now(), total
        Assessment.objects.filter(pk=assessment.pk).update(finished_at=assessment.finished_at, counts=total)
    return assessment


def _new_snapshots(canonical: dict[int, bytes], hashes: dict[int, str]) -> dict[str, bytes]:
    """The snapshots not stored yet, by hash (the same content is stored once)."""
    lock_writes(StoredSnapshot)  # a concurrent run may store the same snapshot between look-up and insert
    known = set(StoredSnapshot.objects.filter(hash__in=set(hashes.values())).values_list("hash", flat=True))
    return {h: canonical[cid] for cid, h in hashes.items() if h not in known}


def _store_snapshots(writer: Writer, new: dict[str, bytes], now: Any) -> None:
    """The canonical JSON goes in as the UTF-8 bytes it already is (see `bulk.insert_rows`)."""
    writer.insert(StoredSnapshot, [{"hash": h, "data": data, "created_at": now} for h, data in new.items()])


def stored_snapshot(result: CompoundAssessment) -> Snapshot:
    return Snapshot.from_json(result.snapshot.canonical)


def reproduce(result: CompoundAssessment) -> list[Finding]:
    """Judge the stored snapshot again with the pack version that was used."""
    return run(get_pack(result.assessment.pack_name, result.assessment.pack_version), stored_snapshot(result))


@dataclass
class Diff:
    new_failures: list[StoredFinding] = field(default_factory=list)
    fixed: list[StoredFinding] = field(default_factory=list)
    still_failing: list[StoredFinding] = field(default_factory=list)
    changed: list[tuple[StoredFinding | None, StoredFinding | None]] = field(default_factory=list)


def diff(old: CompoundAssessment, new: CompoundAssessment) -> Diff:
    """What changed between two assessments of one compound: failures that appeared, failures
    that are gone (the rule now passes or no longer applies), and any other status change."""
    if old.compound_id != new.compound_id:
        raise ValueError("diff needs two assessments of the same compound")
    before = {f.rule_id: f for f in old.finding_records}
    after = {f.rule_id: f for f in new.finding_records}
    result = Diff()
    for rule_id in sorted(before.keys() | after.keys()):
        a, b = before.get(rule_id), after.get(rule_id)
        was_fail = a is not None and a.status == Status.FAIL
        if b is not None and b.status == Status.FAIL:
            (result.still_failing if was_fail else result.new_failures).append(b)
        elif was_fail and b is not None and b.status in (Status.PASS, Status.NOT_APPLICABLE):
            result.fixed.append(b)
        if (a.status if a else None) != (b.status if b else None):
            result.changed.append((a, b))
    return result


def tally(
    results: QuerySet[CompoundAssessment], by: str | None = None
) -> dict[Any, Counter[tuple[int | None, str, str]]]:
    """Findings counted by (article, clause, status), per value of the field `by` (e.g.
    "compound__police_station_id") or all together under the key None: the compliance rate
    per article, per station or city-wide."""
    groups: dict[Any, Counter[tuple[int | None, str, str]]] = {}
    rows = (
        results.values_list(by, "findings") if by else ((None, f) for f in results.values_list("findings", flat=True))
    )
    for key, findings in rows:
        counter = groups.setdefault(key, Counter())
        counter.update(decode_finding(f)[1:4] for f in findings)
    return groups


def latest(compound: Compound | int, pack_name: str | None = None) -> CompoundAssessment | None:
    qs = CompoundAssessment.objects.filter(compound=compound, assessment__advisory=False).select_related("assessment")
    if pack_name:
        qs = qs.filter(assessment__pack_name=pack_name)
    return qs.order_by("-assessed_at", "-id").first()


# Who may start an assessment: police, managers and the platform; guards and operators only read.
ASSESS_ROLES = frozenset(
    {
        Role.PLATFORM_ADMIN,
        Role.POLICE_CITY,
        Role.POLICE_DISTRICT,
        Role.POLICE_STATION,
        Role.COMMUNITY_MANAGER,
        Role.PROPERTY_MANAGER,
    }
)
# The police organisation each assessment scope names.
SCOPE_KINDS = {"station": OrgKind.POLICE_STATION, "district": OrgKind.DISTRICT_BUREAU, "city": OrgKind.CITY_BUREAU}


def can_assess(user: Any) -> bool:
    return has_role(user, ASSESS_ROLES)


def assessable(user: Any, compounds: QuerySet[Compound]) -> QuerySet[Compound]:
    """Those of `compounds` the user reaches through a role that may assess: a guard grant
    elsewhere does not let a manager assess that compound."""
    return compounds & Compound.objects.in_scope_of_roles(user, ASSESS_ROLES)


def packs() -> list[RulePack]:
    """The newest version of every registered pack: the mandatory ones first, then by name."""
    get_pack()  # makes sure the packs are registered
    names = sorted({pack.name for pack in registered_packs()})
    return sorted((get_pack(name) for name in names), key=lambda p: (p.advisory, p.name))


def compounds_in(scope: str, pk: int) -> tuple[str, QuerySet[Compound]]:
    """A label and the compounds a scope names: one compound, or those of a police station,
    district or city bureau (by the organisation tree). Not limited to what any user may see:
    see `scoped` and `assessable`."""
    if scope == "compound":
        compound = Compound.objects.filter(pk=pk).first()
        return (compound.name if compound else ""), Compound.objects.filter(pk=pk)
    from anfang.core.models import Organisation

    org = Organisation.objects.filter(pk=pk, kind=SCOPE_KINDS[scope]).first()
    if org is None:
        return "", Compound.objects.none()
    return org.name, Compound.objects.filter(police_station__path__startswith=org.path)


def assess_all(actor: Any, compounds: QuerySet[Compound], *, scope_label: str = "") -> list[Assessment]:
    """Every pack, each in its own assessment: the advisory ones are stored apart and never
    counted as violations."""
    return [assess(actor, compounds, pack, scope_label=scope_label) for pack in packs()]


def history(compound: Compound | int) -> QuerySet[CompoundAssessment]:
    """The compound's results under the mandatory packs, newest first, without the findings."""
    return (
        CompoundAssessment.objects.filter(compound=compound, assessment__advisory=False)
        .select_related("assessment")
        .defer("findings")
        .order_by("-assessed_at", "-id")
    )


def latest_advisory(compound: Compound | int) -> list[CompoundAssessment]:
    """The newest result of each advisory pack for the compound (`latest` skips them)."""
    rows = (
        CompoundAssessment.objects.filter(compound=compound, assessment__advisory=True)
        .order_by("-assessed_at", "-id")
        .values_list("pk", "assessment__pack_name")
    )
    newest: dict[str, int] = {}
    for pk, pack_name in rows:  # two small columns: the findings of old results are not read
        newest.setdefault(pack_name, pk)
    results = CompoundAssessment.objects.filter(pk__in=newest.values()).select_related("assessment")
    return list(results.order_by("assessment__pack_name"))
