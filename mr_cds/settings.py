"""MR-CDS settings: one module, driven by the environment (CONTRACT section 5).

Defaults are secure: DEBUG is off unless asked for, and SECRET_KEY is then required.
Without DATABASE_URL the app uses a SQLite file; without REDIS_URL, Celery tasks run
in-process.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be an integer, got {value!r}"
        ) from None


def env_secret(name: str, default: str | None = None) -> str | None:
    """Read NAME, or the file named by NAME_FILE (docker secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


DEBUG = env_bool("DEBUG", False)

# Commands that neither serve requests nor sign anything lasting (``evaluate``,
# ``check``, ``migrate``, ...) may run without SECRET_KEY: they get a throwaway key.
OFFLINE_COMMANDS = {
    "evaluate",
    "check",
    "migrate",
    "load_guidelines",
    "makemigrations",
    "spectacular",
    "collectstatic",
    "showmigrations",
}
SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    import secrets
    import sys

    offline = (
        os.path.basename(sys.argv[0]) == "manage.py"
        and len(sys.argv) > 1
        and (sys.argv[1] in OFFLINE_COMMANDS)
    )
    if not DEBUG and not offline:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    if DEBUG:
        SECRET_KEY = "insecure-dev-only-key-do-not-use-in-production"  # noqa: S105
    else:
        SECRET_KEY = secrets.token_urlsafe(50)

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get(
        "ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else ""
    ).split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip()
    for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",")
    if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "simple_history",
    "guidelines",
    "assessments",
    "axes",  # lockout after repeated failed sign-ins
    "csp",  # Content-Security-Policy header
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "assessments.middleware.NoStoreMiddleware",
    "assessments.middleware.AuditMiddleware",
    "assessments.middleware.SessionIdleTimeoutMiddleware",
    "assessments.middleware.ApiClientsOffPagesMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "mr_cds.urls"
WSGI_APPLICATION = "mr_cds.wsgi.application"

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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Fail fast (healthz answers 503, not a hung worker) when PostgreSQL is unreachable.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        # Server-side parameters and prepared statements: PostgreSQL parses and plans
        # each query shape once per connection (the ~110-column assessment INSERT
        # among them), not once per request. Turn off behind a transaction-pooling
        # PgBouncer, which cannot keep prepared statements.
        DATABASES["default"]["OPTIONS"].update(
            server_side_binding=True, prepare_threshold=5
        )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Write-ahead log: a commit is one append and one sync of the log (the journal's
    # create, sync, rewrite and delete otherwise), readers never wait for the writer,
    # and synchronous stays FULL (a committed write survives a power cut). A write
    # transaction takes the write lock at BEGIN, so two workers' writes queue
    # (busy timeout) instead of failing with "database is locked" on lock upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
        transaction_mode="IMMEDIATE",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out users first
    # Django's ModelBackend; the session's user comes with its integration flag.
    "assessments.backends.SessionUserBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or BASE_DIR / "media")
MEDIA_URL = "media/"

# Security headers (effective behind TLS; see `manage.py check --deploy`).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG and env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HTTPS only when DEBUG is off (/healthz stays reachable over plain HTTP for probes).
SECURE_SSL_REDIRECT = not DEBUG and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# HSTS: a year by default when DEBUG is off; 0 turns it off.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Sessions end after SESSION_IDLE_MINUTES without a request (CONTRACT section 6), at
# the latest after SESSION_MAX_HOURS, and when the browser closes.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 15)
SESSION_COOKIE_AGE = env_int("SESSION_MAX_HOURS", 12) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Content-Security-Policy (django-csp): no inline script or style, nothing from other
# origins, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Lockout (django-axes): AXES_FAILURE_LIMIT failed sign-ins of one username from one
# address lock that pair out for AXES_COOLOFF_MINUTES (429), on /login/ and /admin/login/.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = __import__("datetime").timedelta(
    minutes=env_int("AXES_COOLOFF_MINUTES", 15)
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "assessments.audit.client_address"
AXES_HTTP_RESPONSE_CODE = 429

# --- REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "assessments.api.auth.ApiTokenAuthentication",  # knox tokens of API clients
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "assessments.api.schema.ApiSchema",  # strictness, 3 places
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser with a body size and nesting limit (413/400, never 500).
    "DEFAULT_PARSER_CLASSES": ["assessments.api.parsers.LimitedJSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "EXCEPTION_HANDLER": "assessments.api.errors.api_exception_handler",
    # Per API client (token or session user); wrong Bearer tokens per address.
    "DEFAULT_THROTTLE_CLASSES": ["assessments.api.throttles.ApiClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("API_THROTTLE_RATE") or "3000/min",
        "failed_token": os.environ.get("API_FAILED_TOKEN_RATE") or "30/min",
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MR-CDS API",
    "DESCRIPTION": "Clinical decision support for mitral regurgitation (CONTRACT v1).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # none/mild/moderate/severe is shared by several input fields: one enum component.
    "ENUM_NAME_OVERRIDES": {"SeverityWordEnum": "guidelines.vocabulary.SEVERITY_WORDS"},
}
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_TTL": __import__("datetime").timedelta(
        days=env_int("API_TOKEN_TTL_DAYS", 90)
    ),
    "AUTO_REFRESH": False,
}

# --- Cache: Redis when configured (shared by web and workers: the active guideline
# version is cached there), otherwise per-process memory.
CACHES = {
    "default": (
        {
            # Django's backend, with one Redis client per process (mr_cds/cache.py).
            "BACKEND": "mr_cds.cache.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "mr_cds",
            # Short timeouts: the cache is an optimisation, and a Redis outage must not
            # hold a request (callers fall back to the database).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
        }
        if os.environ.get("REDIS_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Celery: Redis when REDIS_URL is set, otherwise in-process.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # An unacknowledged job (its worker was killed) goes back to the queue after this
    # many seconds, checked every 10 s; a job running longer may run twice (harmless:
    # every job is idempotent). A killed worker's report is done ~70 s after.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 60),
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
    # A request that enqueues a job (a PDF report) never waits for a broker that is
    # down: one attempt with a short timeout; the report sweep (beat) sends it later.
    "max_retries": 0,
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BEAT_SCHEDULE = {
    "report-sweep-stale": {
        "task": "assessments.tasks.report_sweep_stale_task",
        "schedule": float(env_int("MR_CDS_REPORT_SWEEP_SECONDS", 60)),
    },
    "idempotency-purge": {
        "task": "assessments.tasks.idempotency_purge_task",
        "schedule": 3600.0,
    },
    # Hash-chains the audit events appended since the last run (appends never wait).
    "audit-seal": {
        "task": "assessments.tasks.audit_seal_task",
        "schedule": 5.0,
    },
}

# --- MR-CDS
MR_CDS_DEMO_PASSWORD = os.environ.get("MR_CDS_DEMO_PASSWORD", "")
MR_CDS_DEFAULT_GUIDELINE = os.environ.get("MR_CDS_DEFAULT_GUIDELINE", "acc_aha_2020")
# Largest echo DICOM SR accepted by the import (bytes; SRs are kilobytes).
ECHO_IMPORT_MAX_BYTES = env_int("ECHO_IMPORT_MAX_BYTES", 2 * 1024 * 1024)

# --- CDS Hooks: the registered EHRs (CONTRACT section 6), a JSON list of {"iss",
# "jwks_url" | "jwks_file", "organization"[, "tenant", "origins"]}; unset: every call 401.
try:
    CDS_HOOKS_CLIENTS = __import__("json").loads(
        os.environ.get("CDS_HOOKS_CLIENTS") or "[]"
    )
except ValueError:
    raise ImproperlyConfigured("CDS_HOOKS_CLIENTS must be a JSON list") from None
# Largest JSON body the API reads (bytes); larger ones answer 413 unread.
MR_CDS_API_MAX_BODY_BYTES = env_int("MR_CDS_API_MAX_BODY_BYTES", 1024 * 1024)
# Hours an Idempotency-Key's first response (patient data) is kept and replayed.
MR_CDS_IDEMPOTENCY_HOURS = env_int("MR_CDS_IDEMPOTENCY_HOURS", 24)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "django.db.backends": {"level": "INFO"},
    },
}
