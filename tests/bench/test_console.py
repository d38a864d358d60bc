"""The console benchmark's harness in quick form: SSE frame parsing, pairing alarms with frames and
pushes, and a smoke run of both parts (page, then latency with a small MQTT background) on the
test database. Nothing is timed here — timing lives in `python -m bench --only console`."""

from __future__ import annotations

import os
import shutil

import pytest
from django.db import connection

from anfang.devices import choices as dc
from bench import console
from tests.bench.test_ingest import dsn
from tests.conftest import require_service
from tests.simulator.conftest import make_device


def test_parse_frame_reads_event_and_json_data():
    assert console.parse_frame(b'id: ab-3\nevent: alarm\ndata: {"id": 7, "compound": 2}') == (
        "alarm",
        {"id": 7, "compound": 2},
    )
    assert console.parse_frame(b"retry: 2000\nevent: hello\ndata: not json") == ("hello", "not json")
    assert console.parse_frame(b": comment") == ("message", None)


def test_phase_pairs_alarms_with_their_first_frame_and_pushes_in_order():
    pushes = [(100.0, 100.010, 200), (100.1, 100.112, 200)]
    p = console.Phase("idle", pushes, alarms=[(1, 100.002), (2, 100.103)], notify_ms=[0.5], notify_sent=1)
    p.settle({1: 100.012, 2: 100.115})
    assert [round(x, 3) for x in p.ingest_ms] == [10.0, 12.0]
    assert [round(x, 3) for x in p.push_ms] == [12.0, 15.0]
    assert p.missed == 0 and p.failed_pushes == 0 and len(p.post_ms) == 2


def test_phase_counts_frames_that_never_came_and_does_not_guess_pairs():
    pushes = [(100.0, 100.01, 200), (100.1, 100.11, 500)]
    p = console.Phase("load", pushes, alarms=[(1, 100.002), (2, 100.2)], notify_ms=[], notify_sent=2)
    p.settle({1: 100.012})
    assert p.missed == 1 and p.failed_pushes == 1
    assert p.push_ms == []  # one push failed yet two alarms: the order pairing would be a guess
    assert [round(x, 3) for x in p.ingest_ms] == [10.0]


def test_quick_config_is_a_smoke_run():
    quick = console.Config.make(True, background_rate=None)
    assert quick.load_seconds <= 5 and quick.background_rate < 1000 and quick.page_requests <= 10
    full = console.Config.make(False, background_rate=3000)
    assert full.background_rate == 3000 and full.open_alarms == 500 and full.page_requests == 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_quick_console_run_on_the_test_database(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the console benchmark runs on PostgreSQL (LISTEN/NOTIFY)")
    require_service("mosquitto", bool(shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")))
    from tests import factories as f

    probe, page, other = f.CompoundFactory(), f.CompoundFactory(), f.CompoundFactory()
    for _ in range(3):
        make_device(probe, dc.DeviceType.CAMERA)
    for _ in range(8):
        make_device(page, dc.DeviceType.CAMERA, vendor=dc.Vendor.DAHUA)
    for device_type in ("household_panel", "access_controller", "camera"):
        make_device(other, device_type, vendor=dc.Vendor.DAHUA)
    f.DutyRoomFactory(compound=page)
    connection.close()
    config = console.Config.make(True, idle_seconds=1, load_seconds=3, background_rate=100)
    report = console.run(dsn(), config)

    assert report.problems == []
    assert report.figures["page_queries"] > 0 and report.figures["page_p95_ms"] > 0
    assert report.figures["alarms_idle"] == 10 and report.figures["alarms_load"] >= 10
    assert report.figures["alarm_p99_ms_idle"] > 0 and report.figures["notify_p99_ms_load"] > 0
    assert report.figures["background_committed_per_s"] > 0
