"""Django settings, all from environment variables so one image serves every deployment.

``DATABASE_URL`` selects the database (PostgreSQL for a city-wide server);
without it the data lives in a SQLite file under ``DIGIBENCH_DATA_DIR``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

from server.paths import data_dir, database_file, secret_key_file

DATA_DIR = data_dir()
SECRET_KEY_FILE = secret_key_file()


def _secret_key() -> str:
    # The CLI writes the key file before Django starts; tests run on a throwaway key.
    env = os.environ.get("DIGIBENCH_SECRET_KEY")
    if env:
        return env
    if SECRET_KEY_FILE.is_file():
        return SECRET_KEY_FILE.read_text().strip()
    return secrets.token_urlsafe(50)


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        db: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
        return db
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(database_file()),
        "OPTIONS": {
            # Writers queue for the lock instead of failing with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


SECRET_KEY = _secret_key()
DEBUG = _flag("DIGIBENCH_DEBUG")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DIGIBENCH_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # its Swagger UI files, served locally (no CDN)
    "server.ingest",
    "server.web",
    "server.enrolment",
    "server.bench",
    "server.lending",
    "server.helpdesk",
]

MIDDLEWARE = [
    "server.ingest.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "server.web.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "server.urls"
WSGI_APPLICATION = "server.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

#: Largest report body the ingest API accepts (bytes); bigger gets 413.
DIGIBENCH_MAX_REPORT_BYTES = int(os.environ.get("DIGIBENCH_MAX_REPORT_BYTES", 8 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = DIGIBENCH_MAX_REPORT_BYTES

# The web UI speaks Dutch by default, French or English on request (the browser or the
# language menu in the header, which posts to /i18n/setlang/).
LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", "Nederlands"), ("fr", "Français"), ("en", "English")]
# First, so the web UI's words win over those of Django's own apps.
LOCALE_PATHS = [str(Path(__file__).resolve().parent / "web" / "locale")]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
#: base URL printed in certificate QR codes, e.g. https://digibench.example.org (else the request's)
DIGIBENCH_PUBLIC_URL = os.environ.get("DIGIBENCH_PUBLIC_URL", "").rstrip("/")
#: the coordinators' clock: "today" on the dashboard, dates on screens and exports
TIME_ZONE = os.environ.get("DIGIBENCH_TIME_ZONE", "Europe/Brussels")
#: who issues the certificates: printed on them and on the public /verify/ page
DIGIBENCH_ORGANISATION = os.environ.get("DIGIBENCH_ORGANISATION", "").strip() or "Digibench"
#: optional logo (PNG or JPEG path) at the head of every certificate
DIGIBENCH_ORGANISATION_LOGO = os.environ.get("DIGIBENCH_ORGANISATION_LOGO", "").strip()
#: months after a borrower's last loan ends before their personal data are pseudonymised
DIGIBENCH_LENDING_RETENTION_MONTHS = float(
    os.environ.get("DIGIBENCH_LENDING_RETENTION_MONTHS", "12")
)
#: the organisation's loan conditions printed on the agreement: a JSON file
#: {"nl": "...", "fr": "...", "en": "..."} (else the built-in conditions)
DIGIBENCH_LOAN_CONDITIONS_FILE = os.environ.get("DIGIBENCH_LOAN_CONDITIONS_FILE", "")
#: where borrowers get help, printed on the hand-over sheet
DIGIBENCH_HELPDESK = os.environ.get("DIGIBENCH_HELPDESK", "")
#: the standard OS image's manifest (an http(s) URL the stations can reach), handed to a
#: station when it is paired: its `[image] source` unless the stick already names one
#: (checked at start-up by server.enrolment.apps)
DIGIBENCH_OS_IMAGE_URL = os.environ.get("DIGIBENCH_OS_IMAGE_URL", "").strip()
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# WhiteNoise serves the admin's and the API docs' files straight from the installed
# packages: no collectstatic step, no CDN, the same under gunicorn as in tests.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# ---------------------------------------------------------------- accounts and sessions
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = int(os.environ.get("DIGIBENCH_SESSION_HOURS", "12")) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = _flag("DIGIBENCH_SESSION_BROWSER_CLOSE")
#: wrong passwords within the lockout window that lock an account / an address
DIGIBENCH_LOGIN_FAILURES_PER_ACCOUNT = int(os.environ.get("DIGIBENCH_LOGIN_MAX_FAILURES", "5"))
DIGIBENCH_LOGIN_FAILURES_PER_ADDRESS = int(
    os.environ.get("DIGIBENCH_LOGIN_MAX_FAILURES_PER_ADDRESS", "20")
)
DIGIBENCH_LOGIN_LOCKOUT_SECONDS = int(os.environ.get("DIGIBENCH_LOGIN_LOCKOUT_MINUTES", "15")) * 60

# ---------------------------------------------------------------- TLS and proxies
#: served over TLS by `digibench-server serve --certfile` (the CLI sets this) ...
DIGIBENCH_TLS = _flag("DIGIBENCH_TLS")
#: ... or behind a reverse proxy that terminates TLS and sets X-Forwarded-Proto
DIGIBENCH_BEHIND_PROXY = _flag("DIGIBENCH_BEHIND_PROXY")
if DIGIBENCH_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = _flag("DIGIBENCH_USE_X_FORWARDED_HOST")
if DIGIBENCH_TLS or DIGIBENCH_BEHIND_PROXY:
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DIGIBENCH_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("DIGIBENCH_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _flag("DIGIBENCH_HSTS_PRELOAD", True)
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DIGIBENCH_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

LOG_LEVEL = os.environ.get("DIGIBENCH_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "server": {"handlers": ["console"], "level": LOG_LEVEL},
        # Every 500 with its traceback goes to the server log (stderr: journald under systemd).
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.security": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
