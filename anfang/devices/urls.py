from django.urls import path

from . import views

app_name = "devices"
urlpatterns = [
    path("", views.device_list, name="list"),
    path("<int:pk>/", views.device_detail, name="detail"),
]
