"""The REST API: one NinjaAPI mounting each app's router. People use their session (with CSRF),
integrations a bearer token; both act as a user and meet the same scope checks as the pages."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, django_auth

from anfang.core.models import ApiToken


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = ApiToken.authenticate(token)
        if api_token is None:
            return None
        request.user = api_token.user
        return api_token.user


api = NinjaAPI(
    title="Anfang API",
    version="1",
    description="小区安防平台接口 — 营政发〔2015〕42号. Session (with X-CSRFToken) or `Authorization: Bearer <token>`.",
    auth=[django_auth, TokenAuth()],
    urls_namespace="api",
    docs_url="/docs",
)


def _error_body(exc: ValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        return {
            "detail": [
                {"loc": ["body", field], "msg": " ".join(str(m) for m in msgs)}
                for field, msgs in exc.message_dict.items()
            ]
        }
    return {"detail": [{"loc": ["body"], "msg": m} for m in exc.messages]}


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(request, _error_body(exc), status=422)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Permission denied"}, status=403)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": "Authentication required"}, status=401)


def _mount() -> None:
    from anfang.compounds.api import router as compounds_router
    from anfang.core.api import router as core_router
    from anfang.devices.api import router as devices_router

    api.add_router("/core", core_router)
    api.add_router("/compounds", compounds_router)
    api.add_router("/devices", devices_router)


_mount()
__all__ = ["api"]
