"""Retention policies with floors, legal holds, purge, video retention evidence (Art 33(2))."""

from django.urls import path

from . import views

app_name = "retention"

urlpatterns = [
    path("", views.policies, name="policies"),
    path("overrides/<int:pk>/delete/", views.override_delete, name="override_delete"),
    path("holds/", views.holds, name="holds"),
    path("holds/<int:pk>/release/", views.hold_release, name="hold_release"),
    path("runs/", views.runs, name="runs"),
    path("runs/start/", views.run_start, name="run_start"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/report.xlsx", views.run_report, name="run_report"),
    path("video/", views.video, name="video"),
]
