"""The import/export kind deals.csv (key: deal_no), written by deals' own bulk service
(crm/deals/bulk.py) so that the stage history, the furthest stage reached, versions and audit
entries stay right. Registered in crm/deals/__init__.py.

Row errors are in the language of whoever imports; the column names and the values they take
(open, won, lost) are the exchange contract and stay as they are."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.auth.models import User
from crm.auth.services import user_ids_by_email
from crm.core.timeutil import utcnow
from crm.deals.bulk import import_changed_deals, import_new_deals
from crm.deals.models import STATUSES, Deal, DealKind, DealStage, LossReason
from crm.exchange import values
from crm.exchange.exporter import stream
from crm.exchange.kind import (
    BAD_VALUE,
    INVALID,
    REQUIRED,
    UNKNOWN,
    Col,
    Context,
    Kind,
    Lookup,
    RowError,
    check_email,
    chunks,
    money,
    plain,
)
from crm.exchange.lookups import by_name
from crm.extensions import db
from crm.partners.exchange import PARTNER_CODE, PARTNER_CODES, unknown_partner
from crm.partners.models import Partner


def _status(value) -> str:
    text = values.text(value).casefold()
    if text not in STATUSES:
        raise values.BadValue(
            _(
                "%(value)s is not a status: use open, won or lost",
                value=repr(values.text(value)[:40]),
            )
        )
    return text


def _kinds(wanted) -> dict[str, tuple[int, bool]]:
    """Deal kinds by name: (id, is_process)."""
    return {
        name: (kid, process)
        for name, kid, process in db.session.execute(
            select(DealKind.name, DealKind.id, DealKind.is_process)
        )
    }


def _stages(wanted) -> dict[tuple[str, str], tuple[int, int]]:
    """Every stage by (kind name, stage name): (id, position). Processes are small: all of
    them, for a file or one API object."""
    return {
        (kind, name): (sid, position)
        for kind, name, sid, position in db.session.execute(
            select(DealKind.name, DealStage.name, DealStage.id, DealStage.position).join(
                DealKind, DealKind.id == DealStage.kind_id
            )
        )
    }


KINDS = Lookup("deal_kinds", _kinds)
STAGES = Lookup("deal_stages", _stages)
# A manager must be a user already (unlike partners.csv, an unknown e-mail creates no one).
MANAGERS = Lookup("users", lambda wanted: user_ids_by_email())
LOSS_REASONS = by_name(LossReason)


class DealsKind(Kind):
    name = "deals"
    title = _l("Deals")
    order = 80
    columns = (
        Col(
            "deal_no",
            True,
            max_len=64,
            description=_l("The deal's number: unique, up to 64 characters."),
            example="СД-000001",
        ),
        PARTNER_CODE,
        Col(
            "kind",
            True,
            max_len=255,
            description=_l("A deal kind that exists (from deal-stages or the CRM)."),
            example="Поставка оборудования",
        ),
        Col(
            "stage",
            max_len=255,
            description=_l(
                "The current stage, one of the kind's; for a lost deal the stage it was lost "
                "at. Required for open and lost deals; a won deal may leave it empty (every "
                "stage passed)."
            ),
            example="Первичный контакт",
        ),
        Col(
            "status",
            True,
            _status,
            description=_l("open, won or lost."),
            example="open",
        ),
        Col(
            "amount",
            True,
            money,
            description=_l("The expected amount (won: the amount won)."),
            example="150000.00",
        ),
        Col(
            "created_on",
            True,
            values.day,
            description=_l("The date the deal was opened, YYYY-MM-DD or DD.MM.YYYY."),
            example="2026-11-02",
        ),
        Col(
            "expected_close",
            parse=values.day,
            description=_l("The expected close date; required for an open deal."),
            example="2026-12-25",
        ),
        Col(
            "closed_on",
            parse=values.day,
            description=_l(
                "The date the deal was won or lost; required for those, empty for an open deal."
            ),
        ),
        Col(
            "manager",
            max_len=254,
            description=_l("E-mail of the responsible user (a user of the CRM)."),
        ),
        Col(
            "loss_reason",
            max_len=255,
            description=_l("Why a lost deal was lost (a reason created on first use)."),
        ),
        Col(
            "source",
            max_len=255,
            default="",
            description=_l("Where the deal came from."),
            example="Выставка",
        ),
    )
    key = ("deal_no",)
    # check() puts the ids the write needs into the record; write reads no ctx.seen.
    writes_checked_records = True
    lookups = (PARTNER_CODES, KINDS, STAGES, MANAGERS, LOSS_REASONS)

    def check(self, row_no: int, rec: dict, ctx: Context) -> list[RowError]:
        errors = unknown_partner(row_no, rec, ctx)
        status = rec.get("status")
        kind = rec.get("kind")
        found = ctx["deal_kinds"].get(kind) if kind else None
        if kind and found is None:
            errors.append(
                RowError(
                    row_no, "kind", UNKNOWN, _("unknown deal kind %(value)s", value=repr(kind))
                )
            )
        rec["kind_id"] = found[0] if found else None
        stage = rec.get("stage")
        rec["stage_id"] = rec["position"] = None
        if stage and found:
            at = ctx["deal_stages"].get((kind, stage))
            if at is None:
                errors.append(
                    RowError(
                        row_no,
                        "stage",
                        UNKNOWN,
                        _(
                            "%(stage)s is not a stage of deal kind %(kind)s",
                            stage=repr(stage),
                            kind=repr(kind),
                        ),
                    )
                )
            else:
                rec["stage_id"], rec["position"] = at
        elif not stage and found and status in ("open", "lost") and self._has_stages(kind, ctx):
            errors.append(
                RowError(
                    row_no,
                    "stage",
                    REQUIRED,
                    _("is required for an open or lost deal"),
                )
            )
        if status == "open":
            if rec.get("expected_close") is None and "expected_close" in rec:
                errors.append(
                    RowError(row_no, "expected_close", REQUIRED, _("is required for an open deal"))
                )
            if rec.get("closed_on") is not None:
                errors.append(
                    RowError(row_no, "closed_on", INVALID, _("must be empty for an open deal"))
                )
        elif status in ("won", "lost"):
            closed, created = rec.get("closed_on"), rec.get("created_on")
            if closed is None and "closed_on" in rec:
                errors.append(
                    RowError(row_no, "closed_on", REQUIRED, _("is required for a won or lost deal"))
                )
            elif closed is not None and created is not None and closed < created:
                errors.append(
                    RowError(
                        row_no,
                        "closed_on",
                        INVALID,
                        _(
                            "is before created_on (%(day)s): a deal cannot close before it "
                            "was opened",
                            day=created.isoformat(),
                        ),
                    )
                )
        if rec.get("loss_reason") and status in ("open", "won"):
            errors.append(
                RowError(row_no, "loss_reason", INVALID, _("only a lost deal has a loss reason"))
            )
        amount = rec.get("amount")
        if amount is not None and amount < 0:
            errors.append(RowError(row_no, "amount", BAD_VALUE, _("cannot be negative")))
        manager = rec.get("manager")
        problem = check_email(row_no, "manager", manager)
        errors += problem
        rec["manager_id"] = None
        if manager and not problem:
            rec["manager_id"] = ctx["users"].get(manager.casefold())
            if rec["manager_id"] is None:
                errors.append(
                    RowError(
                        row_no,
                        "manager",
                        UNKNOWN,
                        _("no user has the e-mail %(value)s", value=repr(manager)),
                    )
                )
        return errors

    def _has_stages(self, kind: str, ctx: Context) -> bool:
        has = ctx.seen.setdefault("has_stages", {})
        if kind not in has:
            has[kind] = any(k == kind for k, _s in ctx["deal_stages"])
        return has[kind]

    def comparable(self, rec, ctx):
        return (
            ctx["partners"].get(rec["partner_code"]),
            rec["kind"],
            rec["stage"] or None,
            rec["status"],
            plain(rec["amount"]),
            rec["created_on"],
            rec["expected_close"],
            rec["closed_on"],
            (rec["manager"] or "").casefold() or None,
            rec["loss_reason"] or None,
            rec["source"] or "",
        )

    def same(self, rec, stored, ctx):
        mine = self.comparable(rec, ctx)
        if rec["status"] == "won" and not rec["stage"]:  # every stage passed: the stored stays
            mine = (*mine[:2], stored[2], *mine[3:])
        return mine == stored

    def _select(self, first):
        """The deals' stored values in the columns' order after deal_no, `first` (the partner's
        id to compare, its code to export) in partner_code's place."""
        return (
            select(
                Deal.deal_no,
                first,
                DealKind.name,
                DealStage.name,
                Deal.status,
                Deal.amount,
                Deal.created_on,
                Deal.expected_close,
                Deal.closed_on,
                User.email,
                LossReason.name,
                Deal.source,
            )
            .join(DealKind, DealKind.id == Deal.kind_id)
            .outerjoin(DealStage, DealStage.id == Deal.stage_id)
            .outerjoin(User, User.id == Deal.manager_id)
            .outerjoin(LossReason, LossReason.id == Deal.loss_reason_id)
        )

    def existing(self, recs, ctx):
        found = {}
        for nos in chunks([r["deal_no"] for r in recs]):
            for row in db.session.execute(
                self._select(Deal.partner_id).where(Deal.deal_no.in_(nos))
            ):
                found[(row[0],)] = tuple(plain(v) for v in row[1:])
        return found

    def write(self, recs, ctx, actor):
        stored = set()
        for nos in chunks([r["deal_no"] for r in recs]):
            stored.update(
                db.session.execute(select(Deal.deal_no).where(Deal.deal_no.in_(nos))).scalars()
            )
        if ctx.create_only and stored:
            from crm.core.keys import KeyTaken

            raise KeyTaken(f"deal_no {sorted(stored)[0]!r}")
        now = ctx.seen.setdefault("now", utcnow())
        rows = []
        for r in recs:
            reason = r["loss_reason"] if r["status"] == "lost" else None
            rows.append(
                {
                    "deal_no": r["deal_no"],
                    "partner_id": ctx["partners"][r["partner_code"]],
                    "kind_id": r["kind_id"],
                    "stage_id": r["stage_id"],
                    "position": r["position"],
                    "status": r["status"],
                    "amount": r["amount"],
                    "created_on": r["created_on"],
                    "expected_close": r["expected_close"],
                    "closed_on": r["closed_on"],
                    "manager_id": r["manager_id"],
                    "loss_reason_id": ctx.id_for("deal_loss_reason", reason),
                    "source": r["source"] or "",
                }
            )
        import_new_deals(actor, [r for r in rows if r["deal_no"] not in stored])
        import_changed_deals(actor, [r for r in rows if r["deal_no"] in stored], now=now)

    def export(self):
        return stream(
            self._select(Partner.code)
            .join(Partner, Partner.id == Deal.partner_id)
            .order_by(Deal.deal_no)
        )


DEALS = DealsKind()
