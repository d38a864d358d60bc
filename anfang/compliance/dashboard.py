"""City / district / station compliance dashboard: selectors over each compound's latest
mandatory assessment (issue 4 item 5), for the compounds a user may see.

Definitions used on every screen and in the export:
- an article's status for a compound is the worst of its findings (as on the compound report);
  a compound passes the article when that status is pass or recommendation (Art 14's "鼓励"
  never counts against it); not_applicable is left out of the rate;
- a compound's pass share is its passing findings over its applicable findings;
- a station's rate and a day's trend point are the average pass share of the compounds.

A fixed number of queries whatever the number of compounds: the scope tree (one), the
compounds with the id of their latest result (one), those results (one), the trend (one)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Avg, Count, F, FloatField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast, NullIf, TruncDate
from django.utils.translation import gettext as _

from anfang.compounds.models import Compound
from anfang.compounds.querysets import orgs_in_scope
from anfang.core.choices import OrgKind

from .engine import STATUS_LABELS, Cited, Status, cite_local, worst
from .models import CompoundAssessment, decode_finding

PACK = "yingkou_2015"  # the mandatory pack; advisory packs never count as violations
TREND_DAYS = 60
WORST_LIMIT = 10

ArticleKey = tuple[int | None, str]
# How an article's worst status counts on the dashboard.
PASS, FAIL, UNKNOWN, NA = "pass", "fail", "unknown", "not_applicable"
CATEGORY = {
    Status.PASS: PASS,
    Status.RECOMMENDATION: PASS,
    Status.FAIL: FAIL,
    Status.UNKNOWN: UNKNOWN,
    Status.ERROR: UNKNOWN,  # a broken rule proves nothing either way
    Status.NOT_APPLICABLE: NA,
}
APPLICABLE = ("n_pass", "n_recommendation", "n_fail", "n_unknown", "n_error")


# --- scope: the city → district → station tree within what the user can see ---


@dataclass(frozen=True)
class Node:
    id: int
    name: str
    kind: str
    parent_id: int | None


@dataclass
class Scope:
    nodes: dict[int, Node]
    current: Node | None = None

    @property
    def label(self) -> str:
        return self.current.name if self.current else ""

    def roots(self) -> list[Node]:
        return sorted((n for n in self.nodes.values() if n.parent_id is None), key=lambda n: n.name)

    def children(self) -> list[Node]:
        if self.current is None:
            return self.roots()
        return sorted((n for n in self.nodes.values() if n.parent_id == self.current.id), key=lambda n: n.name)

    def trail(self) -> list[Node]:
        """From the top of the tree down to the current node."""
        trail, node = [], self.current
        while node is not None:
            trail.append(node)
            node = self.nodes.get(node.parent_id) if node.parent_id else None
        return trail[::-1]

    def station_ids(self) -> set[int] | None:
        """The stations under the current node; None: the user's whole visible scope."""
        if self.current is None:
            return None
        under = {self.current.id}
        for node in sorted(self.nodes.values(), key=lambda n: len(self._ancestors(n))):
            if node.parent_id in under:
                under.add(node.id)
        return {i for i in under if self.nodes[i].kind == OrgKind.POLICE_STATION}

    def _ancestors(self, node: Node) -> list[int]:
        ids, parent = [], node.parent_id
        while parent is not None and parent in self.nodes:
            ids.append(parent)
            parent = self.nodes[parent].parent_id
        return ids


def scope_of(user: Any, org_id: int | None = None) -> Scope | None:
    """The organisations the user may pick, `org_id` selected; None when that organisation is
    not one of them. Offered: the police bureaus and stations the user's grants cover, and the
    stations of every compound the user sees (a manager filters their compounds by station)."""
    station = "police_station"
    rows = (
        Compound.objects.visible_to(user)
        .active()
        .values_list(
            f"{station}_id",
            f"{station}__name",
            f"{station}__parent_id",
            f"{station}__parent__name",
            f"{station}__parent__kind",
            f"{station}__parent__parent_id",
            f"{station}__parent__parent__name",
            f"{station}__parent__parent__kind",
        )
        .distinct()
    )
    covered = orgs_in_scope(user)
    chains: list[list[tuple[int, str, str]]] = []
    for sid, sname, did, dname, dkind, cid, cname, ckind in rows:
        chain: list[tuple[int, str, str]] = [(sid, sname, str(OrgKind.POLICE_STATION))]
        chain += [(i, n, k) for i, n, k in ((did, dname, dkind), (cid, cname, ckind)) if i is not None]
        chains.append([link for k, link in enumerate(chain) if k == 0 or covered is None or link[0] in covered])
    nodes: dict[int, Node] = {}
    for chain in chains:
        for k, (i, name, kind) in enumerate(chain):
            nodes[i] = Node(i, name, str(kind), chain[k + 1][0] if k + 1 < len(chain) else None)
    scope = Scope(nodes)
    if org_id is None:
        roots = scope.roots()
        scope.current = roots[0] if len(roots) == 1 else None
    elif org_id in nodes:
        scope.current = nodes[org_id]
    else:
        return None
    return scope


def compounds_in(user: Any, scope: Scope) -> QuerySet[Compound]:
    """The scope's active compounds the user sees."""
    compounds = Compound.objects.visible_to(user).active()
    stations = scope.station_ids()
    return compounds if stations is None else compounds.filter(police_station_id__in=stations)


# --- figures ---


@dataclass
class ArticleRate(Cited):
    article: int | None
    clause: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys((PASS, FAIL, UNKNOWN, NA), 0))

    @property
    def judged(self) -> int:
        return self.counts[PASS] + self.counts[FAIL] + self.counts[UNKNOWN]

    @property
    def rate(self) -> float | None:
        return self.counts[PASS] / self.judged if self.judged else None

    passed = property(lambda self: self.counts[PASS])
    failed = property(lambda self: self.counts[FAIL])
    unknown = property(lambda self: self.counts[UNKNOWN])
    not_applicable = property(lambda self: self.counts[NA])


@dataclass
class CompoundRow:
    id: int
    name: str
    station_id: int
    station_name: str
    assessed_at: datetime | None = None
    n_fail: int = 0
    share: float | None = None
    articles: dict[ArticleKey, str] = field(default_factory=dict)  # key → PASS / FAIL / UNKNOWN / NA

    @property
    def assessed(self) -> bool:
        return self.assessed_at is not None

    def with_status(self, category: str) -> list[str]:
        return [cite_local(*key) for key, status in sorted(self.articles.items(), key=_key_order) if status == category]

    @property
    def failed_articles(self) -> list[str]:
        return self.with_status(FAIL)

    @property
    def unknown_articles(self) -> list[str]:
        return self.with_status(UNKNOWN)


@dataclass
class StationRate:
    id: int
    name: str
    compounds: int = 0
    assessed: int = 0
    compliant: int = 0  # assessed with no failing article
    failing: int = 0  # assessed with at least one failing article
    shares: list[float] = field(default_factory=list)

    @property
    def never_assessed(self) -> int:
        return self.compounds - self.assessed

    @property
    def rate(self) -> float | None:
        return sum(self.shares) / len(self.shares) if self.shares else None


@dataclass
class TrendPoint:
    day: date
    share: float | None
    compounds: int


@dataclass
class Dashboard:
    scope: Scope
    articles: list[ArticleRate]
    stations: list[StationRate]
    compounds: list[CompoundRow]
    trend: list[TrendPoint]

    @property
    def assessed(self) -> list[CompoundRow]:
        return [c for c in self.compounds if c.assessed]

    @property
    def never_assessed(self) -> int:
        return len(self.compounds) - len(self.assessed)

    @property
    def compliant(self) -> int:
        return sum(1 for c in self.assessed if not c.failed_articles)

    @property
    def failing(self) -> int:
        return len(self.assessed) - self.compliant

    @property
    def share(self) -> float | None:
        shares = [c.share for c in self.assessed if c.share is not None]
        return sum(shares) / len(shares) if shares else None

    @property
    def worst(self) -> list[CompoundRow]:
        failing = [c for c in self.assessed if c.failed_articles]
        failing.sort(key=lambda c: (-len(c.failed_articles), -c.n_fail, c.share or 0, c.name))
        return failing[:WORST_LIMIT]

    @property
    def article_keys(self) -> list[ArticleKey]:
        return [(a.article, a.clause) for a in self.articles]


def _key_order(item: tuple[ArticleKey, Any]) -> tuple[int, str]:
    (article, clause), _ = item
    return (article if article is not None else 10_000, clause)


def _mandatory(results: QuerySet[CompoundAssessment]) -> QuerySet[CompoundAssessment]:
    return results.filter(assessment__advisory=False, assessment__pack_name=PACK)


def _share_expr() -> Any:
    passed = F("n_pass") + F("n_recommendation")
    applicable = F(APPLICABLE[0]) + F(APPLICABLE[1]) + F(APPLICABLE[2]) + F(APPLICABLE[3]) + F(APPLICABLE[4])
    return Cast(passed, FloatField()) / NullIf(Cast(applicable, FloatField()), 0.0)


def article_statuses(findings: list[Any]) -> dict[ArticleKey, str]:
    """Per article (per clause for Art 33, as on the compound report) the dashboard category."""
    grouped: dict[ArticleKey, list[str]] = defaultdict(list)
    for item in findings:
        _rule, article, clause, status, _lines = decode_finding(item)
        grouped[(article, clause if article == 33 else "")].append(status)
    return {key: CATEGORY[worst(statuses)] for key, statuses in grouped.items()}


def build(user: Any, scope: Scope) -> Dashboard:
    compounds = compounds_in(user, scope)
    latest = (
        _mandatory(CompoundAssessment.objects.filter(compound=OuterRef("pk")))
        .order_by("-assessed_at", "-id")
        .values("id")
    )
    rows = {
        c["id"]: c
        for c in compounds.annotate(latest_id=Subquery(latest[:1])).values(
            "id", "name", "police_station_id", "police_station__name", "latest_id"
        )
    }
    results = CompoundAssessment.objects.filter(pk__in=[r["latest_id"] for r in rows.values() if r["latest_id"]])
    by_compound = {
        r["compound_id"]: r
        for r in results.annotate(share=_share_expr()).values(
            "compound_id", "assessed_at", "n_fail", "share", "findings"
        )
    }
    compound_rows: list[CompoundRow] = []
    articles: dict[ArticleKey, ArticleRate] = {}
    stations: dict[int, StationRate] = {}
    for cid, c in sorted(rows.items(), key=lambda kv: kv[1]["name"]):
        row = CompoundRow(cid, c["name"], c["police_station_id"], c["police_station__name"])
        station = stations.setdefault(row.station_id, StationRate(row.station_id, row.station_name))
        station.compounds += 1
        result = by_compound.get(cid)
        if result is not None:
            row.assessed_at, row.n_fail, row.share = result["assessed_at"], result["n_fail"], result["share"]
            row.articles = article_statuses(result["findings"])
            for key, category in row.articles.items():
                articles.setdefault(key, ArticleRate(*key)).counts[category] += 1
            station.assessed += 1
            station.failing += bool(row.failed_articles)
            station.compliant += not row.failed_articles
            if row.share is not None:
                station.shares.append(row.share)
        compound_rows.append(row)
    return Dashboard(
        scope=scope,
        articles=[a for _, a in sorted(articles.items(), key=_key_order)],
        stations=sorted(stations.values(), key=lambda s: (s.rate is None, s.rate or 0, s.name)),
        compounds=compound_rows,
        trend=trend(compounds),
    )


def trend(compounds: QuerySet[Compound]) -> list[TrendPoint]:
    """Per day with assessment runs in scope (local time), the average pass share."""
    days = (
        _mandatory(CompoundAssessment.objects.filter(compound__in=compounds.values("pk")))
        .annotate(day=TruncDate("assessed_at"))
        .values("day")
        .annotate(share=Avg(_share_expr()), compounds=Count("compound_id", distinct=True))
        .order_by("-day")[:TREND_DAYS]
    )
    return [TrendPoint(d["day"], d["share"], d["compounds"]) for d in reversed(list(days))]


def status_label(category: str | None) -> str:
    if category is None:
        return _("未评估")
    return str(STATUS_LABELS[Status(category)])
