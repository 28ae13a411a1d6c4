"""Every route needs a token unless allow-listed; bad tokens are refused; errors leak nothing."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from tests.app.conftest import Api

# Routes that answer without a token, by design. A new route is protected unless added here.
PUBLIC_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}


def _walk(routes: list[Any]) -> list[tuple[str, str]]:
    """(method, path) of every route, descending into included routers."""
    found = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found += _walk(included.routes)
            continue
        for method in sorted(getattr(route, "methods", None) or []):
            if method != "HEAD":
                found.append((method, route.path_format))  # as documented: no {id:uuid}
    return found


def _all_routes(api: Api) -> list[tuple[str, str]]:
    routes = _walk(api.app.routes)
    documented = {
        (method.upper(), path)
        for path, operations in api.app.openapi()["paths"].items()
        for method in operations
    }
    assert documented <= set(routes), f"route walk missed {documented - set(routes)}"
    return routes


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


async def test_every_route_but_the_public_ones_requires_a_token(api: Api) -> None:
    routes = _all_routes(api)
    protected = [r for r in routes if r not in PUBLIC_ROUTES]
    assert len(protected) >= 8, f"route table looks incomplete: {routes}"
    for method, path in protected:
        response = await api.client.request(method, _concrete(path), json={})
        assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
        assert response.headers.get("WWW-Authenticate") == "Bearer"


def _claims(user_id: str, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {
        "sub": user_id,
        "iss": "orgo",
        "aud": "orgo-api",
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "jti": uuid.uuid4().hex,
        "ver": 0,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _bad_tokens(secret: str, user_id: str) -> dict[str, str]:
    past = datetime.now(UTC) - timedelta(hours=1)
    header, payload, _ = jwt.encode(_claims(user_id), secret, algorithm="HS256").split(".")
    unsigned = jwt.encode(_claims(user_id), None, algorithm="none")
    return {
        "forged signature": jwt.encode(_claims(user_id), "another-secret-" * 4, algorithm="HS256"),
        "alg none": unsigned,
        "alg none, signature stripped": f"{header}.{payload}.",
        "other algorithm (HS512, same key)": jwt.encode(
            _claims(user_id), secret, algorithm="HS512"
        ),
        "wrong audience": jwt.encode(
            _claims(user_id, aud="someone-else"), secret, algorithm="HS256"
        ),
        "wrong issuer": jwt.encode(_claims(user_id, iss="evil"), secret, algorithm="HS256"),
        "expired": jwt.encode(
            _claims(
                user_id, exp=past, iat=past - timedelta(minutes=5), nbf=past - timedelta(minutes=5)
            ),
            secret,
            algorithm="HS256",
        ),
        "not yet valid": jwt.encode(
            _claims(user_id, nbf=datetime.now(UTC) + timedelta(hours=1)), secret, algorithm="HS256"
        ),
        "missing jti": jwt.encode(_claims(user_id, jti=None), secret, algorithm="HS256"),
        "missing token version": jwt.encode(_claims(user_id, ver=None), secret, algorithm="HS256"),
        "token version as text": jwt.encode(_claims(user_id, ver="0"), secret, algorithm="HS256"),
        "older token version": jwt.encode(_claims(user_id, ver=-1), secret, algorithm="HS256"),
        "unknown user": jwt.encode(_claims(str(uuid.uuid4())), secret, algorithm="HS256"),
        "garbage": "not.a.jwt",
    }


async def test_forged_expired_and_foreign_tokens_are_rejected(api: Api) -> None:
    user = await api.make_user()
    secret = api.state.settings.jwt_secret.get_secret_value()
    good = jwt.encode(_claims(user["id"]), secret, algorithm="HS256")
    ok = await api.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {good}"})
    assert ok.status_code == 200, "the control token should be accepted"
    for name, token in _bad_tokens(secret, user["id"]).items():
        response = await api.client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, f"{name} token was accepted"


async def test_unexpected_errors_are_500_without_traceback(api: Api) -> None:
    async def explode() -> None:
        raise RuntimeError("secret internals: /etc/orgo password=hunter2")

    api.app.add_api_route("/test-only/explode", explode, methods=["GET"])
    try:
        response = await api.client.get("/test-only/explode", headers={"X-Request-ID": "req-500"})
    finally:
        api.app.router.routes.pop()
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error", "request_id": "req-500"}
    assert "Traceback" not in response.text and "hunter2" not in response.text


async def test_request_id_is_propagated_or_generated(api: Api) -> None:
    given = await api.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    generated = await api.client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])
    hostile = await api.client.get("/healthz", headers={"X-Request-ID": 'a b"<script>'})
    assert hostile.headers["X-Request-ID"] != 'a b"<script>'


async def test_a_token_verified_once_is_still_refused_after_it_expires(api: Api) -> None:
    """Verified tokens are remembered for speed, never past their expiry."""
    user = await api.make_user()
    secret = api.state.settings.jwt_secret.get_secret_value()
    soon = datetime.now(UTC) + timedelta(seconds=2)
    token = jwt.encode(_claims(user["id"], exp=soon), secret, algorithm="HS256")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await api.client.get("/api/v1/users/me", headers=headers)).status_code == 200
    await asyncio.sleep((soon - datetime.now(UTC)).total_seconds() + 0.5)
    assert (await api.client.get("/api/v1/users/me", headers=headers)).status_code == 401
