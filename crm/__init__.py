"""The CRM application factory."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, redirect, url_for
from sqlalchemy import event
from sqlalchemy.engine import Engine

from crm import extensions as ext
from crm.config import settings_from_env
from crm.core import formats, i18n
from crm.core.params import URL_CONVERTERS
from crm.core.text import fold

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the app; `config` overrides settings read from the environment (tests use it)."""
    app = Flask(
        __name__,
        instance_path=instance_path or str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    # Before any rule is added: every URL id and key of every blueprint is one the database
    # can hold (an `<int:…>` above its integer, a key with NUL: 404, not 500).
    app.url_map.converters.update(URL_CONVERTERS)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(settings_from_env(app.instance_path))
    if config:
        app.config.update(config)

    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The sign-in throttle and the audit need the client's address, not the proxy's.
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    # Through the module: the submodule crm.htmx would shadow a bare name `htmx` here.
    ext.db.init_app(app)
    ext.migrate.init_app(app, ext.db, directory=str(ROOT / "migrations"))
    ext.login_manager.init_app(app)
    ext.csrf.init_app(app)
    ext.htmx.init_app(app)
    i18n.init_app(app)
    formats.register_filters(app)
    _init_redis(app)

    import crm.analytics.models  # noqa: F401
    import crm.auth.models  # noqa: F401

    # Importing the models registers every table on db.metadata (migrations need them all).
    import crm.core.models  # noqa: F401
    import crm.deals.models  # noqa: F401
    import crm.exchange.models  # noqa: F401
    import crm.interactions.models  # noqa: F401
    import crm.messaging.models  # noqa: F401
    import crm.notifications.models  # noqa: F401
    import crm.partners.models  # noqa: F401
    import crm.sales.models  # noqa: F401
    import crm.segments.models  # noqa: F401
    from crm import access, cli, errors, templating
    from crm.access import public
    from crm.analytics import bp as analytics_bp
    from crm.api import bp as api_bp
    from crm.api.docs import bp as api_docs_bp
    from crm.auth import bp as auth_bp
    from crm.core import security_headers
    from crm.dashboard import bp as dashboard_bp
    from crm.dashboard.views import my_day
    from crm.deals import bp as deals_bp
    from crm.exchange import bp as exchange_bp
    from crm.interactions import bp as interactions_bp
    from crm.messaging import bp as messaging_bp
    from crm.messaging.public import public_bp as messaging_public_bp
    from crm.messaging.sms_hooks import sms_hooks_bp
    from crm.notifications import bp as notifications_bp
    from crm.partners import bp as partners_bp
    from crm.sales import bp as sales_bp
    from crm.segments import bp as segments_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(partners_bp)
    app.register_blueprint(sales_bp)
    app.register_blueprint(interactions_bp)
    app.register_blueprint(deals_bp)
    app.register_blueprint(analytics_bp)
    app.register_blueprint(segments_bp)
    app.register_blueprint(messaging_bp)
    app.register_blueprint(messaging_public_bp)  # /m/…: a message's links, no sign-in
    app.register_blueprint(sms_hooks_bp)  # the SMS gateway's hooks, /m/sms/… (no prefix)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(api_bp)  # before access.init_app: its token sign-in precedes the gate
    app.register_blueprint(exchange_bp)
    app.register_blueprint(api_docs_bp)  # the API's documentation page (a page, not /api/)
    # The start page is "My day" (anonymous users go to sign in).
    app.add_url_rule("/", "home", my_day)
    app.add_url_rule("/favicon.ico", "favicon", public(_favicon))
    app.register_blueprint(dashboard_bp)
    access.init_app(app)
    errors.init_app(app)
    security_headers.init_app(app)
    templating.init_app(app)
    cli.init_app(app)
    return app


def _favicon():
    # Browsers ask for /favicon.ico whatever the pages link to (downloads, bookmarks).
    return redirect(url_for("static", filename="favicon.svg"), 301)


def _init_redis(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    if url:
        from redis import Redis

        # RQ needs bytes responses: never decode_responses=True here.
        app.extensions["crm.redis"] = Redis.from_url(url)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """Enforce foreign keys and let a worker write while pages read (WAL) on SQLite."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Read pages through memory mapping and a 64 MB cache (the default is 2 MB): lists and
        # the calendar look rows up by id all over a large file.
        cursor.execute("PRAGMA mmap_size=1073741824")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()
        # SQLite's lower() folds ASCII only: searches that must find "Молоко" by "молоко"
        # compare crm_fold(column) (crm.sales.products.folded).
        dbapi_connection.create_function("crm_fold", 1, fold, deterministic=True)
