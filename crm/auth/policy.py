"""The roles' rules that belong to no one domain: who manages users, who writes at all, who
can be responsible for records and hand them to others. The roles are named here and in the
other domains' `policy.py` only (see crm/core/policy.py)."""

from __future__ import annotations

from dataclasses import dataclass

from crm.auth.models import User
from crm.core.policy import may, register_rules

# Roles that can be responsible for partners, interactions and documents.
OWNER_ROLES = ("admin", "manager")


def responsible_users_clause():
    """SQL condition on User: those who can be made responsible for a record."""
    return User.role.in_(OWNER_ROLES)


RULES = {
    # The web app's gate: viewers only read (their own session and account aside).
    "app.write": lambda user, obj=None: user.role != "viewer",
    "users.manage": lambda user, obj=None: user.role == "admin",
    # Can be responsible for a partner or an interaction (a record's owner).
    "records.own": lambda user, obj=None: user.role in OWNER_ROLES,
    # Make someone other than himself responsible for a record (forms, API, import).
    "records.assign": lambda user, obj=None: user.role == "admin",
}


@dataclass(frozen=True)
class _RoleOnly:
    role: str
    id: int | None = None
    is_anonymous: bool = False


def role_may(role: str, action: str) -> bool:
    """Would a user with `role` be allowed `action` (one on no record)? Asked before a role
    is changed: an admin must not take from himself the right to change it back."""
    return may(_RoleOnly(role), action)


def register(state) -> None:
    register_rules(state, RULES)
