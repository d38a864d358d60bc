"""Fixtures of the page tests: the usual world plus a manager of company X and an officer of
station A, and a helper that logs a client in."""

from __future__ import annotations

import pytest

from anfang.core.choices import Role
from tests import factories as f


@pytest.fixture
def manager_x(world):
    return f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x")


@pytest.fixture
def officer_a(world):
    return f.user_with(Role.POLICE_STATION, organisation=world["station_a"], username="officer-a")


@pytest.fixture
def login(client):
    def as_user(user):
        client.force_login(user)
        return client

    return as_user
