from django.urls import path

from . import views, views_pdf

app_name = "compliance"
urlpatterns = [
    path("compound/<int:pk>/", views.compound_report, name="compound_report"),
    path("compound/<int:pk>.pdf", views_pdf.compound_report_pdf, name="compound_pdf"),
    path("compound/<int:pk>.json", views.compound_report_json, name="compound_json"),
    path("compound/<int:pk>/assess/", views.compound_assess, name="compound_assess"),
]
