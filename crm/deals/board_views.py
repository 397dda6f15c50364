"""The pipeline board and the stage/result actions: move, win, lose, reopen.

The actions answer the board's HTMX requests (those targeting #board-body) with the board body
redrawn — the deal in its new column, or the refusal shown above the columns and nothing
changed — and any other form post with a redirect to `next` and a flashed message.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from crm.core.errors import DomainError, PermissionDenied
from crm.core.params import id_or_none
from crm.core.policy import may
from crm.core.timeutil import site_today, utcnow
from crm.core.urls import safe_next
from crm.core.versioning import StaleRecord
from crm.deals import board as queries
from crm.deals import bp, stages
from crm.deals.models import Deal, DealKind, DealStage
from crm.extensions import db
from crm.htmx import is_fragment_request, render

BOARD_TARGET = "board-body"


def card_url(deal_id: int) -> str:
    """The deal's card (deals.detail, once that page is registered)."""
    if "deals.detail" in current_app.view_functions:
        return url_for("deals.detail", deal_id=deal_id)
    return f"{url_for('deals.board').rsplit('/', 1)[0]}/{deal_id}"


def _board_url(flt: queries.BoardFilter, kind: DealKind | None) -> str:
    return url_for("deals.board", **flt.params(kind=kind.id if kind is not None else None))


def board_context(flt: queries.BoardFilter, *, notice="", error="", pinned=None) -> dict:
    the_board = queries.board(current_user, flt, utcnow(), pinned=pinned)
    kind = the_board.kind
    if kind is not None:
        flt.kind = kind.id
    flt["kind"].options = [(k.id, k.name) for k in the_board.kinds]
    flt["manager"].options = [(u.id, u.display_name) for u in _managers()]
    return {
        "flt": flt,
        "board": the_board,
        "kind": kind,
        "board_url": _board_url(flt, kind),
        "notice": notice,
        "error": error,
        "partner_name": _partner_name(flt.partner),
        "reasons": the_board.reasons,
        "skip": None,
        **_card_context(kind),
    }


def _card_context(kind: DealKind | None) -> dict:
    """What every card needs: links derived from one url_for each (a board draws hundreds of
    cards), each stage's next stage, today for the closing date."""
    return {
        "today": site_today(),
        "card_url": card_url(0).removesuffix("0"),
        "deal_base": url_for("deals.move", deal_id=0).removesuffix("0/move"),
        "next_stages": queries.next_stages(kind) if kind is not None else {},
    }


def _managers():
    from crm.interactions.queries import assignable_users

    return assignable_users()


def _partner_name(partner_id: int | None) -> str:
    from crm.partners.models import Partner

    partner = db.session.get(Partner, partner_id) if partner_id else None
    if partner is None or not may(current_user, "partner.view", partner):
        return ""
    return partner.name


@bp.route("/board")
def board():
    """The pipeline board of one kind: a column per stage; HTMX swaps the board body."""
    flt = queries.BoardFilter.from_args(request.args)
    return render("deals/board.html", "deals/_board.html", **board_context(flt))


@bp.route("/board/column")
def board_column():
    """The next cards of one column ("load more"): for HTMX the cards and the next button,
    without JavaScript a page of that column."""
    flt = queries.BoardFilter.from_args(request.args)
    kind = db.session.get(DealKind, flt.kind) if flt.kind else None
    if kind is None:
        abort(404)
    raw_stage = request.args.get("stage", "")
    stage = None
    if raw_stage != queries.NO_STAGE:
        stage = db.session.get(DealStage, id_or_none(raw_stage) or 0)
        if stage is None or stage.kind_id != kind.id:
            abort(404)
    after = queries.parse_keyset(request.args.get("after"))
    skip = id_or_none(request.args.get("skip"))
    column = queries.column_page(current_user, flt, kind, stage, utcnow(), after=after, skip=skip)
    ctx = {
        "flt": flt,
        "kind": kind,
        "column": column,
        "board_url": _board_url(flt, kind),
        "reasons": queries.active_reasons(),
        "skip": skip,
        "plain_forms": not is_fragment_request(),
        **_card_context(kind),
    }
    return render("deals/board_column.html", "deals/_cards.html", **ctx)


# --- the actions ---------------------------------------------------------------------------


def _deal(deal_id: int) -> Deal:
    deal = db.session.get(Deal, deal_id)
    if deal is None:
        abort(404)
    return deal


def _version() -> int | None:
    raw = (request.form.get("version") or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise DomainError(_("The form is damaged: reload the page and make your changes again."))
    return int(raw)


def _from_board() -> bool:
    return is_fragment_request() and request.headers.get("HX-Target") == BOARD_TARGET


def _board_filter_of(target: str) -> queries.BoardFilter:
    """The board's filters from its URL (the `next` the board's forms send)."""
    parts = urlsplit(target or "")
    if not target or parts.path != url_for("deals.board"):
        return queries.BoardFilter()
    return queries.BoardFilter(MultiDict(_query_pairs(parts.query)))


def _query_pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)[:50]


def _act(deal_id: int, action):
    """Run `action(deal, version)` and answer: the board body for the board's HTMX request,
    otherwise a redirect to `next` with the outcome flashed."""
    deal = _deal(deal_id)
    label = deal.deal_no
    target = safe_next(request.form.get("next"), card_url(deal_id))
    try:
        notice = action(deal, _version())
    except StaleRecord:
        db.session.rollback()
        return _answer(target, deal_id, error=_stale_message(label), status=409)
    except PermissionDenied as exc:
        db.session.rollback()
        return _answer(target, deal_id, error=exc.message, status=403)
    except DomainError as exc:
        db.session.rollback()
        messages = [exc.message] + [
            m for ms in exc.field_errors.values() for m in ms if m != exc.message
        ]
        return _answer(target, deal_id, error=" ".join(messages), status=422)
    db.session.commit()
    return _answer(target, deal_id, notice=notice)


def _stale_message(label: str) -> str:
    return _(
        "Someone else changed deal %(deal)s after you opened it, so nothing was changed. "
        "It is shown as it is now: try again if it is still needed.",
        deal=label,
    )


def _answer(target: str, deal_id: int, *, notice: str = "", error: str = "", status: int = 200):
    if _from_board():
        flt = _board_filter_of(target)
        ctx = board_context(flt, notice=notice, error=error, pinned=None if error else deal_id)
        return render("deals/board.html", "deals/_board.html", status=status, **ctx)
    flash(error or notice, "danger" if error else "success")
    if is_fragment_request():
        # Another page's HTMX request: the browser goes to `next`, where the message shows.
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


@bp.route("/<int:deal_id>/move", methods=["POST"])
def move(deal_id: int):
    """Move a deal to another stage of its kind (a process kind: only to the next one)."""

    def action(deal, version):
        stage_id = id_or_none(request.form.get("stage_id"))
        stages.move(current_user, deal, stage_id, version=version)
        return _("Deal %(deal)s moved to «%(stage)s».", deal=deal.deal_no, stage=deal.stage.name)

    return _act(deal_id, action)


@bp.route("/<int:deal_id>/win", methods=["POST"])
def win(deal_id: int):
    """Mark a deal won (closed_on: today by default; amount: the amount won, optional)."""

    def action(deal, version):
        stages.win(
            current_user,
            deal,
            closed_on=request.form.get("closed_on", "").strip()[:40],
            amount=request.form.get("amount", "").strip()[:40],
            version=version,
        )
        return _("Deal %(deal)s is won.", deal=deal.deal_no)

    return _act(deal_id, action)


@bp.route("/<int:deal_id>/lose", methods=["POST"])
def lose(deal_id: int):
    """Mark a deal lost with a reason (required) and a comment."""

    def action(deal, version):
        stages.lose(
            current_user,
            deal,
            reason_id=request.form.get("loss_reason_id", "").strip()[:20],
            comment=request.form.get("comment", ""),
            closed_on=request.form.get("closed_on", "").strip()[:40],
            version=version,
        )
        return _(
            "Deal %(deal)s is lost: %(reason)s.", deal=deal.deal_no, reason=deal.loss_reason.name
        )

    return _act(deal_id, action)


@bp.route("/<int:deal_id>/reopen", methods=["POST"])
def reopen(deal_id: int):
    """Open a won or lost deal again at the stage it closed at."""

    def action(deal, version):
        stages.reopen(current_user, deal, version=version)
        return _("Deal %(deal)s is open again.", deal=deal.deal_no)

    return _act(deal_id, action)
