"""The import/export kind deal-stages.csv: the sales processes, one row a stage of a kind of
deal (key: kind, stage), written by deals' own bulk service (crm/deals/bulk.py). Registered in
crm/deals/__init__.py.

Row errors are in the language of whoever imports; the column names and the values they take
(yes, no) are the exchange contract and stay as they are."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.deals.bulk import import_stages
from crm.deals.models import DealKind, DealStage
from crm.exchange import values
from crm.exchange.exporter import stream
from crm.exchange.kind import (
    INVALID,
    Col,
    Context,
    Kind,
    RowError,
    chunks,
    plain,
)
from crm.extensions import db

YES, NO = "yes", "no"


def _process(value) -> bool:
    text = values.text(value).casefold()
    if text not in (YES, NO):
        raise values.BadValue(_("%(value)s: use yes or no", value=repr(values.text(value)[:40])))
    return text == YES


def _percent(value) -> Decimal:
    result = values.number(value, places=2)
    if not 0 <= result <= 100:
        raise values.OutOfRange(_("must be between 0 and 100"))
    return result


def _position(value) -> int:
    result = values.whole(value)
    if result < 1:
        raise values.OutOfRange(_("must be 1 or more"))
    return result


class DealStagesKind(Kind):
    name = "deal-stages"
    title = _l("Deal stages")
    order = 70
    columns = (
        Col(
            "kind",
            True,
            max_len=255,
            description=_l("The deal kind's name (created on first use)."),
            example="Поставка оборудования",
        ),
        Col(
            "position",
            True,
            _position,
            description=_l("The stage's place in the kind's process: 1, 2, 3…"),
            example="1",
        ),
        Col(
            "stage",
            True,
            max_len=255,
            description=_l("The stage's name."),
            example="Первичный контакт",
        ),
        Col(
            "probability",
            parse=_percent,
            description=_l("The stage's default probability in percent, 0–100."),
            example="10",
        ),
        Col(
            "process",
            parse=_process,
            default=True,
            description=_l(
                "yes (the default): the stages go strictly in order; no: deals move between "
                "them freely. The same on every row of a kind."
            ),
            example="yes",
        ),
    )
    key = ("kind", "stage")

    def check(self, row_no: int, rec: dict, ctx: Context) -> list[RowError]:
        errors = []
        kind = rec.get("kind")
        if kind is None:
            return errors
        if "process" in rec:
            first = ctx.seen.setdefault("process", {}).setdefault(kind, (row_no, rec["process"]))
            if first[1] != rec["process"]:
                errors.append(
                    RowError(
                        row_no,
                        "process",
                        INVALID,
                        _(
                            "differs from row %(row)s of kind %(kind)s: a kind's stages are "
                            "either all in a process or none",
                            row=first[0],
                            kind=repr(kind),
                        ),
                    )
                )
        position, stage = rec.get("position"), rec.get("stage")
        if position is not None and stage is not None:
            taken = ctx.seen.setdefault("positions", {}).setdefault(kind, {})
            holder = taken.get(position)
            if holder is not None and holder[1] != stage:
                errors.append(
                    RowError(
                        row_no,
                        "position",
                        INVALID,
                        _(
                            "position %(position)s of kind %(kind)s is stage %(stage)s on row "
                            "%(row)s already",
                            position=position,
                            kind=repr(kind),
                            stage=repr(holder[1]),
                            row=holder[0],
                        ),
                    )
                )
            elif holder is None:
                taken[position] = (row_no, stage)
        return errors

    def comparable(self, rec, ctx):
        return (rec["position"], plain(rec["probability"]), rec["process"])

    def same(self, rec, stored, ctx):
        mine = self.comparable(rec, ctx)
        if rec["probability"] is None:  # no probability in the file: the stored one stays
            mine = (mine[0], stored[1], mine[2])
        return mine == stored

    def existing(self, recs, ctx):
        found = {}
        for names in chunks(sorted({r["kind"] for r in recs})):
            rows = db.session.execute(
                select(
                    DealKind.name,
                    DealStage.name,
                    DealStage.position,
                    DealStage.probability,
                    DealKind.is_process,
                )
                .join(DealKind, DealKind.id == DealStage.kind_id)
                .where(DealKind.name.in_(names))
            ).all()
            found.update({(k, s): (p, plain(pr), proc) for k, s, p, pr, proc in rows})
        return found

    def write(self, recs, ctx, actor):
        # A kind's rows may fall into two batches: its process is stored once all are in.
        ctx.seen.setdefault("rows", []).extend(recs)
        ctx.seen["actor"] = actor

    def finish(self, ctx):
        by_kind: dict[str, list[dict]] = {}
        for r in ctx.seen.get("rows", ()):
            by_kind.setdefault(r["kind"], []).append(r)
        for kind, rows in by_kind.items():
            import_stages(ctx.seen.get("actor"), kind, rows[0]["process"], rows)

    def export(self):
        return (
            (*row[:4], YES if row[4] else NO)
            for row in stream(
                select(
                    DealKind.name,
                    DealStage.position,
                    DealStage.name,
                    DealStage.probability,
                    DealKind.is_process,
                )
                .join(DealKind, DealKind.id == DealStage.kind_id)
                .order_by(DealKind.name, DealStage.position)
            )
        )


DEAL_STAGES = DealStagesKind()
