from django.urls import include, path

from . import views

app_name = "compounds"
part = "<int:pk>/parts/<slug:slug>/"
urlpatterns = [
    path("", views.compound_list, name="list"),
    path("new/", views.compound_form, name="create"),
    path("<int:pk>/", views.compound_detail, name="detail"),
    path("<int:pk>/edit/", views.compound_form, name="edit"),
    path("<int:pk>/archive/", views.compound_archive, name="archive"),
    path("<int:pk>/delete/", views.compound_delete, name="delete"),
    path(part + "new/", views.part_form, name="part_create"),
    path(part + "<int:part_pk>/edit/", views.part_form, name="part_edit"),
    path(part + "<int:part_pk>/delete/", views.part_delete, name="part_delete"),
    path("", include("anfang.compounds.urls_io")),
]
