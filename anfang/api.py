"""The REST API: one NinjaAPI mounting each app's router. People use their session (with CSRF),
integrations a bearer token; both act as a user and meet the same scope checks as the pages.

Every error answers `{"detail": …}`: a string, or for 422 a list of `{loc, msg, type}` whose last
`loc` item is the field. Messages follow the request language (zh-Hans by default)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext, ngettext
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationErrorContext
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth

from anfang.core.models import ApiToken


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = ApiToken.authenticate(token)
        if api_token is None:
            return None
        request.user = api_token.user
        return api_token.user


class CookieSessionAuth(SessionAuth):
    """Django session auth, CSRF-checked on unsafe methods — but only when a session cookie is
    sent: without one there is nothing to forge, and a bearer call must get the token check (and a
    401), not a CSRF 403."""

    def __call__(self, request: HttpRequest) -> Any:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super().__call__(request)


# Pydantic (type-level) errors are reworded with Django's own messages, which Django already
# translates; the English msgids below are Django's, so zh-Hans comes for free.
_SIMPLE_MESSAGES = {
    "missing": "This field is required.",
    "int": "Enter a whole number.",
    "float": "Enter a number.",
    "decimal": "Enter a number.",
    "finite_number": "Enter a number.",
    "date": "Enter a valid date.",
    "datetime": "Enter a valid date/time.",
    "json_invalid": "Enter a valid JSON.",
}


def _pydantic_message(err: Mapping[str, Any]) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "greater_than_equal":
        return gettext("Ensure this value is greater than or equal to %(limit_value)s.") % {"limit_value": ctx["ge"]}
    if kind == "less_than_equal":
        return gettext("Ensure this value is less than or equal to %(limit_value)s.") % {"limit_value": ctx["le"]}
    if kind in {"literal_error", "enum"}:
        return gettext("Select a valid choice. %(value)s is not one of the available choices.") % {"value": value}
    if kind in {"string_too_long", "too_long"}:
        limit = ctx["max_length"]
        return ngettext(
            "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
            "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
            limit,
        ) % {"limit_value": limit, "show_value": len(value) if isinstance(value, str) else 0}
    if kind == "decimal_max_digits":
        n = ctx["max_digits"]
        return ngettext(
            "Ensure that there are no more than %(max)s digit in total.",
            "Ensure that there are no more than %(max)s digits in total.",
            n,
        ) % {"max": n}
    if kind == "decimal_max_places":
        n = ctx["decimal_places"]
        return ngettext(
            "Ensure that there are no more than %(max)s decimal place.",
            "Ensure that there are no more than %(max)s decimal places.",
            n,
        ) % {"max": n}
    if kind.startswith("bool"):
        return gettext("“%(value)s” value must be either True or False.") % {"value": value}
    if kind == "no_nul":  # our own validator: already in the request language
        return err["msg"]
    simple = _SIMPLE_MESSAGES.get(kind) or _SIMPLE_MESSAGES.get(kind.split("_")[0])
    return gettext(simple or "Enter a valid value.")


def _loc(source: str, loc: tuple) -> list[str | int]:
    # Body params are all named `payload`; drop that name so the field follows "body" directly,
    # as in the errors of model validation.
    parts = list(loc)
    if source == "body" and parts[:1] == ["payload"]:
        parts = parts[1:]
    return [source, *parts]


class AnfangAPI(NinjaAPI):
    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext]
    ) -> NinjaValidationError:
        errors: list[dict[str, Any]] = []
        for context in error_contexts:
            model = context.model
            for err in context.pydantic_validation_error.errors(include_url=False):
                loc = model.__ninja_flatten_map_reverse__.get(err["loc"], err["loc"])
                errors.append(
                    {
                        "loc": _loc(model.__ninja_param_source__, loc),
                        "msg": _pydantic_message(err),
                        "type": err["type"],
                    }
                )
        return NinjaValidationError(errors)


api = AnfangAPI(
    title="Anfang API",
    version="1",
    description=(
        "小区安防平台接口 — 营政发〔2015〕42号. Session (with X-CSRFToken) or `Authorization: Bearer <token>` "
        "(`manage.py issue_token <user> <name>`). Errors: `{detail}`; 422 lists `{loc, msg}` per field. "
        "Messages in zh-Hans, or English with `Accept-Language: en`."
    ),
    # Token first: a valid bearer token needs no CSRF check; session second, CSRF-checked.
    auth=[TokenAuth(), CookieSessionAuth()],
    urls_namespace="api",
    docs_url="/docs",
)


def _error_body(exc: ValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        return {
            "detail": [
                {
                    "loc": ["body"] if field == NON_FIELD_ERRORS else ["body", field],
                    "msg": " ".join(str(m) for m in msgs),
                    "type": "invalid",
                }
                for field, msgs in exc.message_dict.items()
            ]
        }
    return {"detail": [{"loc": ["body"], "msg": m, "type": "invalid"} for m in exc.messages]}


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(request, _error_body(exc), status=422)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or gettext("您没有执行该操作的权限。")}, status=403)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    # Outside the user's scope reads exactly like "does not exist".
    return api.create_response(request, {"detail": gettext("未找到该记录。")}, status=404)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": gettext("请先登录或提供有效的 API 令牌。")}, status=401)


def _mount() -> None:
    from anfang.compliance.api import router as compliance_router
    from anfang.compounds.api import router as compounds_router
    from anfang.core.api import router as core_router
    from anfang.devices.api import router as devices_router
    from anfang.events.api import router as events_router

    api.add_router("/core", core_router)
    api.add_router("/compounds", compounds_router)
    api.add_router("/devices", devices_router)
    api.add_router("/compliance", compliance_router)
    api.add_router("/events", events_router)
    from anfang.vehicles.api import router as vehicles_router

    api.add_router("/vehicles", vehicles_router)
    from anfang.vehicles.api_search import router as vehicles_search_router

    api.add_router("/vehicles/search", vehicles_search_router)
    from anfang.retention.api import router as retention_router

    api.add_router("/retention", retention_router)
    from anfang.patrol.api import router as patrol_router

    api.add_router("/patrol", patrol_router)


_mount()
__all__ = ["api"]
