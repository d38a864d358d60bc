"""The audit hash chain: intact, edited, deleted, reordered, checkpoints, the command (Art 33(5))."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from anfang.audit.choices import AuditAction, BreakKind
from anfang.audit.models import AuditEntry, AuditVerification
from anfang.audit.services import GENESIS, record, verify, verify_and_log
from tests import factories as f


@pytest.fixture
def chain(db):
    user = f.UserFactory(username="auditor")
    return [
        record(user, AuditAction.VIEW, "events.picture", i, compound_id=None, purpose=f"核查 {i}", detail={"i": i})
        for i in range(1, 9)
    ]


def test_intact_chain_verifies(chain):
    result = verify()
    assert result.intact and result.checked == 8 and result.last_seq == 8
    assert [e.seq for e in AuditEntry.objects.order_by("seq")] == list(range(1, 9))
    assert AuditEntry.objects.get(seq=1).prev_hash == GENESIS


def test_fields_survive_the_database_round_trip(db):
    user = f.UserFactory(username="张三")
    record(
        user,
        AuditAction.SEARCH,
        "vehicles.search",
        "x\x00y",
        purpose="案件 2026-11",
        detail={
            "q": "辽H12345",
            "ratio": 0.1,
            "big": 1e20,
            "nested": {"b": [1, 2.5, -1e-7]},
            "when": dt.date(2026, 1, 2),
        },
        remote_addr="2001:0db8:0000:0000:0000:0000:0000:0001",
    )
    record(user, AuditAction.VIEW, "x", remote_addr="not an address")
    entry = AuditEntry.objects.get(seq=1)
    assert entry.remote_addr == "2001:db8::1" and entry.object_id == "xy" and entry.detail["when"] == "2026-01-02"
    assert AuditEntry.objects.get(seq=2).remote_addr is None
    assert verify().intact


def test_time_is_hashed_to_the_microsecond(chain):
    entry = AuditEntry.objects.get(seq=4)
    AuditEntry.objects.filter(pk=entry.pk).update(at=entry.at + dt.timedelta(microseconds=1))
    assert [(b.seq, b.problem) for b in verify().breaks] == [(4, BreakKind.EDITED)]


@pytest.mark.parametrize(
    "change",
    [
        {"purpose": "另有用途"},
        {"actor_name": "someone-else"},
        {"object_id": "99"},
        {"detail": {"i": 999}},
        {"compound_id": 7},
        {"action": AuditAction.EXPORT},
        {"remote_addr": "10.0.0.1"},
    ],
)
def test_edited_entry_is_pinpointed(chain, change):
    AuditEntry.objects.filter(seq=5).update(**change)
    result = verify()
    assert not result.intact
    assert [(b.seq, b.problem) for b in result.breaks] == [(5, BreakKind.EDITED)]


def test_rehashed_edit_breaks_the_next_link(chain):
    """An attacker who recomputes the edited entry's own hash still breaks its successor's link."""
    from anfang.audit.services import _digest, _fields

    entry = AuditEntry.objects.get(seq=3)
    entry.purpose = "改写"
    entry.hash = _digest(entry.seq, entry.at, _fields(entry), entry.prev_hash)
    entry.save()
    assert [(b.seq, b.problem) for b in verify().breaks] == [(3, BreakKind.EDITED)]


def test_deleted_entry_is_pinpointed(chain):
    AuditEntry.objects.filter(seq=6).delete()
    breaks = verify().breaks
    assert [(b.seq, b.problem) for b in breaks] == [(6, BreakKind.DELETED)]
    AuditEntry.objects.filter(seq__in=[2, 3]).delete()
    assert [(b.seq, b.problem) for b in verify().breaks] == [(2, BreakKind.DELETED), (6, BreakKind.DELETED)]
    assert "2–3" in verify().breaks[0].detail


def test_deleted_and_renumbered_is_not_hidden(chain):
    """Deleting entry 4 and moving 5… down one to close the gap: each moved entry is named."""
    AuditEntry.objects.filter(seq=4).delete()
    for seq in range(5, 9):
        AuditEntry.objects.filter(seq=seq).update(seq=seq - 1)
    breaks = verify().breaks
    assert [(b.seq, b.problem) for b in breaks] == [(s, BreakKind.REORDERED) for s in range(4, 8)]
    assert "written as 5" in breaks[0].detail


def test_swapped_entries_are_reported_as_reordered(chain):
    AuditEntry.objects.filter(seq=3).update(seq=-3)
    AuditEntry.objects.filter(seq=4).update(seq=3)
    AuditEntry.objects.filter(seq=-3).update(seq=4)
    result = verify()
    assert [(b.seq, b.problem) for b in result.breaks] == [(3, BreakKind.REORDERED), (4, BreakKind.REORDERED)]


def test_verify_from_a_checkpoint_after_a_purged_prefix(chain):
    checkpoint = AuditEntry.objects.get(seq=3)
    AuditEntry.objects.filter(seq__lte=3).delete()
    assert [(b.seq, b.problem) for b in verify().breaks] == [(1, BreakKind.DELETED)]
    result = verify(start=(3, checkpoint.hash))
    assert result.intact and result.checked == 5 and result.start_seq == 3
    # A wrong checkpoint hash (the prefix was not what the purge log says) is a break at seq 4.
    assert [(b.seq, b.problem) for b in verify(start=(3, "f" * 64)).breaks] == [(4, BreakKind.EDITED)]


def test_truncated_tail_is_caught_by_the_last_verification(chain):
    verify_and_log()
    AuditEntry.objects.filter(seq__gte=7).delete()
    result, run = verify_and_log()
    assert [(b.seq, b.problem) for b in result.breaks] == [(8, BreakKind.DELETED)]
    assert not run.intact and run.breaks[0]["problem"] == "deleted"


def test_command_reports_intact_chain(chain, capsys):
    call_command("audit_verify")
    out = capsys.readouterr().out
    assert "intact: 8 entries" in out
    assert AuditVerification.objects.get().intact


def test_command_exits_non_zero_and_names_the_seq(chain, capsys):
    AuditEntry.objects.filter(seq=2).update(purpose="x")
    AuditEntry.objects.filter(seq=5).delete()
    with pytest.raises(CommandError, match="2 problem"):
        call_command("audit_verify")
    err = capsys.readouterr().err
    assert "seq 2: edited" in err and "seq 5: deleted" in err


def test_command_checkpoint_arguments(chain, capsys):
    head = AuditEntry.objects.get(seq=2)
    AuditEntry.objects.filter(seq__lte=2).delete()
    call_command("audit_verify", "--start-seq", "2", "--start-hash", head.hash)
    assert "intact: 6 entries (seq 3–8)" in capsys.readouterr().out
    with pytest.raises(CommandError, match="go together"):
        call_command("audit_verify", "--start-seq", "2")


def test_empty_chain_is_intact(db):
    result = verify()
    assert result.intact and result.checked == 0


def test_command_starts_from_the_retention_checkpoint(chain, capsys):
    from django.apps import apps

    checkpoint = apps.get_model("retention", "AuditCheckpoint")
    last = AuditEntry.objects.get(seq=3)
    AuditEntry.objects.filter(seq__lte=3).delete()
    checkpoint.objects.create(seq=3, hash=last.hash, at=last.at)
    call_command("audit_verify")
    assert "intact: 5 entries (seq 4–8)" in capsys.readouterr().out
