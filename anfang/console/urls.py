from django.urls import path

from . import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("<int:compound_id>/", views.console, name="compound"),
    path("<int:compound_id>/queue/", views.queue, name="queue"),
    path("<int:compound_id>/events/", views.events, name="events"),
    path("<int:compound_id>/devices/", views.devices, name="devices"),
    path("<int:compound_id>/idle/", views.idle, name="idle"),
    path("<int:compound_id>/stream", views.stream, name="stream"),
]
