"""Settings from environment variables; no settings at all means SQLite and inline jobs."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str, default: str) -> list[str]:
    """A comma-separated setting, e.g. RQ_QUEUES=high,default."""
    items = [item.strip() for item in os.environ.get(name, "").split(",")]
    return [item for item in items if item] or [default]


def normalise_database_url(url: str) -> str:
    """Spell PostgreSQL URLs with the psycopg 3 driver explicitly."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once into the instance folder."""
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Create with owner-only permissions: the key signs sessions and invite links.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def settings_from_env(instance_path: str) -> dict:
    """Build the Flask config mapping; every value has a working default."""
    # A sign-in session ends at the latest this long after sign-in, remembered or not.
    session_days = int(os.environ.get("SESSION_LIFETIME_DAYS", "30"))
    database_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + str(Path(instance_path) / "crm.sqlite3")
    )
    return {
        "SECRET_KEY": load_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        # Queues the worker serves, comma-separated (several apps or test runs can share a Redis).
        "RQ_QUEUES": _list("RQ_QUEUES", "default"),
        # Run jobs in the caller's thread even in a request (tests); otherwise a request hands
        # them to RQ (Redis set) or to a background thread of the web process.
        "JOBS_INLINE": _bool("JOBS_INLINE", False),
        # A running job writes a heartbeat this often and holds a lease this long: a job whose
        # lease ran out (its process died) is marked failed by the sweep, run at most every
        # JOB_SWEEP_SECONDS per process (status polls, enqueues, `worker.py --cron`).
        "JOB_HEARTBEAT_SECONDS": float(os.environ.get("JOB_HEARTBEAT_SECONDS", "30")),
        "JOB_LEASE_SECONDS": float(os.environ.get("JOB_LEASE_SECONDS", "150")),
        "JOB_SWEEP_SECONDS": float(os.environ.get("JOB_SWEEP_SECONDS", "30")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "SESSION_LIFETIME_DAYS": session_days,
        "REMEMBER_COOKIE_DURATION": timedelta(days=session_days),
        # Flask refuses a session cookie signed longer ago than this.
        "PERMANENT_SESSION_LIFETIME": timedelta(days=session_days),
        "WTF_CSRF_TIME_LIMIT": None,  # tokens live as long as the session
        # Managers see only partners they are responsible for unless this is on.
        "MANAGERS_SEE_ALL_PARTNERS": _bool("MANAGERS_SEE_ALL_PARTNERS", False),
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_FAILURE_WINDOW_SECONDS": int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "60")),
        "PAGE_SIZE": int(os.environ.get("PAGE_SIZE", "25")),
        "DEFAULT_PHONE_REGION": os.environ.get("DEFAULT_PHONE_REGION", "RU"),
        "DEFAULT_TIMEZONE": os.environ.get("DEFAULT_TIMEZONE", "Europe/Moscow"),
        # The interface language of new users and of signed-out pages ("ru" or "en").
        "DEFAULT_LOCALE": os.environ.get("DEFAULT_LOCALE", "ru"),
        # The currency amounts are kept in (ISO 4217): the sign pages show beside money.
        "BASE_CURRENCY": os.environ.get("BASE_CURRENCY", "RUB"),
        # Uploaded import files; a folder the web app and the RQ workers both reach.
        "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER") or str(Path(instance_path) / "uploads"),
        # Number of reverse proxies in front of the app (X-Forwarded-For hops to trust).
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", "0")),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_MB", "200")) * 1024 * 1024,
        # E-mail copies of notifications (crm/notifications/mail.py); no SMTP_HOST: none sent.
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", False),
        "SMTP_SSL": _bool("SMTP_SSL", False),
        "SMTP_TIMEOUT": float(os.environ.get("SMTP_TIMEOUT", "10")),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "crm@localhost"),
        # Mailings and client notifications (crm/messaging): marketing e-mail goes through the
        # SMTP_* server above, from MESSAGING_FROM (default MAIL_FROM).
        "MESSAGING_FROM": os.environ.get("MESSAGING_FROM", ""),
        # SMS: "console" (log only, development), "file" (append JSON lines to SMS_FILE) or
        # "http" (the generic HTTP JSON gateway: POST to SMS_HTTP_URL with SMS_HTTP_TOKEN).
        "SMS_BACKEND": os.environ.get("SMS_BACKEND", "console"),
        "SMS_FILE": os.environ.get("SMS_FILE") or str(Path(instance_path) / "sms-outbox.jsonl"),
        "SMS_HTTP_URL": os.environ.get("SMS_HTTP_URL", ""),
        "SMS_HTTP_TOKEN": os.environ.get("SMS_HTTP_TOKEN", ""),
        "SMS_SENDER": os.environ.get("SMS_SENDER", ""),
        "SMS_HTTP_TIMEOUT": float(os.environ.get("SMS_HTTP_TIMEOUT", "10")),
        # The shared secret the gateway sends with inbound SMS (STOP) and delivery reports.
        "SMS_WEBHOOK_TOKEN": os.environ.get("SMS_WEBHOOK_TOKEN", ""),
        # Messages per second per channel, over all workers (0: no limit).
        "MESSAGING_RATE_EMAIL": float(os.environ.get("MESSAGING_RATE_EMAIL", "0")),
        "MESSAGING_RATE_SMS": float(os.environ.get("MESSAGING_RATE_SMS", "5")),
        # Temporary errors are retried after RETRY_SECONDS × 2^(attempt − 1), up to MAX_ATTEMPTS.
        "MESSAGING_MAX_ATTEMPTS": int(os.environ.get("MESSAGING_MAX_ATTEMPTS", "5")),
        "MESSAGING_RETRY_SECONDS": float(os.environ.get("MESSAGING_RETRY_SECONDS", "60")),
        # A claimed message whose worker did not report within this many seconds is taken again.
        "MESSAGING_LEASE_SECONDS": int(os.environ.get("MESSAGING_LEASE_SECONDS", "120")),
        # Messages a worker claims at a time, and send jobs kept queued per channel.
        "MESSAGING_BATCH": int(os.environ.get("MESSAGING_BATCH", "50")),
        "MESSAGING_PARALLEL": int(os.environ.get("MESSAGING_PARALLEL", "2")),
        # How often `worker.py --cron` looks for due mailings, notifications and unsent messages.
        "MESSAGING_DISPATCH_SECONDS": int(os.environ.get("MESSAGING_DISPATCH_SECONDS", "30")),
        # How often the scheduled client notifications (overdue debt, deal won, meeting
        # reminders) are produced; day-sized events, so every 10 minutes is plenty.
        "MESSAGING_NOTIFY_SECONDS": int(os.environ.get("MESSAGING_NOTIFY_SECONDS", "600")),
        # Bodies of processed messages are deleted after this many days (the state is kept).
        "MESSAGING_RETENTION_DAYS": int(os.environ.get("MESSAGING_RETENTION_DAYS", "90")),
        # The app's address as users reach it ("https://crm.example.com"), for links in e-mails.
        "BASE_URL": os.environ.get("BASE_URL", "").rstrip("/"),
        # Deals (analytics.md): a probability component resting on fewer closed deals is left
        # out; an open deal is stale after this many times its stage's median days in stage.
        "DEAL_PROBABILITY_MIN_CLOSED": int(os.environ.get("DEAL_PROBABILITY_MIN_CLOSED", "5")),
        "DEAL_STALE_FACTOR": float(os.environ.get("DEAL_STALE_FACTOR", "2")),
        # Customer stages (analytics.md): the window W of the one-time/regular rule and its XYZ,
        # the months L without a purchase after which a client is lost (the regular-x/y/z sub-class
        # uses the partner XYZ thresholds below).
        # How often the monthly sales summaries of changed months are summed again (seconds).
        "SALES_SUMMARY_REFRESH_SECONDS": int(
            os.environ.get("SALES_SUMMARY_REFRESH_SECONDS", "300")
        ),
        "ANALYTICS_STAGE_WINDOW_MONTHS": int(os.environ.get("ANALYTICS_STAGE_WINDOW_MONTHS", "12")),
        "ANALYTICS_LOST_AFTER_MONTHS": int(os.environ.get("ANALYTICS_LOST_AFTER_MONTHS", "6")),
        # Stored snapshots (crm/analytics/snapshots.py): the monthly class snapshot classifies
        # the ANALYTICS_CLASS_WINDOW_MONTHS months ending with its month; `worker.py --cron`
        # looks for the last complete month's missing snapshots every …_CHECK_SECONDS.
        "ANALYTICS_CLASS_WINDOW_MONTHS": int(os.environ.get("ANALYTICS_CLASS_WINDOW_MONTHS", "12")),
        "ANALYTICS_SNAPSHOT_CHECK_SECONDS": int(
            os.environ.get("ANALYTICS_SNAPSHOT_CHECK_SECONDS", "3600")
        ),
        # ABC/XYZ (analytics.md): A while the share before an object is under ABC_A_PCT %, B
        # under ABC_B_PCT %; X when the CV ≤ …_X_PCT %, Y when ≤ …_Y_PCT % (products, partners).
        "ABC_A_PCT": float(os.environ.get("ABC_A_PCT", "80")),
        "ABC_B_PCT": float(os.environ.get("ABC_B_PCT", "95")),
        "XYZ_PRODUCT_X_PCT": float(os.environ.get("XYZ_PRODUCT_X_PCT", "10")),
        "XYZ_PRODUCT_Y_PCT": float(os.environ.get("XYZ_PRODUCT_Y_PCT", "25")),
        "XYZ_PARTNER_X_PCT": float(os.environ.get("XYZ_PARTNER_X_PCT", "50")),
        "XYZ_PARTNER_Y_PCT": float(os.environ.get("XYZ_PARTNER_Y_PCT", "100")),
        # BCG matrix (crm/analytics/bcg.py): high growth when revenue grew by at least
        # BCG_GROWTH_PCT % against the previous period; high share when the revenue is at least
        # BCG_SHARE times that of the largest other product of its group (groups: other group).
        "BCG_GROWTH_PCT": float(os.environ.get("BCG_GROWTH_PCT", "10")),
        "BCG_SHARE": float(os.environ.get("BCG_SHARE", "1.0")),
    }
