"""The police uplink status pages (Art 9)."""

from django.urls import path

from . import views

app_name = "uplink"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("messages/", views.message_list, name="messages"),
    path("messages/requeue/", views.bulk_requeue, name="bulk_requeue"),
    path("messages/<int:pk>/", views.message_detail, name="message"),
    path("messages/<int:pk>/requeue/", views.message_requeue, name="requeue"),
]
