from django.urls import path

from . import views, views_deadletters

app_name = "events"
urlpatterns = [
    path("", views.event_list, name="list"),
    path("<int:pk>/", views.event_detail, name="detail"),
    path("<int:pk>/pictures/<int:index>/", views.event_picture, name="picture"),
    path("dead-letters/", views_deadletters.dead_letter_list, name="dead_letters"),
    path("dead-letters/replay/", views_deadletters.dead_letter_bulk_replay, name="dead_letters_replay"),
    path("dead-letters/<int:pk>/", views_deadletters.dead_letter_detail, name="dead_letter"),
    path("dead-letters/<int:pk>/replay/", views_deadletters.dead_letter_replay, name="dead_letter_replay"),
    path("dead-letters/<int:pk>/discard/", views_deadletters.dead_letter_discard, name="dead_letter_discard"),
    path("dead-letters/<int:pk>/body/", views_deadletters.dead_letter_body, name="dead_letter_body"),
]
