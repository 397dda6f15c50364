"""Shared foundations every domain may use: audit log, job runs, errors, registries."""

from flask import Blueprint

bp = Blueprint("core", __name__, url_prefix="/core")
