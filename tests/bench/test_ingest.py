"""The ingest benchmark's harness in quick form: the bare endpoints, the COPY limit, the MQTT flood
with its commit-latency probe and the ISAPI push, on the test database. Nothing is timed here —
timing lives in `python -m bench --only ingest`."""

from __future__ import annotations

import asyncio
import io
import os
import shutil

import pytest
from django.db import connection

from bench import bare, ingest
from tests.conftest import require_service
from tests.simulator.conftest import make_device, sim_dirs  # noqa: F401 (fixture)


def test_bare_asgi_endpoint_reads_the_body_and_answers_json():
    sent = []
    body = [{"type": "http.request", "body": b"<xml/>", "more_body": True}, {"type": "http.request", "body": b""}]

    async def receive():
        return body.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(bare.asgi({"type": "http"}, receive, send))
    assert sent[0]["status"] == 200 and sent[1]["body"] == bare.BODY and not body


def test_bare_wsgi_endpoint_reads_the_body_and_answers_json():
    started = []
    out = bare.wsgi(
        {"wsgi.input": io.BytesIO(b"x" * 100_000), "CONTENT_LENGTH": "100000"},
        lambda status, headers: started.append(status),
    )
    assert started == ["200 OK"] and out == [bare.BODY]


def test_quick_config_is_a_smoke_run():
    quick = ingest.Config.make(True, mqtt_rate=None)
    assert quick.mqtt_seconds <= 5 and quick.copy_rows <= 50_000
    assert ingest.Config.make(False, mqtt_seconds=10).mqtt_seconds == 10


def dsn() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_quick_ingest_run_on_the_test_database(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the ingest benchmark runs on PostgreSQL")
    require_service("mosquitto", bool(shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")))
    from tests import factories as f

    compound = f.CompoundFactory()
    for device_type in ("camera", "camera", "household_panel", "access_controller"):
        make_device(compound, device_type)
    devices = ingest.sim_devices(10, ["mqtt"], tmp_path / "tokens.json")
    hikvision = ingest.sim_devices(10, ["isapi"], tmp_path / "tokens.json")
    assert {d["protocol"] for d in devices} == {"mqtt"} and len(hikvision) == 3
    connection.close()
    url = dsn()

    assert ingest.copy_limit(url, [(d["compound_id"], d["id"]) for d in devices], 2000) > 0

    with ingest.broker() as broker, ingest.workers(url, broker, 1):
        ingest.warm_up(url, broker, devices)
        lat = ingest.latency(url, broker, devices, rate=100, seconds=1, publishers=1)
    assert lat.flood.acked == 100 and lat.flood.lost == 0
    assert len(lat.samples_ms) == 100 and lat.pct(99) > 0  # every committed event was timed

    with ingest.server(url, "gunicorn", "anfang.wsgi:application", workers=1, threads=2) as http:
        run = ingest.push(http, hikvision, seconds=1, concurrency=2, warmup=0.2)
    assert run.requests > 0 and run.errors == 0 and set(run.statuses) == {"2xx"}
