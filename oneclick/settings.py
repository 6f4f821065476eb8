"""OneClick settings, read from the environment.

With nothing set, the *embedded default* runs: SQLite, the django-q2 ORM broker,
a SQLite channel layer (channels-lite), a database cache, console + file email.
With ``DATABASE_URL`` and ``REDIS_URL`` set, the *production* setup runs:
PostgreSQL, Redis for the task broker, channel layer and cache, SMTP via
``EMAIL_URL``. Production refuses to start without its secrets.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

from oneclick.local_secrets import fernet_key, local_secret, random_secret

# Lets classes subscript Django's generics at run time (`admin.ModelAdmin[Bot]`), as
# the type checker wants them written.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Where the embedded default keeps its database, mail and generated keys.
VAR_DIR = Path(env.str("ONECLICK_VAR_DIR", default=str(BASE_DIR / "var")))

DATABASE_URL = env.str("DATABASE_URL", default="")
REDIS_URL = env.str("REDIS_URL", default="")
PRODUCTION = bool(DATABASE_URL)
if PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is set but REDIS_URL is not: the production setup needs "
        "both (the task broker, channel layer, cache and rate limits are shared "
        "through Redis)."
    )


def required_secret(name: str, *, generate: Callable[[], str]) -> str:
    """A secret from the environment; the embedded default generates one once.

    In production a missing secret stops start-up: there is no usable default.
    """
    value = env.str(name, default="")
    if value:
        return value
    if PRODUCTION:
        raise ImproperlyConfigured(f"{name} must be set in production.")
    return local_secret(VAR_DIR, name, generate=generate)


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = required_secret("SECRET_KEY", generate=random_secret)
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "oneclick.apps.OneClickAdminConfig",
    "oneclick.apps.OneClickConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "django_otp",
    "django_q",
    "channels",
    "csp",
    "accounts",
    "vault",
    "paper",
    "strategies",
    "trading",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before sessions: a NUL in a cookie would otherwise reach the session query.
    "oneclick.middleware.RejectBadInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.RequireOTPMiddleware",
    "accounts.timezones.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "oneclick.urls"
WSGI_APPLICATION = "oneclick.wsgi.application"
ASGI_APPLICATION = "oneclick.asgi.application"

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
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
SQLITE_OPTIONS = {
    # WAL and IMMEDIATE transactions let the web server and the task cluster
    # write the same file without "database is locked" errors.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
if PRODUCTION:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            # SQLITE_PATH lets helper processes of a test open the test's database.
            "NAME": env.str("SQLITE_PATH", default=str(VAR_DIR / "db.sqlite3")),
            "OPTIONS": SQLITE_OPTIONS,
            # One file per test run: concurrent runs on one machine never share it.
            "TEST": {"NAME": VAR_DIR / f"test-db-{os.getpid()}.sqlite3"},
        },
        # channels-lite keeps channel messages in their own file so live-page
        # traffic never contends with the application's writes.
        "channels": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "channels.sqlite3",
            "OPTIONS": SQLITE_OPTIONS,
            "TEST": {"NAME": VAR_DIR / f"test-channels-{os.getpid()}.sqlite3"},
        },
    }
    DATABASE_ROUTERS = [
        "channels_lite.router.ChannelsRouter",
        "oneclick.routers.DefaultDatabaseRouter",
    ]
    INSTALLED_APPS.append("channels_lite")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttling and rate limits must be shared by every process) -----
if PRODUCTION:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "oneclick",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "oneclick_cache",
        }
    }

# --- Channels ------------------------------------------------------------------
# Seconds; must stay well above channels-redis's 5 s BZPOPMIN (see below).
CHANNELS_REDIS_SOCKET_TIMEOUT = 30
if PRODUCTION:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # channels-redis waits for messages with a BZPOPMIN that
                        # blocks the socket for 5 s; redis-py 8's default read
                        # timeout is also 5 s, so every idle live page died with
                        # 1011 after ~6 s. The read timeout must outlast the block.
                        "socket_timeout": CHANNELS_REDIS_SOCKET_TIMEOUT,
                        "socket_connect_timeout": 5,
                        "socket_keepalive": True,
                        # A connection idle this long is PINGed before reuse, so a
                        # Redis restart or a dropped NAT entry is noticed at once.
                        "health_check_interval": 30,
                        "retry_on_timeout": True,
                    }
                ],
                "prefix": "oneclick:channels",
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_lite.layers.core.SQLiteChannelLayer",
            # channels-lite polls its table; at its default 100 ms a page waited
            # 50 ms on average and p95 was past 100 ms. An idle poll is one
            # indexed SELECT on a small SQLite table.
            "CONFIG": {"database": "channels", "expiry": 60, "polling_interval": 0.02},
        }
    }

# --- Task queue (django-q2) --------------------------------------------------------
# Settings that cannot bite: finite attempts, a timeout below the retry delay
# (otherwise a slow task is handed to a second worker while still running),
# no catch-up of missed schedules, failures kept. oneclick.queue_config refuses
# anything else at start-up.
Q_CLUSTER = {
    "name": "oneclick",
    # 4 on 2 cores: a batch waits on the database and the exchange between bursts of
    # Python, and 2 workers left the cores idle then (benchmarks/README.md, fast path).
    "workers": env.int("Q_WORKERS", default=4),
    "timeout": env.int("Q_TIMEOUT", default=120),
    "retry": env.int("Q_RETRY", default=180),
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=3),
    "catch_up": False,
    "save_limit": 10_000,
    "ack_failures": True,
    "label": "Task queue",
    "sync": env.bool("Q_SYNC", default=False),
}
if PRODUCTION:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth, allauth, OTP ----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "landing"

ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = False
# Mail the account's (old) address about password and email changes, with the
# IP address and browser that made them (allauth's notifications).
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[OneClick] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
# allauth counts these in the shared cache, so every process sees every try.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "10/h/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/5m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}

OTP_TOTP_ISSUER = "OneClick"
# Wrong one-time codes allowed per user within OTP_THROTTLE_WINDOW seconds.
OTP_THROTTLE_LIMIT = env.int("OTP_THROTTLE_LIMIT", default=5)
OTP_THROTTLE_WINDOW = env.int("OTP_THROTTLE_WINDOW", default=300)
# How long a fresh one-time code unlocks sensitive actions (step-up).
STEPUP_WINDOW_SECONDS = env.int("STEPUP_WINDOW_SECONDS", default=300)
BACKUP_CODE_COUNT = 10

# Public address of the site, for links in emails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# Outbound addresses users must whitelist on their exchange API keys.
EGRESS_IPS = env.list("EGRESS_IPS", default=["203.0.113.10", "203.0.113.11"])

# --- Vault (encryption of secrets at rest) ---------------------------------------------
# Comma-separated Fernet keys: the first encrypts, all decrypt (rotation).
VAULT_KEYS = required_secret("VAULT_KEYS", generate=fernet_key).split(",")
# Every process opens the vault sentinel when it starts (web server, task
# cluster, the commands that open secrets: see vault.selftest). Off under
# pytest only: a test database has no sealed data when the ASGI module is
# imported, and tests check the keys themselves.
VAULT_CHECK_AT_START = env.bool("VAULT_CHECK_AT_START", default="pytest" not in sys.modules)

# --- Exchanges ------------------------------------------------------------------
EXCHANGE_TIMEOUT_MS = env.int("EXCHANGE_TIMEOUT_MS", default=10_000)
EXCHANGE_SANDBOX = env.bool("EXCHANGE_SANDBOX", default=False)
# exchange id -> base URL, to route a ccxt client elsewhere (tests' emulator).
EXCHANGE_URL_OVERRIDES: dict[str, str] = env.json("EXCHANGE_URL_OVERRIDES", default={})
# Refuse keys that are not restricted to EGRESS_IPS (otherwise: a warning).
REQUIRE_IP_RESTRICTION = env.bool("REQUIRE_IP_RESTRICTION", default=False)
# Shared budgets, used until an exchange publishes its own (Binance exchangeInfo).
EXCHANGE_RATE_LIMITS = {
    "default": {"weight_per_minute": 1200, "orders_per_10s": 50, "orders_per_day": 160_000},
    "binance": {"weight_per_minute": 6000, "orders_per_10s": 50, "orders_per_day": 160_000},
    "paper": {"weight_per_minute": 6000, "orders_per_10s": 50, "orders_per_day": 160_000},
    # Per exchange: replace figures, e.g. a shorter "weight_window" in a load test.
    **env.json("EXCHANGE_RATE_LIMITS_OVERRIDE", default={}),
}
# An order in doubt is looked up by client order id; only after this long with no
# trace on the exchange is it sent again (with the same id).
ORDER_LOOKUP_GRACE_SECONDS = env.int("ORDER_LOOKUP_GRACE_SECONDS", default=60)
ORDER_LOOKUP_RETRY_SECONDS = env.int("ORDER_LOOKUP_RETRY_SECONDS", default=15)
# A worker moving an order on holds it this long; a dead worker's claim then lapses.
ORDER_CLAIM_SECONDS = env.int("ORDER_CLAIM_SECONDS", default=120)
# Lookups of an order in doubt that may fail before the owner is told and the
# decision is recorded as failed (the lookups go on until the exchange answers).
ORDER_LOOKUP_MAX_FAILURES = env.int("ORDER_LOOKUP_MAX_FAILURES", default=8)
# A signal the exchange could not be reached for is tried again this often while fresh.
DECISION_RETRY_SECONDS = env.int("DECISION_RETRY_SECONDS", default=10)
# The fast path: a signal's bots are executed in batches of this many per task, each
# batch's orders sent on this many threads at once (exchange waits overlap; every
# guarantee is per bot and per order, so it holds across threads as across processes).
# 8 threads x 4 workers (Q_WORKERS) fit a 2-core machine: see benchmarks/README.md.
FANOUT_BATCH_SIZE = env.int("FANOUT_BATCH_SIZE", default=50)
EXECUTION_THREADS = env.int("EXECUTION_THREADS", default=8)
# A batch tries the bots the exchange's limits deferred again at their time while
# within this many seconds (under Q_TIMEOUT); later ones are the sweeper's.
BATCH_RETRY_SECONDS = env.int("BATCH_RETRY_SECONDS", default=60)
# One ticker per (exchange, market) this fresh sizes every bot of a signal.
PRICE_SNAPSHOT_SECONDS = env.float("PRICE_SNAPSHOT_SECONDS", default=5.0)
# Balances are re-read at least this often even without our own fills (hand trades).
BALANCE_MAX_AGE_SECONDS = env.int("BALANCE_MAX_AGE_SECONDS", default=6 * 3600)
# Live buys are sized at the ticker price plus this share (market orders slip), so a
# fill dearer than the ticker still fits in the allocation. Sells use the ticker.
ORDER_PRICE_BUFFER = env.str("ORDER_PRICE_BUFFER", default="0.002")
# The taker fee assumed when the exchange's market data does not say.
ORDER_FEE_RATE = env.str("ORDER_FEE_RATE", default="0.001")
# The sweeper leaves alone work younger than this (a live worker may hold it).
SWEEPER_MIN_AGE_SECONDS = env.int("SWEEPER_MIN_AGE_SECONDS", default=30)
# Alert when an account's 24 h traded volume exceeds this multiple of its bots' size.
ACTIVITY_ALERT_RATIO = env.int("ACTIVITY_ALERT_RATIO", default=10)
# An HTTP 418 (IP ban) without a Retry-After stops trading from our IP this long.
EXCHANGE_BAN_DEFAULT_SECONDS = env.int("EXCHANGE_BAN_DEFAULT_SECONDS", default=600)
# Strategies: backtest assumptions and the ML model's refit check.
STRATEGY_BACKTEST_CAPITAL = env.str("STRATEGY_BACKTEST_CAPITAL", default="10000")
STRATEGY_BACKTEST_FEE_RATE = env.str("STRATEGY_BACKTEST_FEE_RATE", default="0.001")
STRATEGY_BACKTEST_SLIPPAGE_RATE = env.str("STRATEGY_BACKTEST_SLIPPAGE_RATE", default="0.0005")
STRATEGY_BACKTEST_MAX_DAYS = env.int("STRATEGY_BACKTEST_MAX_DAYS", default=1830)
STRATEGY_REFIT_CHECK_MINUTES = env.int("STRATEGY_REFIT_CHECK_MINUTES", default=60)
# The paper exchange: a simulated account per paper key, deterministic prices.
PAPER_SEED = env.int("PAPER_SEED", default=42)
PAPER_STARTING_BALANCES = {"USDT": "10000", "USDC": "10000"}
# Simulated network time per paper request (benchmarks use 50), and the
# per-account order limit per 10 s (Binance's 50; 0 switches it off).
PAPER_LATENCY_MS = env.float("PAPER_LATENCY_MS", default=0)
PAPER_ORDER_LIMIT_PER_10S = env.int("PAPER_ORDER_LIMIT_PER_10S", default=50) or None
# Per paper account and clock minute: request weight (Binance's 6,000) and, if
# set, a plain request count (0: off).
PAPER_WEIGHT_LIMIT_PER_MINUTE = env.int("PAPER_WEIGHT_LIMIT_PER_MINUTE", default=6000) or None
PAPER_RATE_LIMIT_PER_MINUTE = env.int("PAPER_RATE_LIMIT_PER_MINUTE", default=0) or None
# Binance accepts a filled order's client order id again; the paper exchange
# refuses any reuse unless this is on.
PAPER_REUSE_CLIENT_ORDER_ID_AFTER_FILL = env.bool(
    "PAPER_REUSE_CLIENT_ORDER_ID_AFTER_FILL", default=False
)
# Warn this many days before a key's expiry date (where the exchange reports one).
KEY_EXPIRY_WARNING_DAYS = env.int("KEY_EXPIRY_WARNING_DAYS", default=7)

# --- Telegram alerts (off unless a bot token is set) ---------------------------------
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_BOT_USERNAME = env.str("TELEGRAM_BOT_USERNAME", default="")
TELEGRAM_API_BASE = env.str("TELEGRAM_API_BASE", default="https://api.telegram.org/bot")
# Telegram sends it in X-Telegram-Bot-Api-Secret-Token on every webhook call.
TELEGRAM_WEBHOOK_SECRET = env.str("TELEGRAM_WEBHOOK_SECRET", default="")
if PRODUCTION and TELEGRAM_BOT_TOKEN and not TELEGRAM_WEBHOOK_SECRET:
    raise ImproperlyConfigured("TELEGRAM_WEBHOOK_SECRET must be set with TELEGRAM_BOT_TOKEN.")
TELEGRAM_LINK_TOKEN_MINUTES = 15

# --- Email --------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="OneClick <no-reply@oneclick.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url_config(EMAIL_URL))
else:
    EMAIL_BACKEND = "oneclick.mail.ConsoleAndFileBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"

# --- Static files ---------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Hardening -------------------------------------------------------------------
# HTTPS is assumed in production (TLS terminated in front of us); the embedded
# default serves plain http://127.0.0.1:8000.
SECURE_HTTPS = env.bool("SECURE_HTTPS", default=PRODUCTION)
SECURE_SSL_REDIRECT = SECURE_HTTPS
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if SECURE_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind a proxy every request comes from the proxy's address: without this, the
# per-address limits on sign-in, sign-up and reset would count the whole site as
# one client (a few wrong passwords from anyone locking everyone out) and the
# security log would record the proxy. Each trusted proxy appends the address it
# saw to X-Forwarded-For, so the client is that many entries from the right;
# whatever a client writes there itself is further left and never read.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1 if BEHIND_TLS_PROXY else 0)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "daphne": {"level": "WARNING"},
        # httpx logs every request URL at INFO, and Telegram's URLs carry the bot
        # token; python-telegram-bot logs its URLs (token included) at DEBUG.
        "httpx": {"level": "WARNING"},
        "telegram": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # ccxt logs every request's headers at DEBUG: API keys, signatures, and a
        # One Trading key (a bearer token) whole.
        "ccxt": {"level": "INFO"},
    },
}
