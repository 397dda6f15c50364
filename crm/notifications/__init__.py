"""In-app notifications and their e-mail copies; other domains produce them with
`services.notify`."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

from crm.notifications import views  # noqa: E402,F401  (routes attach to bp)
