"""Vehicles and parking (Art 9, 11, 12, 33(2)): lists, passages, occupancy, the console panel, plate search."""

from django.urls import path

from . import views, views_console

app_name = "vehicles"

urlpatterns: list = [
    path("", views.index, name="index"),
    path("<int:compound_id>/", views.compound_home, name="compound"),
    path("<int:compound_id>/passages/", views.passage_list, name="passages"),
    path("<int:compound_id>/occupancy/", views.occupancy_page, name="occupancy"),
    path("<int:compound_id>/<slug:slug>/", views.entry_list, name="list"),
    path("<int:compound_id>/<slug:slug>/new/", views.entry_new, name="new"),
    path("<int:compound_id>/<slug:slug>/export.xlsx", views.entry_export, name="export"),
    path("<int:compound_id>/<slug:slug>/import/", views.entry_import, name="import"),
    path("entries/<slug:slug>/<int:pk>/", views.entry_edit, name="edit"),
    path("entries/<slug:slug>/<int:pk>/delete/", views.entry_delete, name="delete"),
    path("passages/<int:pk>/", views.passage_detail, name="passage"),
    path("passages/<int:pk>/confirm/", views_console.confirm, name="confirm"),
    path("console/<int:compound_id>/", views_console.panel, name="console_panel"),
    path("console/<int:compound_id>/open/", views_console.open_barrier, name="open"),
]

# Plate search (owned by vehicles-search; views_search.py).
from . import views_search  # noqa: E402

urlpatterns += [
    path("search/", views_search.search_page, name="search"),
    path("search/picture/<str:token>/<int:index>/", views_search.search_picture, name="search_picture"),
]
