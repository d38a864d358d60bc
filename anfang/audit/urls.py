from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.entry_list, name="list"),
    path("verify/", views.verify_now, name="verify"),
    path("exports/", views.export_list, name="exports"),
    path("exports/new/", views.export_new, name="export_new"),
    path("exports/queue/", views.export_queue, name="export_queue"),
    path("exports/<int:pk>/", views.export_detail, name="export"),
    path("exports/<int:pk>/approve/", views.export_decide, {"decision": "approve"}, name="export_approve"),
    path("exports/<int:pk>/reject/", views.export_decide, {"decision": "reject"}, name="export_reject"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
]
