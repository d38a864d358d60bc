"""The audit demo seed: entries, a pending export request, a verified chain; idempotent."""

from __future__ import annotations

from anfang.audit import demo
from anfang.audit.models import AuditEntry, AuditVerification, ExportRequest


def test_seed_is_idempotent(world, people):
    users = {"property": people["pm_x"], "police-station": people["police_a"]}
    demo.seed([world["cx"], world["cy"]], users)
    demo.seed([world["cx"], world["cy"]], users)
    assert AuditEntry.objects.count() == 3  # picture view, export request, police search
    request = ExportRequest.objects.get()
    assert request.requester == people["pm_x"] and request.compound_ids == [world["cx"].pk]
    assert AuditVerification.objects.get().intact
