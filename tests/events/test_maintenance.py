"""events_maintain: dedup keys expire after the window; the spool is replayed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from anfang.events import spool, writer
from anfang.events.ingest import normalise
from anfang.events.maintenance import maintain
from anfang.events.models import Event, EventKey

from .conftest import incoming

pytestmark = pytest.mark.django_db(transaction=True)


def test_keys_older_than_the_window_expire_and_a_late_redelivery_is_stored_again(camera, settings):
    settings.ANFANG_DEDUP_WINDOW_HOURS = 1
    old = timezone.now() - dt.timedelta(hours=2)
    writer.write([normalise(incoming(camera, external_id="a", received_at=old, occurred_at=old), old)])
    writer.write([normalise(incoming(camera, external_id="b"), timezone.now())])
    report = maintain()
    assert report.keys_expired == 1 and EventKey.objects.count() == 1
    again = writer.write([normalise(incoming(camera, external_id="a", received_at=old, occurred_at=old), old)])
    assert again[0].status == "stored" and Event.objects.count() == 3


def test_command_replays_the_spool(camera, capsys):
    spool.append("events", [normalise(incoming(camera, external_id="s"), timezone.now()).as_record()])
    call_command("events_maintain")
    assert "spooled batches replayed: 1" in capsys.readouterr().out
    assert Event.objects.filter(external_id="s").exists()
