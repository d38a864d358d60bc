from django.urls import include, path

from . import views

app_name = "compounds"
urlpatterns = [
    path("", views.compound_list, name="list"),
    path("<int:pk>/", views.compound_detail, name="detail"),
    path("", include("anfang.compounds.urls_io")),
]
