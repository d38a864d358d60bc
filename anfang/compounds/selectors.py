"""Read helpers shared by the pages, the API and reports."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, models

from .models import PART_MODELS, Compound


def counted_models() -> dict[str, type[models.Model]]:
    """What a compound's counts cover: every kind of part (by related name), and devices."""
    from anfang.devices.models import Device

    return {**{str(m._meta.default_related_name): m for m in PART_MODELS}, "devices": Device}


def part_counts(compound_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Rows per kind for each compound, in ONE query for a page of compounds. (Annotating twelve
    count subqueries on the list query cost more to build in the ORM than to run.)"""
    ids = list(compound_ids)
    kinds = counted_models()
    counts = {pk: dict.fromkeys(kinds, 0) for pk in ids}
    if not ids:
        return counts
    # PostgreSQL takes the ids as one array parameter (binding 12 × page-size scalars costs more
    # than the counting); SQLite has no arrays and binds them cheaply.
    params: list[Any]
    if connection.vendor == "postgresql":
        match, params = "= ANY(%s)", [ids]
    else:
        match, params = f"IN ({', '.join(['%s'] * len(ids))})", list(ids)
    union = " UNION ALL ".join(
        f"SELECT '{rel}', compound_id, COUNT(*) FROM {connection.ops.quote_name(model._meta.db_table)} "
        f"WHERE compound_id {match} GROUP BY compound_id"
        for rel, model in kinds.items()
    )
    with connection.cursor() as cursor:
        cursor.execute(union, params * len(kinds))
        for rel, compound_id, n in cursor.fetchall():
            counts[compound_id][rel] = n
    return counts


def with_counts(compounds: Iterable[Compound]) -> list[Compound]:
    """Attach `counts` (and `device_count`) to each compound of a page."""
    page = list(compounds)
    counts = part_counts(c.pk for c in page)
    for compound in page:
        compound.counts = counts[compound.pk]  # type: ignore[attr-defined]
        compound.device_count = compound.counts["devices"]  # type: ignore[attr-defined]
    return page
