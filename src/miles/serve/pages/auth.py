"""Sign up, log in, log out, change password, and the API keys page (create — shown once —, list, revoke).

Logging in (and changing the password, which asks for the current one) goes through the login guard: failed
attempts lock the account and the client address for a while (``limits.LoginGuard``). Logging out and changing
the password end every session of the user (``users.end_sessions``), not only this
browser's: a cookie saved before stops working. API keys are separate credentials and keep working.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path
from fastapi.responses import RedirectResponse, Response

from miles.errors import InvalidInput, NotFound, RateLimited
from miles.serve.deps import client_ip
from miles.serve.limits import LoginGuard
from miles.serve.pages.common import Confirm, Page, PageDep, confirm_page, render
from miles.serve.pages.forms import form_page
from miles.serve.schemas import SafeStr
from miles.serve.web_auth import (
    CSRF_FIELD,
    check_csrf,
    log_in,
    put_flash,
    sign_up,
    start_session,
    take_flash,
    write_cookie,
)
from miles.store.repos import users
from miles.store.tables import ApiKey, User

router = APIRouter(include_in_schema=False)
Text = Annotated[SafeStr, Form(max_length=500)]
Csrf = Annotated[str, Form(alias=CSRF_FIELD, max_length=200)]
KeyId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def safe_next(target: str | None) -> str:
    """Only local paths, so a crafted link cannot send the user elsewhere after logging in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def account_data(page: Page) -> dict[str, Any]:
    user = page.user
    return {"user": None if user is None else {"id": user.id, "email": user.email, "created_at": user.created_at}}


def _logged_in(page: Page, user: User, target: str) -> Response:
    page.commit()
    web = start_session(page.request, user)
    response = RedirectResponse(safe_next(target), status_code=303)
    write_cookie(response, page.request, web)
    return response


def _typed_account(form: dict[str, str]) -> dict[str, Any]:
    return {"email": form.get("email", ""), "next": safe_next(form.get("next"))}


form_page("/signup", "signup.html", account_data, _typed_account)
form_page("/login", "login.html", account_data, _typed_account)


@router.get("/signup")
@router.get("/signup.json")
def signup_form(page: PageDep, next: str = "/") -> Response:
    return render(page, "signup.html", account_data(page), next=safe_next(next))


@router.post("/signup")
def signup(page: PageDep, email: Text, password: Text, confirm: Text, csrf: Csrf, next: Text = "/") -> Response:
    check_csrf(page.request, csrf)
    try:
        user = sign_up(session=page.session, email=email, password=password, confirm=confirm)
    except InvalidInput as exc:
        return render(page, "signup.html", account_data(page), status=422, error=exc.message, email=email, next=next)
    return _logged_in(page, user, next)


@router.get("/login")
@router.get("/login.json")
def login_form(page: PageDep, next: str = "/") -> Response:
    return render(page, "login.html", account_data(page), next=safe_next(next))


def _guard(page: Page) -> tuple[LoginGuard, str]:
    return page.request.app.state.login_guard, client_ip(page.request)


def _locked(page: Page, template: str, exc: RateLimited, **extra: Any) -> Response:
    locked = render(page, template, account_data(page), status=429, error=exc.message, **extra)
    locked.headers["Retry-After"] = str(exc.retry_after_s)
    return locked


@router.post("/login")
def login(page: PageDep, email: Text, password: Text, csrf: Csrf, next: Text = "/") -> Response:
    """Checked by the login guard first (per account and per address, ``limits.LoginGuard``): while either is
    locked the password is not even verified, so the right one is refused too."""
    check_csrf(page.request, csrf)
    guard, address = _guard(page)
    account = email.strip().lower()
    try:
        guard.check(account, address)
    except RateLimited as exc:
        return _locked(page, "login.html", exc, email=email, next=next)
    try:
        user = log_in(session=page.session, email=email, password=password)
    except InvalidInput as exc:
        guard.failed(account, address)
        return render(page, "login.html", account_data(page), status=401, error=exc.message, email=email, next=next)
    guard.succeeded(account, address)
    return _logged_in(page, user, next)


@router.post("/logout")
def logout(page: PageDep, csrf: Csrf) -> Response:
    check_csrf(page.request, csrf)
    if page.user is not None:
        users.end_sessions(session=page.session, user_id=page.user.id)
        page.commit()
    web = start_session(page.request, None)
    response = RedirectResponse("/login?logged_out=1", status_code=303)
    write_cookie(response, page.request, web)
    return response


@router.get("/password")
@router.get("/password.json")
def password_form(page: PageDep) -> Response:
    page.require_user()
    return render(page, "password.html", account_data(page))


@router.post("/password")
def change_password(page: PageDep, current: Text, password: Text, confirm: Text, csrf: Csrf) -> Response:
    """A new password ends every session of the user; this browser gets a fresh cookie and stays logged in."""
    check_csrf(page.request, csrf)
    user_id = page.require_user()
    assert page.user is not None
    guard, address = _guard(page)  # guessing the current password with a borrowed session is a login attempt too
    account = page.user.email
    try:
        guard.check(account, address)
    except RateLimited as exc:
        return _locked(page, "password.html", exc)
    try:
        if password != confirm:
            raise InvalidInput("the two new passwords differ; type the same password twice")
        users.change_password(session=page.session, user_id=user_id, current=current, new=password)
    except InvalidInput as exc:
        if exc.status == 401:  # the current password was wrong
            guard.failed(account, address)
        return render(page, "password.html", account_data(page), status=exc.status, error=exc.message)
    guard.succeeded(account, address)
    page.commit()
    page.web = start_session(page.request, page.user)
    return render(page, "password.html", account_data(page), changed=True)


def _key_out(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
        "active": key.revoked_at is None,
    }


def keys_data(page: Page) -> dict[str, Any]:
    user_id = page.require_user()
    return {"keys": [_key_out(k) for k in users.list_api_keys(session=page.session, user_id=user_id)]}


for _route in ("/keys", "/keys/{key_id}/revoke"):
    form_page(_route, "keys.html", keys_data, lambda form: {"key_name": form.get("name")})


@router.get("/keys")
@router.get("/keys.json")
def keys_page(page: PageDep) -> Response:
    data = keys_data(page)
    if page.wants_json:
        return render(page, "keys.html", data)
    flash, page.web = take_flash(page.request, page.web)  # the new key, shown on this one view only
    return render(page, "keys.html", data, **(flash or {}))


@router.post("/keys")
def create_key(page: PageDep, csrf: Csrf, name: Annotated[str, Form(max_length=100)] = "web") -> Response:
    """Create, then redirect (POST-redirect-GET): a reload of the page that shows the key creates nothing."""
    check_csrf(page.request, csrf)
    user_id = page.require_user()
    row, plaintext = users.create_api_key(session=page.session, user_id=user_id, name=name)
    page.commit()
    web = put_flash(page.request, page.web, {"new_key": plaintext, "new_key_name": row.name})
    response = RedirectResponse("/keys", status_code=303)
    write_cookie(response, page.request, web)
    return response


def _own_key(page: Page, key_id: int) -> ApiKey:
    user_id = page.require_user()
    for key in users.list_api_keys(session=page.session, user_id=user_id):
        if key.id == key_id:
            return key
    raise NotFound(f"you have no API key with id {key_id}")


@router.get("/keys/{key_id}/revoke")
def revoke_key_confirm(page: PageDep, key_id: KeyId) -> Response:
    """The confirmation step (works without JavaScript): what revoking does, and the button that does it."""
    key = _own_key(page, key_id)
    if key.revoked_at is not None:
        return RedirectResponse("/keys", status_code=303)
    return confirm_page(
        page,
        title=f"Revoke key “{key.name}”?",
        consequence=f"Scripts and tools using the key that starts with {key.prefix}… will get 401 at once. "
        "This cannot be undone; you can create a new key afterwards.",
        action=f"/keys/{key.id}/revoke",
        button=f"Revoke key {key.name}",
        cancel="/keys",
    )


@router.post("/keys/{key_id}/revoke")
def revoke_key(page: PageDep, key_id: KeyId, csrf: Csrf, confirm: Confirm = "") -> Response:
    check_csrf(page.request, csrf)
    if confirm != "yes":  # a bare post (an old form, a script) goes to the confirmation step first
        return RedirectResponse(f"/keys/{key_id}/revoke", status_code=303)
    user_id = page.require_user()
    row, already = users.revoke_api_key(session=page.session, user_id=user_id, key_id=key_id)
    page.commit()
    # a key revoked already is said so, as `miles key revoke` says it (a second post flashed "is revoked" again)
    said = {"already_revoked": row.name, "revoked_on": already.isoformat()} if already else {"revoked": row.name}
    web = put_flash(page.request, page.web, said)
    response = RedirectResponse("/keys", status_code=303)
    write_cookie(response, page.request, web)
    return response
