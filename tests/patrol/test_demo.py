"""The demo seed builds patrols that evaluate, and a second run adds nothing."""

from __future__ import annotations

import pytest

from anfang.core.choices import Role
from anfang.patrol import demo
from anfang.patrol.models import Checkin, Checkpoint, PatrolRun
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_evaluated(world):
    guard = f.user_with(Role.GUARD, organisation=world["community"], username="guard")
    compounds = [world["cx"], world["cu"]]
    demo.seed(compounds, {"guard": guard})
    counts = (Checkpoint.objects.count(), PatrolRun.objects.count(), Checkin.objects.count())
    assert counts[0] == 10 and counts[1] > 20 and counts[2] > 50
    closed = PatrolRun.objects.exclude(closed_at=None)
    assert closed.exists() and not closed.filter(evaluated_at=None).exists()
    assert closed.filter(status="completed").exists()
    assert Checkin.objects.filter(guard=guard).exists()  # the community guard walks the unmanaged compound
    demo.seed(compounds, {"guard": guard})
    assert (Checkpoint.objects.count(), PatrolRun.objects.count(), Checkin.objects.count()) == counts
