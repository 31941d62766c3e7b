"""MiniTwit settings: one module, every knob from the environment.

Each variable is documented in the table in README.md ("Configuration"). Development
needs no configuration at all; production (MINITWIT_ENV=production) refuses to start
without a real SECRET_KEY.
"""

import contextlib
import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.core.exceptions import ImproperlyConfigured

from sitewide.jsonlog import json_logging
from timeline.parsing import parse_int

BASE_DIR = Path(__file__).resolve().parent.parent


def envstr(name: str, default: str = "") -> str:
    """Return NAME from the environment, or the contents of the file NAME_FILE names.

    The *_FILE form is how Docker secrets arrive (/run/secrets/...).
    """
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false)")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    number = parse_int(value.strip())
    if number is None:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer")
    return number


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def envallowlist(name: str, default: str) -> list[str]:
    """An address allowlist: comma-separated addresses or CIDR networks, or "*" for any,
    as sitewide.client_ip.ip_allowed reads it. Checked here, so a typo stops the start-up
    instead of silently locking clients out (or in)."""
    entries = envlist(name, default)
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {entry!r} is not an address ({exc})") from exc
    return entries


MINITWIT_ENV = os.environ.get("MINITWIT_ENV", "development")
if MINITWIT_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("MINITWIT_ENV must be 'development' or 'production'")
PRODUCTION = MINITWIT_ENV == "production"

# Local state for development (SQLite file, generated secret key); never used in production.
DATA_DIR = Path(os.environ.get("MINITWIT_DATA_DIR", BASE_DIR / "data"))


def _development_secret_key() -> str:
    """A key generated once into the data folder, so `make run` needs no configuration."""
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = envstr("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "MINITWIT_ENV=production needs SECRET_KEY (or SECRET_KEY_FILE); refusing to start."
        )
    SECRET_KEY = _development_secret_key()
elif PRODUCTION and (len(SECRET_KEY) < 32 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured("SECRET_KEY is too weak for production: use 32+ random characters.")

# Off unless asked for (DEBUG=1), in development too: Django's debug pages show settings,
# the URL list and local paths, and `make run` should show what a visitor would see.
DEBUG = envbool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when MINITWIT_ENV=production.")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1]")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("MINITWIT_ENV=production needs ALLOWED_HOSTS.")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "django_prometheus",
    "drf_spectacular_sidecar",
    "sitewide",
    "timeline",
    "simapi",
]
# Sign-in throttling and the Content-Security-Policy (see "Security headers" and
# "Sign-in throttling" below).
INSTALLED_APPS += ["axes", "csp"]

MIDDLEWARE = [
    # Observability first: the metrics middleware times the whole stack, simulator
    # requests are counted with their final status, the request log wraps everything below
    # it, and the probes answer before the host check.
    "sitewide.middleware.MetricsMiddleware",
    "simapi.middleware.SimulatorTrafficMiddleware",
    "sitewide.middleware.RequestLogMiddleware",
    "sitewide.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "sitewide.request_policy.CanonicalPathMiddleware",
    "sitewide.request_policy.CrossOriginProtectionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# The CSP header on every response; axes last, as it requires: it turns a refused sign-in
# into its 429 after every other middleware has run.
MIDDLEWARE += ["csp.middleware.CSPMiddleware", "axes.middleware.AxesMiddleware"]

ROOT_URLCONF = "minitwit_project.urls"
WSGI_APPLICATION = "minitwit_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# Database: DATABASE_URL wins; otherwise an SQLite file in the data folder.
DATABASE_URL = envstr("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'minitwit.sqlite3'}"
if DATABASE_URL.startswith("sqlite:") and not PRODUCTION:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        # Persistent connections: one per gunicorn worker thread, reused across requests.
        # See docs/operations.md for how replicas x workers stay under max_connections.
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
_db_password = envstr("DATABASE_PASSWORD")
if _db_password:
    # Lets the URL stay free of secrets while the password arrives as a Docker secret.
    DATABASES["default"]["PASSWORD"] = _db_password
# Bounded waits (docs/operations.md, "Database timeouts"): the simulator gives a request
# 300 ms, so a database that is down, hung or locked must become a fast 503, not a pile-up
# of gunicorn workers. manage.py lifts the statement and lock limits for operator commands.
DB_CONNECT_TIMEOUT = envint("DB_CONNECT_TIMEOUT", 2)  # seconds; libpq's minimum is 2
DB_STATEMENT_TIMEOUT = envint("DB_STATEMENT_TIMEOUT", 500)  # ms, 0 = none
DB_LOCK_TIMEOUT = envint("DB_LOCK_TIMEOUT", 250)  # ms, 0 = none
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        connect_timeout=DB_CONNECT_TIMEOUT,
        options=f"-c statement_timeout={DB_STATEMENT_TIMEOUT} -c lock_timeout={DB_LOCK_TIMEOUT}",
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web UI and the simulator write concurrently; without a busy timeout SQLite
    # answers "database is locked" at once instead of waiting for the other writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# django-prometheus' wrappers of the same engines count connections, queries, errors and
# query durations (the django_db_* metrics). They subclass Django's backends and keep
# their vendor, so everything that checks connection.vendor behaves the same. PostgreSQL's
# adds a health check without a round trip (minitwit_project/db/base.py).
_PROMETHEUS_DB_ENGINES = {
    "django.db.backends.postgresql": "minitwit_project.db",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}
DATABASES["default"]["ENGINE"] = _PROMETHEUS_DB_ENGINES.get(
    DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"]
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The read cache (timeline/read_cache.py): anonymous timeline pages and the simulator API's
# lists, shared by every worker and replica through Redis, retired on every write. Without
# CACHE_URL (a redis:// URL) nothing is cached. The short socket timeouts keep a failing
# cache server from costing a request more than a few milliseconds (it is then skipped).
CACHE_URL = envstr("CACHE_URL")
READ_CACHE_SECONDS = envint("READ_CACHE_SECONDS", 10)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "reads": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "minitwit:reads",
            "OPTIONS": {"socket_connect_timeout": 0.05, "socket_timeout": 0.05},
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    ),
}

AUTH_USER_MODEL = "timeline.User"
# axes first: it refuses a locked-out sign-in before any password is hashed.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "timeline:login"
LOGIN_REDIRECT_URL = "timeline:timeline"

# Argon2id at OWASP's minimum parameters (see timeline/hashers.py); the legacy Werkzeug
# hasher only verifies imported hashes, which are upgraded on the next successful login.
PASSWORD_HASHERS = [
    "timeline.hashers.MiniTwitArgon2Hasher",
    "timeline.hashers.WerkzeugPBKDF2Hasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# MiniTwit's original sign-up form has no password rules beyond "not empty", and the course
# simulator registers passwords such as "6cl_[\\"; the validators stay off to keep that contract.
AUTH_PASSWORD_VALIDATORS: list[dict] = []

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # The manifest (hashed names, far-future caching) needs collectstatic, which the
        # Dockerfile and `make run` do; tests and `manage.py` in development do without.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if envbool("STATIC_MANIFEST", PRODUCTION)
        else "whitenoise.storage.CompressedStaticFilesStorage",
    },
}

# In development whitenoise serves straight from static/, so an edited stylesheet shows
# without collectstatic (DEBUG is off there too by default).
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    # Without DEBUG, whitenoise prints a warning on every start until the first collectstatic
    # has made this folder; `make run` makes it anyway.
    with contextlib.suppress(OSError):
        STATIC_ROOT.mkdir(parents=True, exist_ok=True)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind the stack's reverse proxy, which terminates TLS and sets X-Forwarded-Proto.
if envbool("BEHIND_TLS_PROXY", PRODUCTION):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Security headers: Content-Security-Policy (django-csp, docs/security.md) ----------------
# The pages have no inline script or style (templates/, the admin's own templates), so
# nothing runs or styles a page but files from this site; avatars come from Gravatar. The
# API docs page (Swagger UI) adds what it needs with a per-view decorator (simapi/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF],
        "style-src": [CSP_SELF],
        "img-src": [CSP_SELF, "https://www.gravatar.com"],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_NONE],
        "form-action": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
    },
}

# Sign-in throttling (django-axes, docs/security.md) ------------------------------------
# Failures are counted in the database, so every replica sees the same count. After 10
# failures for one username, or from one client address, further sign-ins (the site's and
# the admin's) are refused with a 429 for 15 minutes, even with the right password. The
# simulator API does not sign in and is never affected. Staff see and clear lockouts in
# the admin ("Access attempts").
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "sitewide.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "timeline.errors.signin_locked_out"
# Successful sign-ins are in the request log already; a table row for each would only grow.
AXES_DISABLE_ACCESS_LOG = True

# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For we believe when working
# out a client's address for allowlists (sitewide/client_ip.py).
TRUSTED_PROXIES = envlist("TRUSTED_PROXIES", "127.0.0.1,::1")

CSRF_FAILURE_VIEW = "timeline.errors.csrf_failure"

# `check --deploy` warnings that are decisions, not gaps: the stack's nginx
# (deploy/nginx/minitwit.conf.template, tested in deploy/tests/test_nginx.py) redirects HTTP
# to HTTPS with a 308 (W008) and sends Strict-Transport-Security (W004) for every answer;
# CSRF protection is CrossOriginProtectionMiddleware (sitewide/request_policy.py),
# a CsrfViewMiddleware subclass the check does not recognise by name (W003).
SILENCED_SYSTEM_CHECKS = ["security.W003", "security.W004", "security.W008"]

# The admin's URL prefix; moving it off /admin/ keeps drive-by scanners away.
ADMIN_PATH = os.environ.get("ADMIN_PATH", "admin/").strip("/") + "/"

# Simulator API ---------------------------------------------------------------------------
# The course simulator sends exactly these credentials; override them for a private deployment.
SIMULATOR_USERNAME = envstr("SIMULATOR_USERNAME", "simulator")
SIMULATOR_PASSWORD = envstr("SIMULATOR_PASSWORD", "super_safe!")
# Client addresses (or CIDR networks) allowed to use the simulator API, as seen through
# TRUSTED_PROXIES; "*" (also what an empty value means) allows any.
SIMULATOR_ALLOWED_IPS = envallowlist("SIMULATOR_ALLOWED_IPS", "*") or ["*"]

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The simulator API brings its own authentication (simapi/authentication.py); DRF's defaults
    # would look Basic credentials up as Django users on every request.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MiniTwit simulator API",
    "DESCRIPTION": "The ITU DevOps course simulator's protocol. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    # Swagger UI from our own static files (drf-spectacular-sidecar), not a CDN: the docs
    # page works on a server without internet access, and no third party sees its visitors.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "simapi.schema.complete_schema",
    ],
}

# Avatars: "local" draws an identicon per user on this site (timeline/avatars.py), so pages
# make no third-party request; "gravatar" shows Gravatar's pictures, sending each author's
# email hash to gravatar.com on every page view.
AVATARS = os.environ.get("AVATARS", "local")
if AVATARS not in {"local", "gravatar"}:
    raise ImproperlyConfigured(f"AVATARS={AVATARS!r}: use local or gravatar.")

# MiniTwit domain limits ------------------------------------------------------------------
MESSAGES_PER_PAGE = 30
# Request bodies: the largest legitimate one, a sign-up with every field at its limit
# (timeline/validators.py) in 4-byte characters, percent-encoded, is about 110 KB; 1 MiB
# leaves room for a client that sends over-long fields to be told which field is too long.
# Django's default 2.5 MB only lets a client make the server read and parse more. Over it:
# 413 from the API and from the pages.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# Observability ---------------------------------------------------------------------------
# See docs/monitoring.md. Logs: one JSON object per line on stdout (sitewide/jsonlog.py).
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r}: use DEBUG, INFO, WARNING or ERROR.")
LOGGING = json_logging(
    level=LOG_LEVEL,
    filters={
        "request_id": {"()": "sitewide.jsonlog.RequestIdFilter"},
        "capture_request_errors": {"()": "sitewide.jsonlog.CaptureRequestErrors"},
        "security_without_traceback": {"()": "sitewide.jsonlog.SecurityWithoutTraceback"},
    },
    stdout_filters=("request_id", "security_without_traceback"),
    loggers={
        # Replaces Django's default console and mail handlers; records go to the root.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # Per-request lines are ours (RequestLogMiddleware); a 5xx traceback from here
        # becomes a field of that line instead of a second line.
        "django.request": {"filters": ["capture_request_errors"], "propagate": True},
        # runserver's access log would repeat every request line.
        "django.server": {"handlers": ["null"], "propagate": False},
        # At DEBUG this logs every SQL statement with its parameters: session keys and
        # password hashes. Never below INFO.
        "django.db.backends": {"level": "INFO"},
        # Failures and lockouts are WARNINGs; its INFO lines (a banner in every process,
        # a clean-up note per failure) would fill the log and every command's output.
        "axes": {"level": "WARNING"},
    },
)

# /metrics is served to addresses in METRICS_ALLOWED_IPS or to anyone with the
# METRICS_USERNAME/METRICS_PASSWORD Basic credentials, when those are set. Loopback only by
# default, not "the private networks": Swarm's ingress routing mesh hands every public
# client to us from a private 10.0.0.x address. The stack allows its monitoring network.
METRICS_ALLOWED_IPS = envallowlist("METRICS_ALLOWED_IPS", "127.0.0.1,::1")
# The apps' gauges that /metrics computes at scrape time from the database (the apps
# provide them; sitewide/metrics.py, which serves /metrics, imports no app).
METRICS_COLLECTORS = [
    "timeline.metrics.SiteCollector",
    "simapi.metrics.LatestCounterCollector",
]
METRICS_USERNAME = envstr("METRICS_USERNAME")
METRICS_PASSWORD = envstr("METRICS_PASSWORD")
if bool(METRICS_USERNAME) != bool(METRICS_PASSWORD):
    raise ImproperlyConfigured("Set both METRICS_USERNAME and METRICS_PASSWORD, or neither.")
