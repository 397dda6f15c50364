"""The admins' pages of the deal classifiers under /deals/settings/ (the writes are
crm/deals/classifiers/): kinds.py, the kinds of deals; stages.py, a kind's stages; named.py,
participant roles and loss reasons; common.py, what they share."""

# The routes attach to crm.deals.bp.
from crm.deals.classifier_views import kinds, named, stages  # noqa: F401
