"""Settings, read from the environment with working defaults.

With nothing set the system runs on a laptop: SQLite and a file-system Celery
broker under var/. DATABASE_URL and CELERY_BROKER_URL switch to PostgreSQL and
Redis, as docker-compose.yml and CI do.
"""

import datetime
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
# Demo mode prints and allows the demo logins; never set in production.
DEMO_MODE = env_bool("DEMO_MODE", False)
TESTING = env_bool("TESTING", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or DEMO_MODE or TESTING:
        SECRET_KEY = "insecure-local-only-key-do-not-use-in-production-0123456789"
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set unless DJANGO_DEBUG or DEMO_MODE is on")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "simple_history",
    "csp",
    "common",
    "accounts",
    "cases",
    "visits",
    "chronologies",
    "supervision",
    "safeguarding",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SessionLimitsMiddleware",
    "accounts.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "accounts.middleware.NoStoreForAuthenticatedMiddleware",
    # Innermost: writes the access log rows the view noted, in one INSERT, after it answers.
    "accounts.access.AccessLogMiddleware",
]

# Permissions-Policy: no page may use the browser features a case record never needs
# (a camera, a microphone, where the phone is, payment, devices plugged in), nor may any
# content embedded in it.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "bluetooth",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

ROOT_URLCONF = "safeguarding.urls"
WSGI_APPLICATION = "safeguarding.wsgi.application"

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
                "accounts.context_processors.session_limits",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'safeguarding.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    # Covering indexes (INCLUDE) are for PostgreSQL; SQLite builds them without the extra
    # columns, which is all a laptop demo needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # PostgreSQL's JIT compiler spent seconds compiling the dashboards' set-based queries
    # to save milliseconds; and with the default random_page_cost (4, for spinning
    # disks) it read whole tables to join a team's few hundred rows that an index finds
    # in microseconds, where the working set is in memory or on SSD as it is here
    # (docs/PERFORMANCE.md). A DATABASE_URL ?options= overrides both.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options", "-c jit=off -c random_page_cost=1.1"
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("govuk", BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"),
    ("moj", BASE_DIR / "node_modules" / "@ministryofjustice" / "frontend" / "moj"),
    ("htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env_str(
            "STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

# --- Sessions (DESIGN.md section 6; OWASP ASVS 4.0.3 V3.3.2) -------------------------
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60)
SESSION_WARNING_SECONDS = env_int("SESSION_WARNING_SECONDS", 5 * 60)
# The stored session outlives the idle limit a little, so the middleware (not a
# silent expiry) ends it and the sign-in page can say why.
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS + 5 * 60
SESSION_SAVE_EVERY_REQUEST = False  # the middleware saves on activity; polling does not
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_ENGINE = "django.contrib.sessions.backends.db"

SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG and not DEMO_MODE)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE_COOKIES)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_COOKIES else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz(/background)?$"]

# --- Content Security Policy (django-csp 4) -----------------------------------------
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}

# --- REST framework ------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: a request with neither gets 401 with `WWW-Authenticate: Token`. DRF
    # answers 401 only if the first class names a challenge; the session's names none
    # (it gave 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Safeguarding case management API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_AUTHENTICATION": [
        "accounts.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # `<id:...>` in API paths (common.api.IdConverter)
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 1, "maximum": 10**18 - 1},
    },
    # Several models have a field called "kind"; each choice set gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "VisitKindEnum": "visits.models.Visit.Kind",
        "MeetingKindEnum": "cases.models.Meeting.Kind",
        "EscalationKindEnum": "cases.models.Escalation.Kind",
        "HazardKindEnum": "cases.models.Hazard.Kind",
        "PlanCategoryEnum": "cases.models.ChildProtectionPlan.Category",
        "ChronologyCategoryEnum": "chronologies.models.Category",
    },
}

# --- Celery ----------------------------------------------------------------------------
_broker_dir = VAR_DIR / "celery-broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("out", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        # The file-system broker is polled; a short interval keeps the demo responsive.
        "polling_interval": 0.2,
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith("redis"):
    # A broker that cannot be reached fails a send in seconds, not after the kernel's
    # minutes-long connect timeout: the request goes on and the sweep does the work.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# The queue tasks are sent to (a worker started with CELERY_QUEUES listens to others).
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Email -------------------------------------------------------------------------------
# In demo mode emails are written to files under var/mail, so no mail server is needed.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.filebased.EmailBackend"
    if DEMO_MODE
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "safeguarding@localhost")
# Seconds an SMTP connection may wait on the server before giving up (connect and each
# reply), so a relay that accepts and never answers cannot hold a worker.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)

# --- Sending notifications by email (docs/DECISIONS.md, "Notifications") ---------------
# Beat runs the send task this often; notify() also queues it when it writes an email.
NOTIFICATIONS_SEND_SECONDS = env_int("NOTIFICATIONS_SEND_SECONDS", 60)
# The Celery queue the send task goes to (bin/worker listens to it by default).
NOTIFICATIONS_QUEUE = env_str("NOTIFICATIONS_QUEUE", "notifications")
# One run of the send task sends for at most this long, claiming this many at a time.
NOTIFICATIONS_SEND_BUDGET_SECONDS = env_int("NOTIFICATIONS_SEND_BUDGET_SECONDS", 60)
NOTIFICATIONS_SEND_BATCH = env_int("NOTIFICATIONS_SEND_BATCH", 20)
# The send task's own time limits: the budget plus room for the email in flight.
NOTIFICATIONS_SEND_SOFT_TIME_LIMIT = NOTIFICATIONS_SEND_BUDGET_SECONDS + 6 * EMAIL_TIMEOUT
NOTIFICATIONS_SEND_TIME_LIMIT = NOTIFICATIONS_SEND_SOFT_TIME_LIMIT + 30
# A claimed email is left to its sender this long; it must outlast the task's hard time
# limit, so a claim never lapses while its sender may still be sending it.
NOTIFICATIONS_CLAIM_SECONDS = env_int("NOTIFICATIONS_CLAIM_SECONDS", 300)
if NOTIFICATIONS_CLAIM_SECONDS <= NOTIFICATIONS_SEND_TIME_LIMIT:
    raise ImproperlyConfigured(
        "NOTIFICATIONS_CLAIM_SECONDS must be longer than the send task's time limit "
        f"({NOTIFICATIONS_SEND_TIME_LIMIT} s: the budget plus 6 x EMAIL_TIMEOUT plus 30)"
    )
# A failed email is tried again after the base, doubling each time up to the cap.
NOTIFICATIONS_RETRY_BASE_SECONDS = env_int("NOTIFICATIONS_RETRY_BASE_SECONDS", 30)
NOTIFICATIONS_RETRY_MAX_SECONDS = env_int("NOTIFICATIONS_RETRY_MAX_SECONDS", 15 * 60)
# An email the mail server refuses this many times (the message, not the connection)
# is set aside as undelivered for an administrator; a server that is down never does that.
NOTIFICATIONS_DEAD_LETTER_AFTER = env_int("NOTIFICATIONS_DEAD_LETTER_AFTER", 5)
# An email still unsent this long after it was written is shown as overdue (/healthz and
# the undelivered emails page).
NOTIFICATIONS_OVERDUE_MINUTES = env_int("NOTIFICATIONS_OVERDUE_MINUTES", 30)

# --- Working days --------------------------------------------------------------------
# Bank holidays of this region from the `holidays` package (UK subdivision code):
# ENG covers England; Wales has the same bank holidays.
WORKDAYS_COUNTRY = env_str("WORKDAYS_COUNTRY", "GB")
WORKDAYS_REGION = env_str("WORKDAYS_REGION", "ENG")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint logs every layout step at INFO; only its warnings are worth keeping.
    "loggers": {"weasyprint.progress": {"level": "WARNING"}},
}

# --- Practice rules (DESIGN.md section 2) ---------------------------------------------
# R1: the number of defaulted visits tolerated; the next one fires an escalation.
DEFAULTED_VISITS_THRESHOLD = env_int("DEFAULTED_VISITS_THRESHOLD", 3)
# R2 / R3: working days to the required meeting.
ESCALATION_DAYS_NO_PLAN = env_int("ESCALATION_DAYS_NO_PLAN", 7)
ESCALATION_DAYS_ON_PLAN = env_int("ESCALATION_DAYS_ON_PLAN", 3)
# R5: how often children must be seen, in working days (a case may override).
VISIT_EVERY_WORKING_DAYS_CP = env_int("VISIT_EVERY_WORKING_DAYS_CP", 10)
VISIT_EVERY_WORKING_DAYS_CIN = env_int("VISIT_EVERY_WORKING_DAYS_CIN", 20)
# R9: formal supervision every N days, and every case with a child on a CP plan
# discussed in supervision at least every N days.
SUPERVISION_FORMAL_EVERY_DAYS = env_int("SUPERVISION_FORMAL_EVERY_DAYS", 28)
SUPERVISION_CP_CASE_EVERY_DAYS = env_int("SUPERVISION_CP_CASE_EVERY_DAYS", 28)
# The sweeps: how often beat runs the escalations sweep and the visits sweep (which
# evaluates every case whose evaluation request is still waiting, however old).
ESCALATION_SWEEP_SECONDS = env_int("ESCALATION_SWEEP_SECONDS", 300)
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# Chronology exports: where files are kept, for how long, and up to how many entries
# an export renders straight away rather than on a worker.
CHRONOLOGY_EXPORT_DIR = Path(env_str("CHRONOLOGY_EXPORT_DIR", str(VAR_DIR / "exports")))
CHRONOLOGY_EXPORT_KEEP_HOURS = env_int("CHRONOLOGY_EXPORT_KEEP_HOURS", 24)
CHRONOLOGY_EXPORT_SYNC_MAX_ENTRIES = env_int("CHRONOLOGY_EXPORT_SYNC_MAX_ENTRIES", 150)
# A long chronology PDF is laid out in parts of this many entries, in at most this many
# processes at once ("fork": children start with everything imported; "spawn" also works).
CHRONOLOGY_PDF_PROCESSES = env_int("CHRONOLOGY_PDF_PROCESSES", 2)
CHRONOLOGY_PDF_CHUNK_ENTRIES = env_int("CHRONOLOGY_PDF_CHUNK_ENTRIES", 250)
CHRONOLOGY_PDF_START_METHOD = env_str("CHRONOLOGY_PDF_START_METHOD", "fork")

# The service dashboard (every team side by side) reads figures worked out by a periodic
# task this often; opened with figures older than the maximum age, it works them out then.
SERVICE_DASHBOARD_REFRESH_SECONDS = env_int("SERVICE_DASHBOARD_REFRESH_SECONDS", 5 * 60)
SERVICE_DASHBOARD_MAX_AGE_SECONDS = env_int("SERVICE_DASHBOARD_MAX_AGE_SECONDS", 15 * 60)

# The sweeps /healthz watches, with the interval each runs at: one that has not finished
# a run for three intervals is reported late (common.sweeps.health).
SWEEPS = {
    "escalations": ESCALATION_SWEEP_SECONDS,
    "visits": ESCALATION_SWEEP_SECONDS,
    "notifications": NOTIFICATIONS_SEND_SECONDS,
}

# Schedules live in code; exactly one beat runs them (docker-compose.yml, bin/run).
# Tasks that must not wait behind the default queue have queues of their own (the
# sweeps, the email sender), so a busy default queue neither delays nor discards them;
# they do not expire: a run that waited still does its work. bin/worker listens to every
# queue unless CELERY_QUEUES says otherwise.
CELERY_SWEEPS_QUEUE = env_str("CELERY_SWEEPS_QUEUE", "sweeps")
CELERY_TASK_ROUTES = {
    "cases.tasks.escalations_sweep": {"queue": CELERY_SWEEPS_QUEUE},
    "visits.tasks.visits_sweep": {"queue": CELERY_SWEEPS_QUEUE},
    "accounts.tasks.notifications_send": {"queue": NOTIFICATIONS_QUEUE},
}
CELERY_BEAT_SCHEDULE = {
    "escalations-sweep": {
        "task": "cases.tasks.escalations_sweep",
        "schedule": ESCALATION_SWEEP_SECONDS,
        "options": {"queue": CELERY_SWEEPS_QUEUE},
    },
    "visits-sweep": {
        "task": "visits.tasks.visits_sweep",
        "schedule": ESCALATION_SWEEP_SECONDS,
        "options": {"queue": CELERY_SWEEPS_QUEUE},
    },
    "dashboards-service-refresh": {
        "task": "safeguarding.tasks.dashboards_refresh_service",
        "schedule": SERVICE_DASHBOARD_REFRESH_SECONDS,
        "options": {"expires": SERVICE_DASHBOARD_REFRESH_SECONDS},
    },
    # Not expiring: a run that waits behind others still sends what is due by then.
    "notifications-send": {
        "task": "accounts.tasks.notifications_send",
        "schedule": NOTIFICATIONS_SEND_SECONDS,
        "options": {"queue": NOTIFICATIONS_QUEUE},
    },
    "chronology-exports-remove-expired": {
        "task": "chronologies.tasks.chronology_exports_remove_expired",
        "schedule": 15 * 60,
        "options": {"expires": 15 * 60},
    },
}

# --- Single sign-on (OpenID Connect) and password sign-in (README, docs/DECISIONS.md) ---
# Microsoft Entra ID or any OpenID provider, through mozilla-django-oidc (accounts/oidc.py).
# The redirect URI to register at the provider is <site>/oidc/callback/.
OIDC_ENABLED = env_bool("OIDC_ENABLED", False)
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "Microsoft")
# The issuer exactly as the provider's ID tokens name it (Entra ID:
# https://login.microsoftonline.com/<tenant id>/v2.0). Endpoints left unset are read from
# <issuer>/.well-known/openid-configuration at first use and kept for the process.
OIDC_OP_ISSUER = env_str("OIDC_OP_ISSUER")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT")
OIDC_OP_LOGOUT_ENDPOINT = env_str("OIDC_OP_LOGOUT_ENDPOINT")
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
# The claim that names the person at the provider, matched against ExternalIdentity:
# `sub` by default; `oid` for Entra ID (the same object id in every application).
OIDC_USER_CLAIM = env_str("OIDC_USER_CLAIM", "sub")
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_STORE_ID_TOKEN = True  # kept in the (server-side) session for id_token_hint at sign-out
OIDC_CREATE_USER = False
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10)
OIDC_VERIFY_SSL = True
OIDC_CLOCK_SKEW_SECONDS = env_int("OIDC_CLOCK_SKEW_SECONDS", 60)
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
if OIDC_ENABLED:
    _missing = [
        name
        for name in ("OIDC_OP_ISSUER", "OIDC_RP_CLIENT_ID", "OIDC_RP_CLIENT_SECRET")
        if not globals()[name]
    ]
    if _missing:
        raise ImproperlyConfigured(f"OIDC_ENABLED needs {', '.join(_missing)}")

# Signing in with a username and password; off, only single sign-on signs anyone in
# (the admin site too), and Django's password backend is not consulted.
PASSWORD_SIGN_IN_ENABLED = env_bool("PASSWORD_SIGN_IN_ENABLED", True)
if not PASSWORD_SIGN_IN_ENABLED and not OIDC_ENABLED:
    raise ImproperlyConfigured("PASSWORD_SIGN_IN_ENABLED off needs OIDC_ENABLED on")
# django-axes' backend comes first: it refuses a locked-out sign-in before any other
# ("Sign-in lockout and API throttling" below).
AUTHENTICATION_BACKENDS = (
    ["axes.backends.AxesStandaloneBackend"]
    + (["django.contrib.auth.backends.ModelBackend"] if PASSWORD_SIGN_IN_ENABLED else [])
    + (["accounts.oidc.ProviderBackend"] if OIDC_ENABLED else [])
)
# Sessions from these backends get their second factor at the identity provider.
SECOND_FACTOR_EXEMPT_BACKENDS = ["accounts.oidc.ProviderBackend"] if OIDC_ENABLED else []


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


if OIDC_ENABLED:
    # Signing out (a form) ends at the provider's end-session endpoint: a redirect the
    # page's form-action must allow.
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] += sorted(
        {_origin(OIDC_OP_ISSUER), _origin(OIDC_OP_LOGOUT_ENDPOINT)} - {""}
    )


# --- Sign-in lockout and API throttling (docs/DECISIONS.md, "Lockout and throttling") ---
# django-axes counts failed sign-ins (the sign-in page and /admin/ alike) per username AND
# client address together: a guesser at one address is stopped after AXES_FAILURE_LIMIT
# tries at one account, and cannot lock the worker out from the worker's own address.
# (AUTHENTICATION_BACKENDS, built above from the sign-in switches, starts with axes'.)
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 15)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The one function that says who the client is (behind the proxy too).
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.axes_client_ip"
AXES_USERNAME_CALLABLE = "accounts.lockout.axes_username"
# A locked-out sign-in gets the sign-in page with the reason, not axes' bare text.
AXES_LOCKOUT_CALLABLE = "accounts.views.sign_in_locked_out"
AXES_HTTP_RESPONSE_CODE = 429
# The pause runs from the failure that caused it: trying again while paused neither
# counts nor lengthens it, so the time the page gives stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Signing in resets the count for that username at that address.
AXES_RESET_ON_SUCCESS = True
# Every failed sign-in is kept (username, address, path, whether it was locked out; the
# password never), besides the counters that lock; axes keeps the last 1,000 per username.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Sign-ins by username and address (AccessLog) are kept; the access log of case views
# (accounts.AccessLog) is the project's own.
AXES_SENSITIVE_PARAMETERS = ["password", "csrfmiddlewaretoken"]
# axes' records are shown read-only by accounts/admin.py instead of axes' own admin.
AXES_ENABLE_ADMIN = False
# axes says what it does with each sign-in at INFO; its warnings (each failure, each
# lockout, with username, address and browser) and accounts.lockout's are what is kept.
LOGGING["loggers"]["axes"] = {"level": "WARNING"}

# The cache: DRF's throttle counters and the API's failed-authentication guard live here,
# so every web process must share it. CACHE_URL names a Redis; with none set, the Redis
# of CELERY_BROKER_URL (same database, keys prefixed "cache") is used; with neither (the
# laptop default) each process has its own memory, which is enough for one process.
# Never call cache.clear() on the shared Redis: it would empty the broker too.
CACHE_URL = env_str("CACHE_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "cache")
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            # A Redis that cannot be reached fails a request's throttle check in a second;
            # the throttles then let the request through (accounts.throttles).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# DRF throttles: per signed-in user, and per address for the anonymous. DRF checks them
# after authentication and permissions, so a request with a bad token or none never
# reaches them: the guard below answers those.
API_THROTTLE_USER = env_str("API_THROTTLE_USER", "240/min")
API_THROTTLE_ANON = env_str("API_THROTTLE_ANON", "30/min")
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "accounts.throttles.AnonRateThrottle",
    "accounts.throttles.UserRateThrottle",
]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"anon": API_THROTTLE_ANON, "user": API_THROTTLE_USER}
# The failed-authentication guard (accounts.middleware.ApiAuthFailureGuardMiddleware): an
# address whose /api/ requests were answered 401 this many times within the window gets
# 429 with Retry-After, before authentication, until the window ends.
API_AUTH_FAILURE_LIMIT = env_int("API_AUTH_FAILURE_LIMIT", 20)
API_AUTH_FAILURE_WINDOW_SECONDS = env_int("API_AUTH_FAILURE_WINDOW_SECONDS", 300)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
    "accounts.middleware.ApiAuthFailureGuardMiddleware",
)


# --- Second factor (django-otp; docs/DECISIONS.md, "A second factor at sign-in") ------
# Every password sign-in asks for a code from an authenticator app (TOTP) or a
# recovery code before the session is signed in (accounts/second_factor.py).
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
# OTPMiddleware sets request.user.is_verified(); the enforcement after it lets a signed-in
# session that has not given a second factor reach only the second-factor pages.
MIDDLEWARE.insert(
    MIDDLEWARE.index("accounts.middleware.SessionLimitsMiddleware") + 1,
    "accounts.second_factor.SecondFactorRequiredMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
# SECOND_FACTOR_EXEMPT_BACKENDS (under "Single sign-on" above) names the backends whose
# sign-ins bring their own second factor (the identity provider's); a session signed in
# through one of them is not asked for a code.
# Seconds between the password and the code (or the end of setting up an app) before
# the half-finished sign-in is forgotten and the password must be given again.
SECOND_FACTOR_PENDING_SECONDS = env_int("SECOND_FACTOR_PENDING_SECONDS", 10 * 60)
# How many single-use recovery codes a user is given at a time.
SECOND_FACTOR_RECOVERY_CODES = env_int("SECOND_FACTOR_RECOVERY_CODES", 10)
# The name authenticator apps show beside the account.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Safeguarding case management")
# After n wrong codes in a row the next is refused for factor x 2^(n-1) seconds
# (django-otp's ThrottlingMixin). Must stay above 0: 0 switches throttling off.
OTP_TOTP_THROTTLE_FACTOR = env_int("OTP_TOTP_THROTTLE_FACTOR", 1)
OTP_STATIC_THROTTLE_FACTOR = env_int("OTP_STATIC_THROTTLE_FACTOR", 1)
if OTP_TOTP_THROTTLE_FACTOR < 1 or OTP_STATIC_THROTTLE_FACTOR < 1:
    raise ImproperlyConfigured("OTP_*_THROTTLE_FACTOR must be 1 or more: 0 turns throttling off")


# --- API credentials (docs/DECISIONS.md, "API credentials") ----------------------------
# Staff API tokens (django-rest-knox): stored as a digest, and ended like a session after
# this long unused or this long in all (by default the session's own limits).
API_TOKEN_IDLE_SECONDS = env_int("API_TOKEN_IDLE_SECONDS", SESSION_IDLE_SECONDS)
API_TOKEN_ABSOLUTE_SECONDS = env_int("API_TOKEN_ABSOLUTE_SECONDS", SESSION_ABSOLUTE_SECONDS)
from datetime import timedelta  # noqa: E402

# The swappable models, named so migrations that point at them resolve.
KNOX_TOKEN_MODEL = "knox.AuthToken"
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oauth2_provider.DeviceGrant"

REST_KNOX = {
    # Clients send `Authorization: Token <token>`, as they did before; a 401 says so.
    "AUTH_HEADER_PREFIX": "Token",
    # A sliding expiry: each use moves it on (at most once a minute, to spare writes),
    # never past the absolute limit from creation.
    "TOKEN_TTL": timedelta(seconds=API_TOKEN_IDLE_SECONDS),
    "AUTO_REFRESH": True,
    "AUTO_REFRESH_MAX_TTL": timedelta(seconds=API_TOKEN_ABSOLUTE_SECONDS),
    "MIN_REFRESH_INTERVAL": 60,
    "TOKEN_LIMIT_PER_USER": None,
}

# Partner systems (django-oauth-toolkit, the client credentials grant only). Access
# tokens last this long; client secrets are stored hashed.
PARTNER_ACCESS_TOKEN_SECONDS = env_int("PARTNER_ACCESS_TOKEN_SECONDS", 60 * 60)
PARTNER_SCOPES = {"escalations:read": "Open and overdue escalations of the granted teams"}
OAUTH2_PROVIDER = {
    "SCOPES": PARTNER_SCOPES,
    "DEFAULT_SCOPES": [],
    "SCOPES_BACKEND_CLASS": "accounts.partners.PartnerScopes",
    "OAUTH2_VALIDATOR_CLASS": "accounts.partners.PartnerValidator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": PARTNER_ACCESS_TOKEN_SECONDS,
    # RFC 9700 (OAuth 2.0 Security BCP) throughout: access tokens stored as a checksum
    # only, never accepted in a query string; no implicit or password grant; https
    # redirect URIs only (no flow here uses one).
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
# The schema describes the partner endpoints' client credentials flow.
SPECTACULAR_SETTINGS["OAUTH2_FLOWS"] = ["clientCredentials"]
SPECTACULAR_SETTINGS["OAUTH2_TOKEN_URL"] = "/oauth/token/"
SPECTACULAR_SETTINGS["OAUTH2_SCOPES"] = PARTNER_SCOPES


# --- Client addresses behind proxies (the access log, lockouts, API call logs) ---
# Only a peer listed here (addresses or networks: "10.0.0.5, 172.16.0.0/12") may say, in
# X-Forwarded-For, whom it forwarded for; from any other peer the header is ignored. Empty
# (the default): nobody is trusted and the log records the connecting address.
# TRUSTED_PROXY_COUNT: how many proxies stand in front, the listed one included (one TLS
# proxy: 1; a load balancer in front of it: 2). bin/web passes the same list to gunicorn
# as --forwarded-allow-ips, so X-Forwarded-Proto is believed from the same peers.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1)


def _check_trusted_proxies(entries: list[str], count: int) -> None:
    import ipaddress

    from django.core.exceptions import ImproperlyConfigured

    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {entry!r} is not an IP address or network"
            ) from exc
    if count < 1:
        raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 1 or more")


_check_trusted_proxies(TRUSTED_PROXIES, TRUSTED_PROXY_COUNT)


# --- Lone working (R10): check-in, check-out and alerts ---
# An overdue worker's buddy and team managers are alerted this many minutes after the
# time they expected to be out; the service managers if nobody acknowledges within
# LONE_WORKING_SECOND_TIER_MINUTES of that. The check-in form suggests an expected end
# LONE_WORKING_DEFAULT_MINUTES from now. Besides a task scheduled for each check-in's due
# time, the sweep runs every LONE_WORKING_SWEEP_SECONDS: the longest a lost task can
# delay an alert.
LONE_WORKING_GRACE_MINUTES = env_int("LONE_WORKING_GRACE_MINUTES", 15)
LONE_WORKING_SECOND_TIER_MINUTES = env_int("LONE_WORKING_SECOND_TIER_MINUTES", 15)
LONE_WORKING_DEFAULT_MINUTES = env_int("LONE_WORKING_DEFAULT_MINUTES", 60)
LONE_WORKING_SWEEP_SECONDS = env_int("LONE_WORKING_SWEEP_SECONDS", 60)
SWEEPS["lone_working"] = LONE_WORKING_SWEEP_SECONDS
# The check scheduled for each due time goes on the sweeps queue too: it must not wait.
CELERY_TASK_ROUTES["visits.tasks.lone_working_sweep"] = {"queue": CELERY_SWEEPS_QUEUE}
CELERY_TASK_ROUTES["visits.tasks.lone_working_check"] = {"queue": CELERY_SWEEPS_QUEUE}
CELERY_BEAT_SCHEDULE["lone-working-sweep"] = {
    "task": "visits.tasks.lone_working_sweep",
    "schedule": LONE_WORKING_SWEEP_SECONDS,
    "options": {"queue": CELERY_SWEEPS_QUEUE},
}


# --- Written agreements with a family ---
# The review of a written agreement falls due this many working days after it was agreed
# (England's bank holidays and any closure days skipped), unless a date is given.
WRITTEN_AGREEMENT_REVIEW_WORKING_DAYS = env_int("WRITTEN_AGREEMENT_REVIEW_WORKING_DAYS", 20)
