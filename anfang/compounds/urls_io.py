"""Excel import/export routes (included by compounds/urls.py)."""

from django.urls import path

from . import views_io

urlpatterns = [
    path("import/", views_io.import_new, name="import"),
    path("import/template.xlsx", views_io.import_template, name="import_template"),
    path("<int:pk>/import/", views_io.import_into, name="import_into"),
    path("<int:pk>/export.xlsx", views_io.export, name="export"),
]
