from __future__ import annotations

from django.urls import path

from server.lending import views

app_name = "lending"

urlpatterns = [
    path("", views.index, name="index"),
    path("export.csv", views.loans_csv, name="loans_csv"),
    path("cijfers/", views.numbers, name="numbers"),
    path("cijfers.csv", views.numbers_csv, name="numbers_csv"),
    path("uitlenen/", views.lend, name="lend"),
    path("leningen/<int:pk>/", views.loan_detail, name="loan"),
    path("leningen/<int:pk>/overeenkomst.pdf", views.agreement_pdf, name="agreement"),
    path("leningen/<int:pk>/terug", views.check_in, name="check_in"),
    path("ontleners/", views.borrowers, name="borrowers"),
    path("ontleners/<int:pk>/", views.borrower_detail, name="borrower"),
    path("sessies/", views.sessions, name="sessions"),
    path("sessies/<int:pk>/", views.session_detail, name="session"),
    path("herinneringen/", views.reminders, name="reminders"),
]
