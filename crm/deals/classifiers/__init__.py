"""The deal classifiers the admins keep (their pages are crm/deals/classifier_views/):

- names.py: the rules every classifier's name follows, and what their writes share;
- kinds.py: deal kinds (name, process or not, active);
- stages.py: a kind's stages (name, order, default probability) and the deals' furthest
  positions recomputed when the order changes;
- named.py: participant roles and loss reasons (a name and an active flag each).

Every change is audited; every broken rule is a DomainError with the field it concerns. Names
are unique case-insensitively ("Поставка" and "поставка" are one kind). The writes are
importable from here too (`classifiers.create_kind(...)`)."""

from crm.deals.classifiers.kinds import (
    create_kind,
    kinds_overview,
    out_of_order_open_deals,
    set_kind_active,
    update_kind,
)
from crm.deals.classifiers.named import (
    LOSS_REASONS,
    ROLES,
    NamedClassifier,
    create_loss_reason,
    create_role,
    rename_loss_reason,
    rename_role,
    set_loss_reason_active,
    set_role_active,
)
from crm.deals.classifiers.names import NAME_MAX
from crm.deals.classifiers.stages import (
    MAX_STAGES,
    add_stage,
    delete_stage,
    move_stage,
    recompute_reached,
    reorder_stages,
    stage_in_use,
    stage_usage,
    update_stage,
)

__all__ = [
    "LOSS_REASONS",
    "MAX_STAGES",
    "NAME_MAX",
    "ROLES",
    "NamedClassifier",
    "add_stage",
    "create_kind",
    "create_loss_reason",
    "create_role",
    "delete_stage",
    "kinds_overview",
    "move_stage",
    "out_of_order_open_deals",
    "recompute_reached",
    "rename_loss_reason",
    "rename_role",
    "reorder_stages",
    "set_kind_active",
    "set_loss_reason_active",
    "set_role_active",
    "stage_in_use",
    "stage_usage",
    "update_kind",
    "update_stage",
]
