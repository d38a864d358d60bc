"""Read helpers shared by the pages, the API and reports."""

from __future__ import annotations

from collections.abc import Iterable

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
    counts = {pk: dict.fromkeys(counted_models(), 0) for pk in ids}
    if not ids:
        return counts
    placeholders = ", ".join(["%s"] * len(ids))
    union = " UNION ALL ".join(
        f"SELECT '{rel}', compound_id, COUNT(*) FROM {connection.ops.quote_name(model._meta.db_table)} "
        f"WHERE compound_id IN ({placeholders}) GROUP BY compound_id"
        for rel, model in counted_models().items()
    )
    with connection.cursor() as cursor:
        cursor.execute(union, ids * len(counted_models()))
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
