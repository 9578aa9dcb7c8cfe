from __future__ import annotations

from django.urls import path

from server.enrolment import views

app_name = "enrolment"

urlpatterns = [
    path("", views.station_list, name="stations"),
    path("koppelen/", views.pair, name="pair"),
    path("koppelen/<int:pk>/", views.decide, name="decide"),
    path("<int:pk>/revoke", views.station_revoke, name="revoke"),
    path("<int:pk>/rename", views.station_rename, name="rename"),
    path("<int:pk>/suspend", views.station_suspend, name="suspend"),
]
