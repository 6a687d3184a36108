"""Settings of the small Django app served by the webserver-nginx image.

Everything deployment specific comes from the environment; no secret is
stored in this repository:

* SECRET_KEY: read from the file named by DJANGO_SECRET_KEY_FILE (default
  /run/secrets/django_secret_key) when it exists; otherwise a random key is
  generated when the application starts (uWSGI loads the app once in its
  master before forking, so all workers share it).  A generated key changes
  on every restart, which only invalidates signed data (sessions, CSRF
  tokens, password-reset links); mount a key file to keep it stable.
* Database: DB_HOST (default "db"), DB_PORT (5432), DB_NAME ("app"),
  DB_USER ("app"); the password is the first line of the file named by
  DB_PASSWORD_FILE (default /run/secrets/db_password).
* DJANGO_ALLOWED_HOSTS: comma separated, default
  "app.localhost,localhost,127.0.0.1,app".
* DJANGO_DEBUG=1 enables debug mode (never in production).
* APP_VERSION: shown on the home page ("version: <APP_VERSION>"), so a deploy
  of a new version can be seen through the proxy.
* APP_FAIL_HEALTH=1: /healthz answers 503, so the container's healthcheck fails
  while the app still serves pages: a failed deploy, on purpose.
"""
import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _read_first_line(path):
    """Return (first line of the file, None) or (None, error message)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.readline().rstrip("\r\n"), None
    except OSError as exc:
        return None, f"cannot read {path}: {exc.strerror}"


SECRET_KEY_FILE = os.environ.get("DJANGO_SECRET_KEY_FILE", "/run/secrets/django_secret_key")
_key, _ = _read_first_line(SECRET_KEY_FILE)
SECRET_KEY_SOURCE = "file" if _key else "generated at start"
SECRET_KEY = _key or secrets.token_urlsafe(50)

DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"

APP_VERSION = os.environ.get("APP_VERSION", "") or "unknown"
APP_FAIL_HEALTH = os.environ.get("APP_FAIL_HEALTH", "") == "1"

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get(
        "DJANGO_ALLOWED_HOSTS", "app.localhost,localhost,127.0.0.1,app"
    ).split(",")
    if host.strip()
]

# sessions (with contenttypes, which its migrations expect): the release's migrate
# makes its table, and the stack's nightly job `clearsessions` empties it of expired ones.
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.sessions"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {},
    }
]

DB_PASSWORD_FILE = os.environ.get("DB_PASSWORD_FILE", "/run/secrets/db_password")
_db_password, DB_PASSWORD_ERROR = _read_first_line(DB_PASSWORD_FILE)

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("DB_HOST", "db"),
        "PORT": os.environ.get("DB_PORT", "5432"),
        "NAME": os.environ.get("DB_NAME", "app"),
        "USER": os.environ.get("DB_USER", "app"),
        "PASSWORD": _db_password or "",
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"connect_timeout": 3},
    }
}

# Behind the proxy container, which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "SAMEORIGIN"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Log to stderr (uWSGI's, which is the container's log).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
