from __future__ import annotations

from django.urls import path

from server.helpdesk import views

app_name = "helpdesk"

urlpatterns = [
    path("", views.visits, name="visits"),
    path("<uuid:report_id>/samenvatting.pdf", views.summary_pdf, name="summary_pdf"),
]
