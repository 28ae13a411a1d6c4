"""Password hashing (Argon2id) and access tokens (JWT, HS256)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from orgo.core.config import Settings
from orgo.errors import TooManyAttempts

JWT_ALGORITHM = "HS256"
# `ver`: the user's token version when the token was issued (orgo.models.User.token_version).
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "ver"]


class InvalidTokenError(Exception):
    """The access token is missing, malformed, forged, expired or not meant for us."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    token_id: str
    expires_at: datetime
    token_version: int


class Passwords:
    """Argon2id with parameters from settings; tells when a stored hash needs upgrading."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # Verifying against this when the account does not exist keeps timing uniform.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._dummy_hash, password) and bool(
                stored_hash
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)


BUSY_RETRY_AFTER_SECONDS = 1


class PasswordPool:
    """Argon2 off the event loop, so the process keeps serving while passwords are checked.

    Hashes run in `login_concurrency` threads (argon2-cffi releases the GIL), which also
    bounds their memory (`argon2_memory_cost_kib` each). `admit` bounds the logins in
    progress: `login_concurrency` + `login_max_waiting`; one more is refused at once (429),
    before it costs any hashing.
    """

    def __init__(self, passwords: Passwords, settings: Settings) -> None:
        self.passwords = passwords
        self._threads = ThreadPoolExecutor(settings.login_concurrency, thread_name_prefix="argon2")
        self._budget = settings.login_concurrency + settings.login_max_waiting
        self.admitted = 0

    @contextmanager
    def admit(self) -> Iterator[None]:
        # Checked and counted with no await in between: one step for the event loop.
        if self.admitted >= self._budget:
            raise TooManyAttempts(
                BUSY_RETRY_AFTER_SECONDS, "too many logins in progress; retry in a moment"
            )
        self.admitted += 1
        try:
            yield
        finally:
            self.admitted -= 1

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._threads, self.passwords.verify, stored_hash, password
        )

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self.passwords.hash, password)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)


class AccessTokens:
    # Tokens already verified, until they expire: a client presents the same token on
    # every request, and checking its signature and claims again is a hot-path cost.
    MAX_VERIFIED = 10_000

    def __init__(self, settings: Settings) -> None:
        self._secret = settings.jwt_secret.get_secret_value()
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._ttl = timedelta(seconds=settings.access_token_ttl_seconds)
        self._verified: dict[str, AccessClaims] = {}

    def issue(self, user_id: uuid.UUID, token_version: int) -> tuple[str, int]:
        now = datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "ver": token_version,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "nbf": now,
            "exp": now + self._ttl,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self._secret, algorithm=JWT_ALGORITHM)
        return token, int(self._ttl.total_seconds())

    def verify(self, token: str) -> AccessClaims:
        claims = self._verified.get(token)
        if claims is not None and claims.expires_at > datetime.now(UTC):
            return claims
        claims = self._decode(token)
        if len(self._verified) >= self.MAX_VERIFIED:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _decode(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[JWT_ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": REQUIRED_CLAIMS},
            )
            version = claims["ver"]
            if type(version) is not int:
                raise ValueError("ver must be an integer")
            return AccessClaims(
                user_id=uuid.UUID(claims["sub"]),
                token_id=str(claims["jti"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                token_version=version,
            )
        except (jwt.PyJWTError, ValueError) as exc:
            raise InvalidTokenError(str(exc)) from exc


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def refresh_token_digest(token: str) -> str:
    """Refresh tokens are stored as SHA-256 digests: a database leak yields no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()
