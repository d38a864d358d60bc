"""Settings from environment variables (12-factor). Defaults give a working SQLite demo."""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ANFANG_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("ANFANG_DEBUG", True)
SECRET_KEY = os.environ.get("ANFANG_SECRET_KEY", "dev-only-insecure-key-change-me")
if not DEBUG and SECRET_KEY.startswith("dev-only"):
    raise RuntimeError("Set ANFANG_SECRET_KEY when ANFANG_DEBUG is off.")
ALLOWED_HOSTS = [h for h in os.environ.get("ANFANG_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("ANFANG_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "anfang.core",
    "anfang.compounds",
    "anfang.devices",
    "anfang.compliance",
    "anfang.events",
    "anfang.simulator",
    "anfang.alarms",
    "anfang.duty",
    "anfang.console",
    "anfang.audit",
    "anfang.patrol",
    "anfang.vehicles",
    "anfang.uplink",
    "anfang.retention",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "anfang.urls"
WSGI_APPLICATION = "anfang.wsgi.application"
ASGI_APPLICATION = "anfang.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "anfang" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "anfang.core.context_processors.grants",
            ],
        },
    },
]

# SQLite (WAL, see core.apps) under var/ by default; ANFANG_DATABASE_URL=postgres://... for PostgreSQL.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("ANFANG_DATABASE_URL", f"sqlite:///{VAR_DIR / 'anfang.sqlite3'}"),
        conn_max_age=int(os.environ.get("ANFANG_DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
else:
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("ANFANG_TEST_DATABASE_NAME", "test_anfang")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if env_bool("ANFANG_FAST_PASSWORDS", False)
    else ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "compounds:list"
LOGOUT_REDIRECT_URL = "login"

# Chinese first, English available.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "anfang" / "locale"]
USE_I18N = True
# Store UTC, show Asia/Shanghai.
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "anfang" / "static"]
# Serve straight from the finders while developing; `collectstatic` for production.
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("ANFANG_MEDIA_ROOT", VAR_DIR / "media"))
# Media store (anfang/core/storage.py): "fs" under MEDIA_ROOT, or "s3" (any S3-compatible store).
ANFANG_MEDIA_STORE = os.environ.get("ANFANG_MEDIA_STORE", "fs")
ANFANG_S3_ENDPOINT = os.environ.get("ANFANG_S3_ENDPOINT", "")
ANFANG_S3_BUCKET = os.environ.get("ANFANG_S3_BUCKET", "anfang-media")
ANFANG_S3_ACCESS_KEY = os.environ.get("ANFANG_S3_ACCESS_KEY", "")
ANFANG_S3_SECRET_KEY = os.environ.get("ANFANG_S3_SECRET_KEY", "")
ANFANG_S3_REGION = os.environ.get("ANFANG_S3_REGION", "us-east-1")
# Approved exports (Art 33(5)): largest file, days downloadable, downloads allowed.
ANFANG_MAX_EXPORT_BYTES = int(os.environ.get("ANFANG_MAX_EXPORT_BYTES", str(512 * 1024 * 1024)))
ANFANG_EXPORT_VALID_DAYS = int(os.environ.get("ANFANG_EXPORT_VALID_DAYS", "7"))
ANFANG_EXPORT_MAX_DOWNLOADS = int(os.environ.get("ANFANG_EXPORT_MAX_DOWNLOADS", "1"))
# Audit appends on PostgreSQL without waiting for the WAL flush (faster; a database crash may lose
# the last fraction of a second of entries, the chain stays consistent). Off: every entry durable.
ANFANG_AUDIT_ASYNC_COMMIT = os.environ.get("ANFANG_AUDIT_ASYNC_COMMIT", "0") == "1"

# Uploads: refuse anything bigger before it is parsed.
ANFANG_MAX_UPLOAD_BYTES = int(os.environ.get("ANFANG_MAX_UPLOAD_BYTES", str(5 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = ANFANG_MAX_UPLOAD_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = ANFANG_MAX_UPLOAD_BYTES

# Art 9: "监控图像能够清晰显示人员、车辆基本特征" — the minimum camera image height (pixels) the
# compliance rule accepts as clear.
ANFANG_MIN_CAMERA_HEIGHT = int(os.environ.get("ANFANG_MIN_CAMERA_HEIGHT", "720"))

# Event ingestion (issue 5).
# A device clock more than this ahead of the platform is flagged (on the event and on the device).
ANFANG_CLOCK_SKEW_SECONDS = int(os.environ.get("ANFANG_CLOCK_SKEW_SECONDS", "300"))
# An event that happened longer ago than this when it arrived is marked late (not sounded as new).
ANFANG_LATE_EVENT_SECONDS = int(os.environ.get("ANFANG_LATE_EVENT_SECONDS", "600"))
# Largest push body accepted from a device (XML plus pictures); bigger bodies are refused unread.
ANFANG_MAX_PUSH_BYTES = int(os.environ.get("ANFANG_MAX_PUSH_BYTES", str(8 * 1024 * 1024)))
ANFANG_MAX_PICTURE_BYTES = int(os.environ.get("ANFANG_MAX_PICTURE_BYTES", str(2 * 1024 * 1024)))
# A dead letter keeps at most this much of the body (the size it had is recorded).
ANFANG_MAX_DEAD_LETTER_BYTES = int(os.environ.get("ANFANG_MAX_DEAD_LETTER_BYTES", str(1024 * 1024)))
# Dedup keys are kept this long: a redelivery later than that is stored again.
ANFANG_DEDUP_WINDOW_HOURS = int(os.environ.get("ANFANG_DEDUP_WINDOW_HOURS", "48"))
# Where accepted events wait when the database is down (append-only, replayed on recovery).
ANFANG_SPOOL_DIR = Path(os.environ.get("ANFANG_SPOOL_DIR", VAR_DIR / "spool"))
# Daily event partitions created ahead of time on PostgreSQL (manage.py event_partitions).
ANFANG_EVENT_PARTITIONS_AHEAD = int(os.environ.get("ANFANG_EVENT_PARTITIONS_AHEAD", "7"))
ANFANG_MQTT_URL = os.environ.get("ANFANG_MQTT_URL", "mqtt://127.0.0.1:1883")

# Tests that need a service (PostgreSQL, MQTT, Chromium) fail instead of skipping when set (CI).
ANFANG_REQUIRE_SERVICES = env_bool("ANFANG_REQUIRE_SERVICES", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ANFANG_LOG_LEVEL", "WARNING")},
}
