"""API test helpers: a JSON client acting with a bearer token, and the usual users."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from anfang.core.choices import Role
from anfang.core.models import ApiToken
from tests import factories as f


class ApiClient:
    """Django's test client speaking JSON to /api/ as one token's user (or anonymously)."""

    def __init__(self, token: str | None = None, language: str | None = None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if language:
            self.headers["Accept-Language"] = language

    def _call(self, method: str, path: str, body: Any = None, **params: Any):
        kwargs: dict[str, Any] = {"headers": self.headers}
        if method == "get":
            kwargs["data"] = {k: v for k, v in params.items() if v is not None}
        elif body is not None:
            kwargs.update(data=body, content_type="application/json")
        return getattr(self.client, method)(f"/api{path}", **kwargs)

    def get(self, path: str, **params: Any):
        return self._call("get", path, **params)

    def post(self, path: str, body: Any = None):
        return self._call("post", path, body)

    def patch(self, path: str, body: Any):
        return self._call("patch", path, body)

    def delete(self, path: str):
        return self._call("delete", path)


def client_for(user, language: str | None = None) -> ApiClient:
    _token, raw = ApiToken.issue(user, "tests")
    return ApiClient(raw, language)


@pytest.fixture
def admin(world):
    return f.admin_user()


@pytest.fixture
def manager_x(world):
    return f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x")


@pytest.fixture
def officer_a(world):
    return f.user_with(Role.POLICE_STATION, organisation=world["station_a"], username="officer-a")


@pytest.fixture
def as_admin(admin) -> ApiClient:
    return client_for(admin)


@pytest.fixture
def as_manager_x(manager_x) -> ApiClient:
    return client_for(manager_x)


@pytest.fixture
def as_officer_a(officer_a) -> ApiClient:
    return client_for(officer_a)


def fields_in(response) -> set[str]:
    """The field names a 422 response complains about."""
    assert response.status_code == 422, response.content
    return {str(e["loc"][-1]) for e in response.json()["detail"]}
