from django.urls import path

from . import views_police

app_name = "police_alarms"
urlpatterns = [
    path("", views_police.dashboard, name="dashboard"),
    path("export.xlsx", views_police.export, name="export"),
    path("compound/<int:pk>/", views_police.compound_detail, name="compound"),
]
