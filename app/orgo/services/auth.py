"""Log in, refresh and log out: short-lived JWTs plus rotating refresh tokens.

Each login starts a token family. Refreshing rotates the token: the old one is marked
rotated and a new one issued in the same family. Presenting a rotated token again means it
was stolen (or replayed), so the whole family is revoked and the user must log in again.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

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
from orgo.errors import Unauthorized
from orgo.models import RefreshToken, User, utcnow
from orgo.schemas import TokenPair
from orgo.services.users import Principal, PrincipalCache, find_by_email, normalise_email

BAD_CREDENTIALS = "incorrect e-mail or password"
BAD_REFRESH = "refresh token is invalid, expired or revoked"
BAD_ACCESS = "invalid or expired access token"


class AuthService:
    def __init__(
        self,
        settings: Settings,
        hashing: PasswordPool,
        tokens: AccessTokens,
        throttle: LoginThrottle,
    ) -> None:
        self._refresh_ttl = timedelta(seconds=settings.refresh_token_ttl_seconds)
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
            user_id = self.tokens.verify(token).user_id
        except InvalidTokenError as exc:
            raise Unauthorized(BAD_ACCESS) from exc
        principal = self._principals.get(user_id)
        if principal is None:
            async with sessions() as session:
                user = await session.get(User, user_id)
            if user is None:
                raise Unauthorized(BAD_ACCESS)
            principal = Principal.of(user)
            self._principals.put(principal)
        if not principal.is_active:
            raise Unauthorized(BAD_ACCESS)
        return principal

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
        return await self._issue(session, user, family_id=uuid.uuid4())

    async def refresh(self, session: AsyncSession, refresh_token: str) -> TokenPair:
        stored = await session.scalar(
            select(RefreshToken)
            .where(RefreshToken.token_hash == refresh_token_digest(refresh_token))
            .with_for_update()
        )
        if stored is None or stored.revoked_at is not None or stored.expires_at <= utcnow():
            raise Unauthorized(BAD_REFRESH)
        if stored.rotated_at is not None:
            await self._revoke_family(session, stored.family_id)
            await session.commit()  # the revocation must outlive the error response
            raise Unauthorized(BAD_REFRESH)
        user = await session.get(User, stored.user_id)
        if user is None or not user.is_active:
            raise Unauthorized(BAD_REFRESH)
        stored.rotated_at = utcnow()
        return await self._issue(session, user, family_id=stored.family_id)

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

    async def _issue(self, session: AsyncSession, user: User, family_id: uuid.UUID) -> TokenPair:
        refresh = new_refresh_token()
        session.add(
            RefreshToken(
                family_id=family_id,
                user_id=user.id,
                token_hash=refresh_token_digest(refresh),
                expires_at=utcnow() + self._refresh_ttl,
            )
        )
        access, expires_in = self.tokens.issue(user.id)
        return TokenPair(access_token=access, expires_in=expires_in, refresh_token=refresh)

    @staticmethod
    async def _revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
