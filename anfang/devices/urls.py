from django.urls import path

from . import views

app_name = "devices"
urlpatterns = [
    path("", views.device_list, name="list"),
    path("new/", views.device_form, name="create"),
    path("<int:pk>/", views.device_detail, name="detail"),
    path("<int:pk>/edit/", views.device_form, name="edit"),
    path("<int:pk>/delete/", views.device_delete, name="delete"),
]
