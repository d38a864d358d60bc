from django.urls import path

from . import views

app_name = "alarms"
urlpatterns = [
    path("mine/", views.mine, name="mine"),
    path("<int:pk>/", views.detail, name="detail"),
    *(path(f"<int:pk>/{action}/", views.perform, {"action": action}, name=action) for action in views.ACTIONS),
]
