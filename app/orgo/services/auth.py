"""Log in, refresh and log out: short-lived JWTs plus rotating refresh tokens.

Each login starts a token family. Refreshing rotates the token: the old one is marked
rotated and a new one issued in the same family, never past the family's absolute
lifetime (ORGO_REFRESH_FAMILY_MAX_SECONDS from the login). Presenting a rotated token
again means it was stolen (or replayed), so the whole family is revoked and the user must
log in again.

Access tokens carry the user's token version (`ver`); a password change or deactivation
moves it on, so tokens issued before are refused: at once in the process that made the
change, within ORGO_AUTH_CACHE_SECONDS in the others.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orgo.core.config import Settings
from orgo.core.ratelimit import LoginThrottle
from orgo.core.security import (
    AccessTokens,
    InvalidTokenError,
    PasswordPool,
    new_refresh_token,
    refresh_token_digest,
)
from orgo.errors import Forbidden, Unauthorized
from orgo.models import RefreshToken, User, utcnow
from orgo.schemas import TokenPair
from orgo.services.users import (
    Principal,
    PrincipalCache,
    end_sessions,
    find_by_email,
    normalise_email,
)

BAD_CREDENTIALS = "incorrect e-mail or password"
BAD_REFRESH = "refresh token is invalid, expired or revoked"
BAD_ACCESS = "invalid or expired access token"
BAD_CURRENT = "the current password is incorrect"


class AuthService:
    def __init__(
        self,
        settings: Settings,
        hashing: PasswordPool,
        tokens: AccessTokens,
        throttle: LoginThrottle,
    ) -> None:
        self._refresh_ttl = timedelta(seconds=settings.refresh_token_ttl_seconds)
        self._family_max = timedelta(seconds=settings.refresh_family_max_seconds)
        self.hashing = hashing
        self.passwords = hashing.passwords
        self.tokens = tokens
        self._throttle = throttle
        self._principals = PrincipalCache(settings.auth_cache_seconds)

    async def authenticate(
        self, sessions: async_sessionmaker[AsyncSession], token: str | None
    ) -> Principal:
        """The active user the access token was issued to, or Unauthorized."""
        if not token:
            raise Unauthorized("not authenticated")
        try:
            claims = self.tokens.verify(token)
        except InvalidTokenError as exc:
            raise Unauthorized(BAD_ACCESS) from exc
        principal = self._principals.get(claims.user_id)
        # A token newer than the cached record: the record is the stale one.
        if principal is None or principal.token_version < claims.token_version:
            async with sessions() as session:
                user = await session.get(User, claims.user_id)
            if user is None:
                raise Unauthorized(BAD_ACCESS)
            principal = Principal.of(user)
            self._principals.put(principal)
        if not principal.is_active or principal.token_version != claims.token_version:
            raise Unauthorized(BAD_ACCESS)
        return principal

    def forget(self, user_id: uuid.UUID) -> None:
        """Drops this process's record of the user (after a committed change to it)."""
        self._principals.drop(user_id)

    async def change_password(
        self, session: AsyncSession, principal: Principal, current: str, new: str, client: str
    ) -> None:
        """Limited like logins (the same counters); every session ends, this one included."""
        with self.hashing.admit():
            attempt = await self._throttle.begin(normalise_email(principal.email), client)
            user = await session.get(User, principal.id, with_for_update=True)
            if user is None or not await self.hashing.verify(user.password_hash, current):
                raise Forbidden(BAD_CURRENT)
            await self._throttle.succeeded(attempt)
            user.password_hash = await self.hashing.hash(new)
        await end_sessions(session, user)

    async def login(
        self, session: AsyncSession, email: str, password: str, client: str
    ) -> TokenPair:
        account = normalise_email(email)
        with self.hashing.admit():
            # Counted before the password is checked; the same whether or not it exists.
            attempt = await self._throttle.begin(account, client)
            user = await find_by_email(session, account)
            # Unknown accounts are checked against a dummy hash, in the same threads.
            valid = await self.hashing.verify(user.password_hash if user else None, password)
            if user is None or not valid or not user.is_active:
                raise Unauthorized(BAD_CREDENTIALS)
            await self._throttle.succeeded(attempt)
            if self.passwords.needs_rehash(user.password_hash):
                user.password_hash = await self.hashing.hash(password)
        return await self._issue(session, user, uuid.uuid4(), utcnow())

    async def refresh(self, session: AsyncSession, refresh_token: str) -> TokenPair:
        stored = await session.scalar(
            select(RefreshToken)
            .where(RefreshToken.token_hash == refresh_token_digest(refresh_token))
            .with_for_update()
        )
        now = utcnow()
        if (
            stored is None
            or stored.revoked_at is not None
            or stored.expires_at <= now
            # Tokens of families older than migration 0002 may expire after the family ends.
            or stored.family_started_at + self._family_max <= now
        ):
            raise Unauthorized(BAD_REFRESH)
        if stored.rotated_at is not None:
            await self._revoke_family(session, stored.family_id)
            await session.commit()  # the revocation must outlive the error response
            raise Unauthorized(BAD_REFRESH)
        user = await session.get(User, stored.user_id)
        if user is None or not user.is_active:
            raise Unauthorized(BAD_REFRESH)
        stored.rotated_at = utcnow()
        return await self._issue(session, user, stored.family_id, stored.family_started_at)

    async def logout(self, session: AsyncSession, refresh_token: str, user_id: uuid.UUID) -> None:
        """Revokes the family of the given refresh token, if it belongs to the caller."""
        stored = await session.scalar(
            select(RefreshToken).where(
                RefreshToken.token_hash == refresh_token_digest(refresh_token),
                RefreshToken.user_id == user_id,
            )
        )
        if stored is not None:
            await self._revoke_family(session, stored.family_id)

    async def _issue(
        self, session: AsyncSession, user: User, family_id: uuid.UUID, family_started: datetime
    ) -> TokenPair:
        refresh = new_refresh_token()
        session.add(
            RefreshToken(
                family_id=family_id,
                user_id=user.id,
                token_hash=refresh_token_digest(refresh),
                # Rotation renews the token's own lifetime, never the family's.
                expires_at=min(utcnow() + self._refresh_ttl, family_started + self._family_max),
                family_started_at=family_started,
            )
        )
        access, expires_in = self.tokens.issue(user.id, user.token_version)
        return TokenPair(access_token=access, expires_in=expires_in, refresh_token=refresh)

    @staticmethod
    async def _revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
