"""Login throttling: too many wrong passwords for one account or from one address lock
that account or address out for a while, even with the right password.

Counts live in the database (``LoginFailure``) so all server workers share them; a
successful login clears the account's failures.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from server.web.login_models import LoginFailure


def client_address(request: HttpRequest) -> str:
    """The caller's address; behind a configured proxy, the one the proxy saw."""
    if settings.DIGIBENCH_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return str(hops[-1])[:64]  # the proxy appends the real peer last
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def _window_start() -> Any:
    return timezone.now() - timedelta(seconds=settings.DIGIBENCH_LOGIN_LOCKOUT_SECONDS)


def locked_out(username: str, address: str) -> bool:
    since = _window_start()
    recent = LoginFailure.objects.filter(at__gte=since)
    per_account: int = settings.DIGIBENCH_LOGIN_FAILURES_PER_ACCOUNT
    per_address: int = settings.DIGIBENCH_LOGIN_FAILURES_PER_ADDRESS
    return (
        recent.filter(username=username).count() >= per_account
        or recent.filter(address=address).count() >= per_address
    )


class ThrottledAuthenticationForm(AuthenticationForm):
    throttled = False
    error_messages = {  # noqa: RUF012  (Django's own declaration)
        **AuthenticationForm.error_messages,
        "throttled": _(
            "Too many failed login attempts. Wait %(minutes)s minutes and try again, "
            "or ask an administrator."
        ),
    }

    def clean(self) -> dict[str, Any]:
        username = (self.cleaned_data.get("username") or "").strip().lower()[:150]
        address = client_address(self.request) if self.request is not None else ""
        if username and locked_out(username, address):
            self.throttled = True
            minutes = max(1, settings.DIGIBENCH_LOGIN_LOCKOUT_SECONDS // 60)
            raise forms.ValidationError(
                self.error_messages["throttled"], code="throttled", params={"minutes": minutes}
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if username:
                LoginFailure.objects.filter(at__lt=_window_start()).delete()  # stays small
                LoginFailure.objects.create(username=username, address=address)
            raise
        LoginFailure.objects.filter(username=username).delete()
        return cleaned


class ThrottledLoginView(LoginView):
    form_class = ThrottledAuthenticationForm
    template_name = "web/login.html"

    def form_invalid(self, form: Any) -> Any:
        response = super().form_invalid(form)
        if getattr(form, "throttled", False):
            response.status_code = 429
        return response
