"""The import/export kinds of deals (spec/data-exchange.md), registered in
crm/deals/__init__.py: stages.py, deal-stages.csv (the sales processes); deals.py, deals.csv."""

from crm.deals.exchange.deals import DEALS, DealsKind
from crm.deals.exchange.stages import DEAL_STAGES, DealStagesKind

__all__ = ["DEALS", "DEAL_STAGES", "DealStagesKind", "DealsKind"]
