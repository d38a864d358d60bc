"""`manage.py issue_token`: the raw token is printed once, only its hash is stored; --revoke."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from anfang.core.models import ApiToken, hash_token

from .conftest import ApiClient

pytestmark = pytest.mark.django_db


def issue(*args: str) -> str:
    out = StringIO()
    call_command("issue_token", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_issue_prints_a_working_token_and_stores_only_its_hash(world, manager_x):
    raw = issue("mgr-x", "video-platform")
    token = ApiToken.objects.get(user=manager_x)
    assert token.name == "video-platform"
    assert token.token_hash == hash_token(raw)
    assert raw not in {token.token_hash, token.prefix, token.name}
    assert raw.startswith("afg_") and raw[4:12] == token.prefix
    assert ApiClient(raw).get("/core/me").json()["user"]["username"] == "mgr-x"


def test_revoke_by_prefix(world, manager_x):
    raw = issue("mgr-x", "old")
    keep = issue("mgr-x", "new")
    out = issue("mgr-x", "--revoke", raw[:12])  # with or without the afg_ prefix
    assert "1" in out
    assert ApiClient(raw).get("/core/me").status_code == 401
    assert ApiClient(keep).get("/core/me").status_code == 200
    with pytest.raises(CommandError):
        issue("mgr-x", "--revoke", raw[4:12])  # already revoked


def test_errors(world, manager_x):
    with pytest.raises(CommandError):
        issue("nobody", "x")
    with pytest.raises(CommandError):
        issue("mgr-x")  # no name
