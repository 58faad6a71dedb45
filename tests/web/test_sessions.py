"""Sessions and tokens end when they should, and stay ended: logout, password change,
disabling (then re-enabling) a user, revoking one token. Logins are throttled and password
hashing runs in a bounded pool."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from materiel.service.app import create_app
from materiel.service.login import Throttle, TooManyAttemptsError
from materiel.store.db import Store
from materiel.store.models import User, UserSession

from .conftest import PASSWORDS, Web, add_users, csrf_of, make_settings


def _copy_cookie(web: Web) -> TestClient:
    """A second client holding a copy of ``web``'s session cookie (a stolen cookie)."""
    other = TestClient(web.client.app)
    other.cookies.set("materiel_session", web.client.cookies["materiel_session"])
    return other


def _bearer(web: Web, role: str, name: str = "api") -> dict[str, str]:
    r = web.client.post(
        "/api/v1/auth/token",
        json={"username": role, "password": PASSWORDS[role], "name": name},
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_logout_ends_the_session_in_the_store_so_a_copied_cookie_is_dead(web: Web) -> None:
    csrf = web.login("analyst")
    stolen = _copy_cookie(web)
    assert stolen.get("/account").status_code == 200
    with web.ctx.store.session_factory() as s:
        assert s.query(UserSession).count() == 1
    r = web.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    with web.ctx.store.session_factory() as s:
        assert s.query(UserSession).count() == 0
    assert stolen.get("/account").status_code == 401
    # nor can the copied cookie mint a token
    r = stolen.post("/account/tokens", data={"csrf_token": csrf, "name": "x"})
    assert r.status_code == 401 and "mtl_" not in r.text


def test_tokens_are_listed_and_revoked_one_by_one(web: Web) -> None:
    first, second = _bearer(web, "viewer", "laptop"), _bearer(web, "viewer", "ci")
    listed = web.client.get("/api/v1/auth/tokens", headers=first).json()
    assert [t["name"] for t in listed[:2]] == ["ci", "laptop"]
    assert all(t["active"] for t in listed) and all("token" not in t for t in listed)
    ci = listed[0]["id"]
    assert web.client.delete(f"/api/v1/auth/tokens/{ci}", headers=first).status_code == 204
    assert web.client.get("/api/v1/me", headers=second).status_code == 401
    assert web.client.get("/api/v1/me", headers=first).status_code == 200
    listed = {
        t["id"]: t["active"] for t in web.client.get("/api/v1/auth/tokens", headers=first).json()
    }
    assert listed[ci] is False
    # someone else's token: 404 for a non-admin, revocable by an admin
    analyst = _bearer(web, "analyst")
    mine = web.client.get("/api/v1/auth/tokens", headers=analyst).json()[0]["id"]
    assert web.client.delete(f"/api/v1/auth/tokens/{mine}", headers=first).status_code == 404
    r = web.client.delete(f"/api/v1/auth/tokens/{mine}", headers=web.headers["admin"])
    assert r.status_code == 204
    assert web.client.get("/api/v1/me", headers=analyst).status_code == 401


def test_a_token_is_revoked_from_the_account_page(web: Web) -> None:
    token = _bearer(web, "viewer", "script")
    csrf = web.login("viewer")
    page = web.client.get("/account")
    assert "script" in page.text and "Revoke" in page.text
    listed = web.client.get("/api/v1/auth/tokens", headers=token).json()
    tid = next(t["id"] for t in listed if t["name"] == "script")
    r = web.client.post(f"/account/tokens/{tid}/revoke", data={"csrf_token": csrf})
    assert r.status_code == 200 and "Token revoked" in r.text
    assert web.client.get("/api/v1/me", headers=token).status_code == 401
    # without the CSRF token nothing is revoked
    other = _bearer(web, "viewer", "other")
    listed = web.client.get("/api/v1/auth/tokens", headers=other).json()
    oid = next(t["id"] for t in listed if t["name"] == "other")
    assert web.client.post(f"/account/tokens/{oid}/revoke").status_code == 403
    assert web.client.get("/api/v1/me", headers=other).status_code == 200


def test_password_change_ends_every_other_session_and_every_token(web: Web) -> None:
    token = _bearer(web, "analyst")
    csrf = web.login("analyst")
    stolen = _copy_cookie(web)
    r = web.client.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": "not-the-password",
            "new_password": "a-new-password-2",
            "repeat_password": "a-new-password-2",
        },
    )
    assert r.status_code == 422 and "current password is wrong" in r.text
    r = web.client.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": PASSWORDS["analyst"],
            "new_password": "a-new-password-2",
            "repeat_password": "a-new-password-2",
        },
    )
    assert r.status_code == 200 and "Password changed" in r.text
    assert web.client.get("/account").status_code == 200  # this browser got a new session
    assert stolen.get("/account").status_code == 401
    assert web.client.get("/api/v1/me", headers=token).status_code == 401
    old = web.client.post(
        "/api/v1/auth/token", json={"username": "analyst", "password": PASSWORDS["analyst"]}
    )
    assert old.status_code == 401
    new = web.client.post(
        "/api/v1/auth/token", json={"username": "analyst", "password": "a-new-password-2"}
    )
    assert new.status_code == 201


def test_password_change_through_the_api(web: Web) -> None:
    token = _bearer(web, "viewer")
    body = {"current_password": PASSWORDS["viewer"], "new_password": "short"}
    assert web.client.post("/api/v1/me/password", json=body, headers=token).status_code == 422
    body["new_password"] = PASSWORDS["viewer"]
    r = web.client.post("/api/v1/me/password", json=body, headers=token)
    assert r.status_code == 422 and "differ" in r.json()["detail"]
    body = {"current_password": "wrong-password", "new_password": "viewer-pass-2"}
    r = web.client.post("/api/v1/me/password", json=body, headers=token)
    assert r.status_code == 422 and "wrong" in r.json()["detail"]
    body["current_password"] = PASSWORDS["viewer"]
    assert web.client.post("/api/v1/me/password", json=body, headers=token).status_code == 204
    assert web.client.get("/api/v1/me", headers=token).status_code == 401
    r = web.client.post(
        "/api/v1/auth/token", json={"username": "viewer", "password": "viewer-pass-2"}
    )
    assert r.status_code == 201


@pytest.mark.parametrize("via", ["api", "page"])
def test_disabling_a_user_ends_access_and_re_enabling_does_not_revive_it(
    web: Web, via: str
) -> None:
    token = _bearer(web, "analyst")
    csrf = web.login("analyst")
    browser = _copy_cookie(web)
    web.client.cookies.clear()
    admin = web.headers["admin"]

    def set_active(active: bool) -> None:
        if via == "api":
            r = web.client.patch("/api/v1/users/analyst", json={"active": active}, headers=admin)
            assert r.status_code == 200 and r.json()["active"] is active
        else:
            admin_csrf = web.login("admin")
            form = {"csrf_token": admin_csrf, "role": "analyst"}
            if active:
                form["active"] = "on"
            r = web.client.post("/users/analyst", data=form, follow_redirects=False)
            assert r.status_code == 303

    set_active(False)
    assert web.client.get("/api/v1/me", headers=token).status_code == 401
    assert browser.get("/account").status_code == 401
    set_active(True)
    assert web.client.get("/api/v1/me", headers=token).status_code == 401
    assert browser.get("/account").status_code == 401
    assert browser.post("/account/tokens", data={"csrf_token": csrf}).status_code == 401
    # the user can log in again and get fresh credentials
    assert _bearer(web, "analyst")


def test_patch_user_takes_strict_booleans(web: Web) -> None:
    admin = web.headers["admin"]
    for value in (0, 1, "false", "no", "yes"):
        r = web.client.patch("/api/v1/users/viewer", json={"active": value}, headers=admin)
        assert r.status_code == 422, value
    me = web.client.get("/api/v1/me", headers=web.headers["viewer"])
    assert me.status_code == 200 and me.json()["active"] is True


def test_logins_are_throttled_per_user_and_per_address(tmp_path: Path, web_dataset: Path) -> None:
    settings = make_settings(tmp_path, web_dataset)
    settings.login_failures_per_user = 3
    settings.login_failures_per_address = 7
    app = create_app(settings)
    add_users(app.state.ctx.store)
    with TestClient(app) as client:
        wrong = {"username": "viewer", "password": "wrong-password"}
        codes = [client.post("/api/v1/auth/token", json=wrong).status_code for _ in range(3)]
        assert codes == [401, 401, 401]
        r = client.post("/api/v1/auth/token", json=wrong)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert "too many failed logins for this user" in r.json()["detail"]
        # locked: even the right password is refused without being checked
        right = {"username": "viewer", "password": PASSWORDS["viewer"]}
        assert client.post("/api/v1/auth/token", json=right).status_code == 429
        # the login page is throttled by the same counts
        csrf = csrf_of(client.get("/login").text)
        form = {"username": "viewer", "password": PASSWORDS["viewer"], "csrf_token": csrf}
        page = client.post("/login", data=form)
        assert page.status_code == 429 and page.headers["retry-after"]
        # other users are fine until the address has failed 7 times in all
        for name in ("admin", "analyst", "nobody", "ghost"):
            bad = {"username": name, "password": "wrong-password"}
            assert client.post("/api/v1/auth/token", json=bad).status_code == 401
        r = client.post("/api/v1/auth/token", json={"username": "x1", "password": "p"})
        assert r.status_code == 429 and "address" in r.json()["detail"]
        ok = {"username": "admin", "password": PASSWORDS["admin"]}
        assert client.post("/api/v1/auth/token", json=ok).status_code == 429


def test_throttle_backs_off_exponentially_and_forgets() -> None:
    now = [1000.0]
    throttle = Throttle(2, 100, window=600, max_lockout=60, clock=lambda: now[0])
    throttle.failure("ana", "10.0.0.1")
    throttle.check("ana", "10.0.0.1")
    throttle.failure("ana", "10.0.0.1")
    waits = []
    for _ in range(8):
        with pytest.raises(TooManyAttemptsError) as e:
            throttle.check("Ana", "10.0.0.2")  # names are case-insensitive
        waits.append(e.value.retry_after)
        now[0] += e.value.retry_after
        throttle.check("ana", "10.0.0.2")
        throttle.failure("ana", "10.0.0.2")
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    now[0] += 601
    throttle.check("ana", "10.0.0.2")
    throttle.failure("ana", "10.0.0.2")  # the count started again
    throttle.check("ana", "10.0.0.2")
    throttle.success("ana")
    throttle.check("ana", "10.0.0.2")


def test_password_hashing_runs_in_a_bounded_pool(tmp_path: Path, web_dataset: Path) -> None:
    """40 concurrent guesses: at most ``hash_workers`` hashes at once, every answer a 401 or a
    503, and other requests are answered meanwhile."""
    settings = make_settings(tmp_path, web_dataset)
    settings.hash_workers = 2
    settings.hash_queue = 10
    settings.login_failures_per_address = 1000
    app = create_app(settings)
    headers = add_users(app.state.ctx.store)
    codes: list[int] = []
    with TestClient(app) as client:

        def guess(k: int) -> None:
            r = client.post("/api/v1/auth/token", json={"username": f"u{k}", "password": "p"})
            codes.append(r.status_code)

        threads = [threading.Thread(target=guess, args=(k,)) for k in range(40)]
        for t in threads:
            t.start()
        assert client.get("/api/v1/me", headers=headers["viewer"]).status_code == 200
        for t in threads:
            t.join()
    pool = app.state.login.pool
    assert 1 <= pool.peak <= 2
    assert set(codes) <= {401, 503} and codes.count(401) >= 1 and len(codes) == 40


def test_unknown_users_cost_a_full_hash() -> None:
    """The stand-in hash for unknown users has the hasher's own parameters."""
    import materiel.store.users as users

    assert not users._hasher.check_needs_rehash(users._DUMMY)


def test_store_sessions_tokens_and_epochs_on_each_backend(store: Store) -> None:
    from materiel.store.sessions import close_session, open_session, session_user
    from materiel.store.users import (
        create_user,
        issue_token,
        set_password,
        update_user,
        user_for_token,
    )

    with store.session() as s:
        ana = create_user(s, "ana", "a-long-password", "analyst")
        sid, token = open_session(s, ana, 3600), issue_token(s, ana)
        gone = open_session(s, ana, 3600)
    with store.session() as s:
        assert session_user(s, sid).name == "ana" and user_for_token(s, token).name == "ana"
        close_session(s, gone)
        assert session_user(s, gone) is None
        ana = s.get(User, ana.id)
        update_user(s, ana, None, False)
        update_user(s, ana, None, True)
    with store.session() as s:
        assert session_user(s, sid) is None and user_for_token(s, token) is None
        ana = s.get(User, ana.id)
        sid, token = open_session(s, ana, 3600), issue_token(s, ana)
    with store.session() as s:
        assert session_user(s, sid) is not None and user_for_token(s, token) is not None
        set_password(s, s.get(User, ana.id), "another-password")
    with store.session() as s:
        assert session_user(s, sid) is None and user_for_token(s, token) is None
        expired = open_session(s, s.get(User, ana.id), -1)
        assert session_user(s, expired) is None


def test_upgrading_from_0001_keeps_users_and_their_tokens(db_url: str) -> None:
    """Migration 0002 on a store with users and tokens: they keep working (epoch 0)."""
    from sqlalchemy import text

    from materiel.store.users import hash_password, token_digest, user_for_token

    old = Store(db_url)
    old.migrate("0001")
    with old.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, name, role, password_hash, active, created_at) "
                "VALUES (1, 'ana', 'analyst', :h, :t, CURRENT_TIMESTAMP)"
            ),
            {"h": hash_password("a-long-password"), "t": True},
        )
        conn.execute(
            text(
                "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at, revoked) "
                "VALUES (1, 'api', :d, 'mtl_x', CURRENT_TIMESTAMP, :f)"
            ),
            {"d": token_digest("mtl_old-token"), "f": False},
        )
    old.migrate()
    assert "user_sessions" in old.tables()
    with old.session() as s:
        assert user_for_token(s, "mtl_old-token").name == "ana"
    old.dispose()
