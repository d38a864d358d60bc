"""Registry reads on the synthetic city, in-process through django.test.Client (the full
middleware stack, session auth, scope filter, serialisation or template rendering).

The limit each figure is divided by: the raw SQL fetching the same rows with psycopg directly,
on its own connection, measured the same way in the same run."""

from __future__ import annotations

import cProfile
import io
import pstats
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from anfang.compounds.models import PART_MODELS, Compound
from anfang.core.choices import OrgKind, Role
from anfang.core.models import Organisation, RoleGrant

from .measure import Timing, repeat

LIST_PATH = "/api/compounds/?limit=50"
LIST_TARGET_MS = 50.0
DETAIL_TARGET_MS = 100.0


@dataclass
class Result:
    name: str
    target_ms: float
    timing: Timing | None = None
    baseline: Timing | None = None
    queries: int | None = None
    problem: str = ""

    @property
    def ratio(self) -> float:
        assert self.timing and self.baseline
        return self.timing.p95 / self.baseline.p95

    def line(self) -> str:
        if self.problem:
            return f"{self.name}: NOT MEASURED — {self.problem}"
        assert self.timing and self.baseline
        verdict = "target met" if self.timing.p95 <= self.target_ms else "TARGET MISSED"
        return (
            f"{self.name} p95 {self.timing.p95:.1f} ms (target {self.target_ms:.0f} ms, {verdict}) "
            f"= {self.ratio:.1f}x raw SQL (p95 {self.baseline.p95:.2f} ms); "
            f"p50 {self.timing.p50:.1f} ms; {self.queries} SQL queries/request; n={len(self.timing.samples_ms)}"
        )


# ---- raw SQL baselines ------------------------------------------------------------------------

SCOPE = """c.police_station_id IN (SELECT id FROM core_organisation WHERE path LIKE %(p)s)
    OR c.community_id IN (SELECT id FROM core_organisation WHERE path LIKE %(p)s)
    OR c.property_company_id IN (SELECT id FROM core_organisation WHERE path LIKE %(p)s)"""

COMPOUND_ROW = """SELECT c.*, s.name, d.name, cm.name, pc.name,
       (SELECT count(*) FROM devices_device v WHERE v.compound_id = c.id)
  FROM compounds_compound c
  JOIN core_organisation s ON s.id = c.police_station_id
  LEFT JOIN core_organisation d ON d.id = s.parent_id
  LEFT JOIN core_organisation cm ON cm.id = c.community_id
  LEFT JOIN core_organisation pc ON pc.id = c.property_company_id"""

RAW_PAGE = f"{COMPOUND_ROW} WHERE {SCOPE} ORDER BY c.name, c.id LIMIT 50"
RAW_COUNT = f"SELECT count(*) FROM compounds_compound c WHERE {SCOPE}"
RAW_DETAIL = f"{COMPOUND_ROW} WHERE c.id = %(pk)s"
RAW_PARTS = [f"SELECT * FROM {m._meta.db_table} WHERE compound_id = %(pk)s ORDER BY name, id" for m in PART_MODELS]


def raw_page(conn: psycopg.Connection, path: str) -> int:
    """The list page the API serves: the total and the first 50 rows with their org names."""
    with conn.cursor() as cur:
        cur.execute(RAW_COUNT, {"p": path + "%"})
        cur.fetchone()
        cur.execute(RAW_PAGE, {"p": path + "%"})
        return len(cur.fetchall())


def raw_detail(conn: psycopg.Connection, pk: int) -> int:
    """The rows the detail page shows: the compound (with org names, device count) and every part."""
    rows = 0
    with conn.cursor() as cur:
        for sql in [RAW_DETAIL, *RAW_PARTS]:
            cur.execute(sql, {"pk": pk})
            rows += len(cur.fetchall())
    return rows


# ---- the app --------------------------------------------------------------------------------


def officer(username: str, role: str, org: Organisation) -> Any:
    user, _ = get_user_model().objects.get_or_create(username=username)
    RoleGrant.objects.get_or_create(user=user, role=role, organisation=org)
    return user


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _check(client: Client, path: str, expect: Callable[[Any], str]) -> tuple[int | None, str]:
    """One request with its SQL counted; a problem description instead of timing a broken page."""
    try:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
    except Exception as exc:  # an unfinished endpoint raises (missing template, import error …)
        return None, f"{path} raised {type(exc).__name__}: {exc}"[:300]
    if response.status_code != 200:
        return None, f"{path} answered HTTP {response.status_code} (endpoint missing or broken)"
    return len(queries), expect(response)


def _expect_page(visible: int) -> Callable[[Any], str]:
    def check(response: Any) -> str:
        try:
            data = response.json()
        except ValueError:
            return "response is not JSON"
        items = data.get("items", data) if isinstance(data, dict) else data
        count = data.get("count") if isinstance(data, dict) else None
        if len(items) != min(50, visible) or count not in (None, visible):
            return f"unexpected page: {len(items)} items, count {count}, expected {min(50, visible)} of {visible}"
        return ""

    return check


def _expect_html(response: Any) -> str:
    return "" if b"<html" in response.content.lower() else "response is not an HTML page"


def measure(
    name: str,
    client: Client,
    paths: list[str],
    baseline: Callable[[int], object],
    expect: Callable[[Any], str],
    target_ms: float,
    n: int,
    warmup: int,
) -> Result:
    result = Result(name, target_ms)
    result.queries, result.problem = _check(client, paths[0], expect)
    if result.problem:
        return result
    result.timing = repeat(lambda i: client.get(paths[i % len(paths)]), n, warmup)
    result.baseline = repeat(baseline, n, warmup)
    return result


def profile(client: Client, paths: list[str], n: int, top: int = 25) -> str:
    """cProfile of n requests, the functions that dominate by cumulative time."""
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        client.get(paths[i % len(paths)])
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def run(dsn: str, n: int, warmup: int, *, seed: int = 42, profile_requests: int = 0) -> tuple[list[Result], str]:
    city = Organisation.objects.get(kind=OrgKind.CITY_BUREAU)
    station = Organisation.objects.filter(kind=OrgKind.POLICE_STATION).order_by("pk").first()
    assert station is not None
    users = {
        "police-city": (officer("bench-police-city", Role.POLICE_CITY, city), city),
        "police-station": (officer("bench-police-station", Role.POLICE_STATION, station), station),
    }
    rng = random.Random(seed)
    all_pks = list(Compound.objects.values_list("pk", flat=True))
    detail_pks = [rng.choice(all_pks) for _ in range(n)]
    results, profiles = [], []
    with psycopg.connect(dsn, autocommit=True) as raw:
        for label, (user, org) in users.items():
            visible = Compound.objects.visible_to(user).count()
            client = logged_in(user)
            results.append(
                measure(
                    f"registry list API GET {LIST_PATH} as {label} ({visible:,} visible)",
                    client,
                    [LIST_PATH],
                    lambda _i, path=org.path: raw_page(raw, path),
                    _expect_page(visible),
                    LIST_TARGET_MS,
                    n,
                    warmup,
                )
            )
            if profile_requests and not results[-1].problem:
                profiles.append(f"## {results[-1].name}\n" + profile(client, [LIST_PATH], profile_requests))
        client = logged_in(users["police-city"][0])
        detail_paths = [f"/compounds/{pk}/" for pk in detail_pks]
        results.append(
            measure(
                f"compound detail page GET /compounds/<pk>/ as police-city ({len(set(detail_pks))} random compounds)",
                client,
                detail_paths,
                lambda i: raw_detail(raw, detail_pks[i % len(detail_pks)]),
                _expect_html,
                DETAIL_TARGET_MS,
                n,
                warmup,
            )
        )
        if profile_requests and not results[-1].problem:
            profiles.append(f"## {results[-1].name}\n" + profile(client, detail_paths, profile_requests))
    return results, "\n".join(profiles)
