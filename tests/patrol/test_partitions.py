"""patrol_checkin is partitioned by day on received_at on PostgreSQL (retention drops a day)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from anfang.core.partitions import TABLES
from anfang.patrol.models import CHECKINS, Checkin
from anfang.patrol.services import phone_checkins

from .factories import local, site
from .test_checkins import item

pytestmark = pytest.mark.django_db


def test_registered_for_the_maintenance_scheduler():
    assert TABLES["patrol_checkin"] is CHECKINS and CHECKINS.column == "received_at"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitioning is PostgreSQL only")
def test_rows_land_in_their_day_and_a_day_drops_as_a_whole():
    assert CHECKINS.is_partitioned()
    s = site()
    run = s.run(local(2026, 11, 25, 8, 0))
    day = dt.date(2026, 11, 25)
    CHECKINS.create_partition(day)
    t = local(2026, 11, 25, 8, 10)  # 00:10 UTC on the 25th
    [r] = phone_checkins(s.guard, [item(s.checkpoints[0].code, t, run.pk)], now=t)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM patrol_checkin WHERE id = %s", [r.checkin_id])
        assert cursor.fetchone()[0] == "patrol_checkin_p20261125"
    CHECKINS.drop(day)
    assert not Checkin.objects.filter(pk=r.checkin_id).exists()
    run.refresh_from_db()
    assert run.completed_count == 1  # the run's stored result outlives the raw reads


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitioning is PostgreSQL only")
def test_a_day_without_partition_goes_to_the_default_and_moves_later():
    s = site()
    t = local(2026, 11, 20, 8, 10)
    [r] = phone_checkins(s.guard, [item(s.checkpoints[0].code, t)], now=t)
    CHECKINS.create_partition(dt.date(2026, 11, 20))
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM patrol_checkin WHERE id = %s", [r.checkin_id])
        assert cursor.fetchone()[0] == "patrol_checkin_p20261120"
