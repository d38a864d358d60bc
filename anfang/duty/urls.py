from django.urls import path

from . import views, views_records

app_name = "duty"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.compound_overview, name="compound"),
    path("<int:pk>/sign-on/", views.sign_on, name="sign_on"),
    path("session/<int:pk>/sign-off/", views.sign_off, name="sign_off"),
    path("<int:pk>/roster/", views.roster, name="roster"),
    path("<int:pk>/log/", views.duty_log, name="log"),
    path("<int:pk>/coverage/", views_records.coverage, name="coverage"),
    path("<int:pk>/records/", views_records.record_list, name="records"),
    path("<int:pk>/records/today/", views_records.record_today, name="record_today"),
    path("<int:pk>/records/<str:day>/", views_records.record, name="record"),
    path("<int:pk>/records/<str:day>/keep/", views_records.record_keep, name="record_keep"),
    path("<int:pk>/records/<str:day>.pdf", views_records.record_pdf, name="record_pdf"),
]
