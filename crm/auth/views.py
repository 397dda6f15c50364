"""Sign-in, sign-out, own account, and the admin's user list."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from crm.access import public, viewer_may_post
from crm.auth import (
    bp,
    services,
    session,  # noqa: F401,E402  (registers the user loader)
    user_sessions,
)
from crm.auth.forms import (
    ApiTokenForm,
    InviteAcceptForm,
    LoginForm,
    PasswordForm,
    SettingsForm,
    UserCreateForm,
    UserUpdateForm,
)
from crm.auth.models import User
from crm.auth.session import client_ip
from crm.core.errors import DomainError
from crm.core.policy import requires
from crm.core.urls import safe_next
from crm.extensions import db
from crm.forms import apply_errors
from crm.htmx import render


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Sign in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, client_ip())
        except services.Throttled as exc:
            form.form_errors.append(exc.message)
            status = 429
        except DomainError as exc:
            form.form_errors.append(exc.message)
            status = 401
        else:
            _sign_in(user, remember=form.remember.data)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 422
    return render("auth/login.html", form=form, status=status)


def _sign_in(user: User, remember: bool = False) -> None:
    """Start a server-side session and put its key into the cookies."""
    user_sessions.start(
        user, remember=remember, ip=client_ip(), user_agent=request.user_agent.string
    )
    login_user(user, remember=remember)


@bp.route("/logout", methods=["POST"])
@viewer_may_post
def logout():
    """Sign out (a POST with CSRF token, so no link can sign someone out): the session ends on
    the server, so a copy of the session or remember-me cookie no longer signs anyone in."""
    user_sessions.end(current_user.session_key)
    db.session.commit()
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/sessions/end-all", methods=["POST"])
@viewer_may_post
def sessions_end_all():
    """Sign out everywhere: every session of the user ends, this one too."""
    user_sessions.end_all(current_user)
    db.session.commit()
    logout_user()
    flash(_("You are signed out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/sessions/<int:session_id>/end", methods=["POST"])
@viewer_may_post
def session_end(session_id: int):
    """Sign out one of one's other devices."""
    if not user_sessions.end_one(current_user, session_id):
        abort(404)
    db.session.commit()
    flash(_("That session is ended."), "success")
    return redirect(url_for("auth.account", _anchor="sessions"))


@bp.route("/account", methods=["GET", "POST"])
@viewer_may_post
def account():
    """The signed-in user's own account: change password."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user, form.current.data, form.password.data, ip=client_ip()
            )
        except services.Throttled as exc:
            form.form_errors.append(exc.message)
            status = 429
        except DomainError as exc:
            apply_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            flash(
                _("Your password is changed. You are signed out on your other devices."), "success"
            )
            return redirect(url_for("auth.account"))
    elif request.method == "POST":
        status = 422
    return _account_page(form=form, status=status)


@bp.route("/account/settings", methods=["POST"])
@viewer_may_post
def account_settings():
    """The user's own name, language and time zone; the page answers in the new language."""
    form = SettingsForm(prefix="settings")
    if form.validate_on_submit():
        try:
            services.update_settings(
                current_user,
                name=form.name.data or "",
                locale=form.locale.data,
                timezone=form.timezone.data,
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            db.session.commit()
            refresh()  # this response already speaks the chosen language
            flash(_("Your settings are saved."), "success")
            return redirect(url_for("auth.account"))
    return _account_page(settings_form=form, status=422)


def _account_page(form=None, token_form=None, new_token=None, status=200, settings_form=None):
    if settings_form is None:
        settings_form = SettingsForm(prefix="settings", obj=current_user)
    return render(
        "auth/account.html",
        settings_form=settings_form,
        form=form or PasswordForm(),
        token_form=token_form or ApiTokenForm(prefix="token"),
        tokens=services.api_tokens(current_user),
        new_token=new_token,
        sessions=user_sessions.live_sessions(current_user),
        current_session_id=user_sessions.current_session_id(current_user),
        status=status,
    )


@bp.route("/account/tokens", methods=["POST"])
@viewer_may_post
def token_create():
    """Create an API token of one's own; the page shows it this once (only a hash is kept)."""
    form = ApiTokenForm(prefix="token")
    if not form.validate_on_submit():
        return _account_page(token_form=form, status=422)
    try:
        _row, token = services.create_api_token(current_user, form.name.data)
    except DomainError as exc:
        apply_errors(form, exc)
        return _account_page(token_form=form, status=422)
    db.session.commit()
    # Rendered, not redirected: the token must not travel through the session cookie.
    response = _account_page(new_token=token)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@viewer_may_post
def token_revoke(token_id: int):
    """Revoke one of one's own API tokens: it stops working at once."""
    try:
        row = services.revoke_api_token(current_user, token_id)
    except DomainError:
        abort(404)
    db.session.commit()
    flash(_("The API token “%(name)s” is revoked.", name=row.name), "success")
    return redirect(url_for("auth.account", _anchor="api-tokens"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
def invite(token: str):
    """Accept an invitation by choosing a password."""
    try:
        user = services.user_for_invite(token)
    except DomainError as exc:
        return render("auth/invite.html", error=exc.message, form=None, status=404)
    form = InviteAcceptForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.accept_invite(user, form.password.data)
        except DomainError as exc:
            apply_errors(form, exc)
            status = 422
        else:
            _sign_in(user)
            db.session.commit()
            flash(_("Welcome! Your password is set."), "success")
            return redirect(url_for("home"))
    elif request.method == "POST":
        status = 422
    return render("auth/invite.html", form=form, user=user, error=None, status=status)


@bp.route("/users")
@requires("users.manage")
def user_index():
    """All users with their roles; admins invite and deactivate here."""
    return _users_page(UserCreateForm())


def _users_page(form, status=200, invited=None, invite_link=None):
    users = db.session.execute(select(User).order_by(User.active.desc(), User.email)).scalars()
    return render(
        "auth/users.html",
        users=list(users),
        form=form,
        invited=invited,
        invite_link=invite_link,
        status=status,
    )


@bp.route("/users/new", methods=["POST"])
@requires("users.manage")
def user_create():
    """Invite a user: the account exists at once, the link lets them choose a password."""
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                current_user, form.email.data, form.role.data, name=form.name.data or ""
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            db.session.commit()
            link = url_for("auth.invite", token=services.invite_token(user), _external=True)
            # Rendered, not flashed: flash messages travel in the (readable) session cookie,
            # and the link is as good as a password until it is used.
            response = _users_page(UserCreateForm(formdata=None), invited=user, invite_link=link)
            response.headers["Cache-Control"] = "no-store"
            return response
    return _users_page(form, status=422)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires("users.manage")
def user_update(user_id: int):
    """Change a user's role, name or active flag; also re-issues the invite link."""
    user = db.session.get(User, user_id) or abort(404)
    form = UserUpdateForm(obj=user)
    status = 200
    if form.validate_on_submit():
        try:
            services.update_user(
                current_user,
                user,
                role=form.role.data,
                active=form.active.data,
                name=form.name.data or "",
            )
        except DomainError as exc:
            apply_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            flash(_("User %(email)s is updated.", email=user.email), "success")
            return redirect(url_for("auth.user_index"))
    elif request.method == "POST":
        status = 422
    invite_link = None
    if not user.password_hash and user.active:
        invite_link = url_for("auth.invite", token=services.invite_token(user), _external=True)
    response = render(
        "auth/user_form.html", user=user, form=form, invite_link=invite_link, status=status
    )
    if invite_link:
        response.headers["Cache-Control"] = "no-store"
    return response
