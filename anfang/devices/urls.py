from django.urls import path

from . import views

app_name = "devices"
urlpatterns = [
    path("", views.device_list, name="list"),
    path("new/", views.device_form, name="create"),
    path("<int:pk>/", views.device_detail, name="detail"),
    path("<int:pk>/edit/", views.device_form, name="edit"),
    path("<int:pk>/delete/", views.device_delete, name="delete"),
    path("<int:pk>/ingest/token/", views.device_ingest_token, name="ingest_token"),
    path("<int:pk>/ingest/path/", views.device_ingest_path, name="ingest_path"),
    path("<int:pk>/ingest/enabled/", views.device_ingest_enabled, name="ingest_enabled"),
]
