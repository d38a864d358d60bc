"""Files and rows together: a picture an ANPR event shares with its (longer kept) vehicle passage
stays; a store that is down is reported and nothing dangles but files, which the sweep collects."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.utils import timezone

from anfang.core import storage
from anfang.events.media import open_picture
from anfang.events.models import Event
from anfang.retention import media
from anfang.retention import purge as p
from anfang.retention.choices import PurgeStatus
from tests import factories as f

from .factories import days_ago, event, picture

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def cam(world):
    return f.DeviceFactory(compound=world["cx"], name="道口", device_type="anpr_camera")


def passage(cam, at, pictures):
    from anfang.vehicles.models import Passage

    return Passage.objects.create(
        compound_id=cam.compound_id, device=cam, captured_at=at, received_at=at, plate="辽H12345", pictures=pictures
    )


def test_a_picture_kept_by_the_vehicle_passage_outlives_the_event(cam):
    pytest.importorskip("anfang.vehicles.models")
    pic = picture("plate")
    gone = event(cam, days_ago(100, NOW), [pic], kind="anpr_passage")
    kept = passage(cam, days_ago(100, NOW), [{**pic, "role": "plate"}])
    done = p.purge(now=NOW)
    assert not Event.objects.filter(pk=gone.pk).exists()
    assert type(kept).objects.filter(pk=kept.pk).exists()  # passages: 180 days by default
    assert open_picture(pic).exists()
    assert done.report["classes"]["events"]["shared_files_kept"] == 1
    # At 200 days the passage goes too, and with it the file.
    p.purge(now=NOW + dt.timedelta(days=100))
    assert not type(kept).objects.filter(pk=kept.pk).exists()
    assert not open_picture(pic).exists()


class DownStore(storage.FileSystemStore):
    def delete(self, ref):
        raise storage.StoreUnavailable("connection refused")


def test_a_store_that_is_down_is_reported_and_the_sweep_collects_later(cam, monkeypatch, media_root):
    pic = picture("down")
    event(cam, days_ago(120, NOW), [pic])
    monkeypatch.setattr(storage, "get_store", lambda: DownStore(media_root))
    done = p.purge(now=NOW, data_class="events")
    assert done.status == PurgeStatus.FAILED
    assert "media store unavailable" in " ".join(done.errors)
    assert not Event.objects.exists()  # the rows went; the file waits for the sweep
    monkeypatch.undo()
    assert open_picture(pic).exists()
    old = time.time() - 2 * 86_400
    os.utime(open_picture(pic), (old, old))
    young = picture("young")  # just written, maybe about to be referenced: left alone
    referenced = picture("referenced")
    os.utime(open_picture(referenced), (old, old))
    event(cam, days_ago(1, NOW), [referenced])
    dry = media.sweep(dry_run=True)
    assert (dry["checked"], dry["files"]) == (2, 1) and open_picture(pic).exists()
    swept = p.purge(now=NOW, data_class="events", sweep=True).report["sweep"]
    assert swept["files"] == 1 and swept["bytes"] == pic["size"]
    assert not open_picture(pic).exists()
    assert open_picture(young).exists() and open_picture(referenced).exists()


def test_refs_of_every_shape():
    assert list(media.refs_of([{"path": "events/a", "size": 3}, {"path": "events/b"}])) == [
        ("events/a", 3),
        ("events/b", 0),
    ]
    assert list(media.refs_of({"path": "events/c", "size": 1})) == [("events/c", 1)]
    assert list(media.refs_of("events/d")) == [("events/d", 0)]
    assert list(media.refs_of(None)) == [] and list(media.refs_of([])) == []
