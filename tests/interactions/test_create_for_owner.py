"""`create_for_owner`: an interaction planned for its responsible user by a workflow that has
checked the acting user's right itself (analytics' batch of calls): the actor's own create and
assign rights are not asked; every other rule of an interaction still holds."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from crm.core.errors import DomainError, PermissionDenied
from crm.core.models import AuditEntry
from crm.extensions import db
from crm.interactions import services
from crm.interactions.models import Interaction

T = datetime(2026, 3, 3, 7, 0)


def planned_call(partner, owner, **more) -> dict:
    return {
        "kind": "call",
        "status": "planned",
        "direction": "outgoing",
        "partner_id": partner.id,
        "responsible_id": owner.id,
        "starts_at": T,
        "title": "Client moved",
        **more,
    }


def test_a_marketer_plans_a_call_for_the_clients_manager(app, make_user, make_partner):
    marketer, manager = make_user("marketer"), make_user("manager")
    partner = make_partner(responsible=manager)
    # The form's service refuses him: marketers record no interactions.
    with pytest.raises(PermissionDenied):
        services.create_interaction(marketer, planned_call(partner, manager))

    i = services.create_for_owner(marketer, planned_call(partner, manager))
    db.session.commit()
    stored = db.session.get(Interaction, i.id)
    assert (stored.responsible_id, stored.partner_id, stored.status) == (
        manager.id,
        partner.id,
        "planned",
    )
    assert stored.due_at == T and stored.chain_id == stored.id
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "create")).scalar_one()
    assert entry.user_id == marketer.id


@pytest.mark.parametrize("owner_role, active", [("viewer", True), ("manager", False)])
def test_the_owner_must_be_an_active_user_who_owns_records(
    app, make_user, make_partner, owner_role, active
):
    admin, owner = make_user("admin"), make_user(owner_role, active=active)
    partner = make_partner()
    with pytest.raises(DomainError) as caught:
        services.create_for_owner(admin, planned_call(partner, owner))
    assert "responsible_id" in caught.value.field_errors
    assert db.session.execute(select(Interaction)).first() is None


def test_a_manager_cannot_plan_for_a_partner_he_cannot_see(app, make_user, make_partner):
    manager, other = make_user("manager"), make_user("manager")
    partner = make_partner(responsible=other)
    with pytest.raises(DomainError) as caught:
        services.create_for_owner(manager, planned_call(partner, other))
    assert "partner_id" in caught.value.field_errors
