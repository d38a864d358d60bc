from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from .api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="compounds:list", permanent=False)),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("compounds/", include("anfang.compounds.urls")),
    path("devices/", include("anfang.devices.urls")),
    path("compliance/", include("anfang.compliance.urls")),
    path("ingest/", include("anfang.events.urls_ingest")),
    path("events/", include("anfang.events.urls")),
    path("console/", include("anfang.console.urls")),
    path("alarms/", include("anfang.alarms.urls")),
    path("duty/", include("anfang.duty.urls")),
    path("police/alarms/", include("anfang.alarms.urls_police")),
    path("patrol/", include("anfang.patrol.urls")),
    path("vehicles/", include("anfang.vehicles.urls")),
    path("uplink/", include("anfang.uplink.urls")),
    path("retention/", include("anfang.retention.urls")),
    path("audit/", include("anfang.audit.urls")),
]
