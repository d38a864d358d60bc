"""Concurrent appends make one valid chain: threads and separate processes on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections

from anfang.audit.choices import AuditAction
from anfang.audit.models import AuditEntry
from anfang.audit.services import record, verify

ROOT = Path(__file__).resolve().parents[2]
WRITER = """
import django, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anfang.settings")
django.setup()
from anfang.audit.services import record
for i in range(int(sys.argv[1])):
    record(None, "view", "events.picture", f"{sys.argv[2]}-{i}")
"""


def _on_postgres() -> None:
    # The single-statement append under an advisory lock is PostgreSQL's path; the SQLite run of
    # the suite skips it like the other PostgreSQL-only tests (CI runs the suite on both).
    if connection.vendor != "postgresql":
        pytest.skip("the concurrent append path is PostgreSQL only")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_threads_appending_at_once_make_one_chain():
    _on_postgres()
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            start.wait()
            for i in range(25):
                record(None, AuditAction.VIEW, "events.picture", f"{worker}-{i}")
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = verify()
    assert result.intact and result.checked == 150
    assert sorted(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, 151))
    # Time order agrees with chain order (the time is taken under the lock).
    times = list(AuditEntry.objects.order_by("seq").values_list("at", flat=True))
    assert times == sorted(times)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_processes_appending_at_once_make_one_chain():
    _on_postgres()
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "ANFANG_DATABASE_URL": url}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, "40", f"p{n}"], cwd=ROOT, env=env, stderr=subprocess.PIPE)
        for n in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    result = verify()
    assert result.intact and result.checked == 80
    assert {e.split("-")[0] for e in AuditEntry.objects.values_list("object_id", flat=True)} == {"p0", "p1"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_async_commit_appends_keep_the_chain_and_do_not_leak_the_setting(settings):
    _on_postgres()
    settings.ANFANG_AUDIT_ASYNC_COMMIT = True
    for i in range(5):
        record(None, AuditAction.VIEW, "events.picture", i)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"  # set for the append's own transaction only
    assert verify().intact and verify().checked == 5
