"""Device push URLs, mounted at /ingest/ (no session, no CSRF: devices authenticate themselves)."""

from django.urls import path

from . import views_ingest

app_name = "ingest"

urlpatterns = [
    path("isapi/", views_ingest.isapi_push, name="isapi"),
    path("isapi/<str:secret>/", views_ingest.isapi_push, name="isapi_secret"),
]
