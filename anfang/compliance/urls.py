from django.urls import path

from . import views, views_dashboard, views_pdf

app_name = "compliance"
urlpatterns = [
    path("", views_dashboard.dashboard, name="dashboard"),
    path("dashboard.xlsx", views_dashboard.dashboard_export, name="dashboard_export"),
    path("run/", views_dashboard.dashboard_run, name="dashboard_run"),
    path("compound/<int:pk>/", views.compound_report, name="compound_report"),
    path("compound/<int:pk>.pdf", views_pdf.compound_report_pdf, name="compound_pdf"),
    path("compound/<int:pk>.json", views.compound_report_json, name="compound_json"),
    path("compound/<int:pk>/assess/", views.compound_assess, name="compound_assess"),
    path("compound/<int:pk>/history/", views.compound_history, name="compound_history"),
    path("compound/<int:pk>/diff/", views.compound_diff, name="compound_diff"),
]
