"""Patrol pages (Art 10, Art 6). The API for phones and readers is anfang/patrol/api.py."""

from django.urls import path

from . import views, views_mobile, views_runs

app_name = "patrol"

urlpatterns = [
    path("", views.index, name="index"),
    # the guard's phone
    path("m/", views_mobile.mobile, name="mobile"),
    path("m/sw.js", views_mobile.service_worker, name="service_worker"),
    path("m/runs/<int:pk>/", views_mobile.mobile_run, name="mobile_run"),
    path("m/runs/<int:pk>/start/", views_mobile.mobile_start, name="mobile_start"),
    path("m/runs/<int:pk>/progress/", views_mobile.mobile_progress, name="mobile_progress"),
    # management
    path("checkpoints/", views.checkpoint_list, name="checkpoints"),
    path("checkpoints/new/", views.checkpoint_edit, name="checkpoint_new"),
    path("checkpoints/<int:pk>/edit/", views.checkpoint_edit, name="checkpoint_edit"),
    path("checkpoints/labels.pdf", views.checkpoint_labels, name="checkpoint_labels"),
    path("routes/", views.route_list, name="routes"),
    path("routes/new/", views.route_edit, name="route_new"),
    path("routes/<int:pk>/", views.route_detail, name="route"),
    path("routes/<int:pk>/edit/", views.route_edit, name="route_edit"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/new/", views.plan_edit, name="plan_new"),
    path("plans/<int:pk>/edit/", views.plan_edit, name="plan_edit"),
    path("teams/", views.team_list, name="teams"),
    path("teams/new/", views.team_edit, name="team_new"),
    path("teams/<int:pk>/edit/", views.team_edit, name="team_edit"),
    # what happened
    path("runs/", views_runs.run_list, name="runs"),
    path("runs/<int:pk>/", views_runs.run_detail, name="run"),
    path("runs/<int:pk>/photos/<str:kind>/<int:item>/", views_runs.run_photo, name="run_photo"),
    path("calendar/", views_runs.run_calendar, name="calendar"),
    path("reports/", views_runs.report, name="report"),
    path("reports/export.xlsx", views_runs.report_xlsx, name="report_xlsx"),
    path("reports/export.pdf", views_runs.report_pdf, name="report_pdf"),
]
