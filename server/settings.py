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

from server.paths import data_dir, secret_key_file

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
        "NAME": str(data_dir() / "digibench.sqlite3"),
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
    "server.ingest",
    "server.web",
    "server.lending",
]

MIDDLEWARE = [
    "server.ingest.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
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

# The web UI speaks Dutch by default, English on request (the browser or /i18n/setlang/).
LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", "Nederlands"), ("en", "English")]
# First, so the web UI's words win over those of Django's own apps.
LOCALE_PATHS = [str(Path(__file__).resolve().parent / "web" / "locale")]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
#: base URL printed in certificate QR codes, e.g. https://digibench.example.org (else the request's)
DIGIBENCH_PUBLIC_URL = os.environ.get("DIGIBENCH_PUBLIC_URL", "").rstrip("/")
#: months after a borrower's last loan ends before their personal data are pseudonymised
DIGIBENCH_LENDING_RETENTION_MONTHS = float(
    os.environ.get("DIGIBENCH_LENDING_RETENTION_MONTHS", "12")
)
#: the organisation's loan conditions printed on the agreement: a JSON file
#: {"nl": "...", "fr": "...", "en": "..."} (else the built-in conditions)
DIGIBENCH_LOAN_CONDITIONS_FILE = os.environ.get("DIGIBENCH_LOAN_CONDITIONS_FILE", "")
#: where borrowers get help, printed on the hand-over sheet
DIGIBENCH_HELPDESK = os.environ.get("DIGIBENCH_HELPDESK", "")
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "server": {"handlers": ["console"], "level": os.environ.get("DIGIBENCH_LOG_LEVEL", "INFO")}
    },
}
