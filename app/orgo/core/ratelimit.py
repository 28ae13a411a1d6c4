"""Login limits, counted before any password is checked.

Three counters of failed attempts, each over `login_window_seconds`:

- one account from one client address: `login_max_attempts` (this hard limit only ever
  stops the address that keeps failing);
- one client address across accounts: `login_client_max_attempts` (password spraying);
- one account across addresses: after `login_account_max_attempts` failures, every further
  attempt waits 1 s, 2 s, 4 s ... (at most the window) after the last one (distributed
  guessing). A delay, not a lock: an attacker gets one guess per delay, and the account is
  open again one delay after the attacks stop.

An attempt counts as a failure from the moment it begins: checking the limits and counting
are one step (one Lua script in Redis; in this process, no await between them), so
concurrent guesses cannot all slip past a limit. A successful login takes its attempt back
(`succeeded`): the account's counters are cleared, and the client address loses that one
attempt only, so logging in to one's own account does not reset a spraying address.

While Redis is unavailable the same counters are kept in this process, so guessing is
still slowed down (per replica) rather than let through.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from orgo.core.config import Settings
from orgo.core.redis import RedisGateway, RedisUnavailable
from orgo.errors import TooManyAttempts

KEY_PREFIX = "orgo:login:"
# After the account limit, the first delay; it doubles with every further failure.
FIRST_DELAY_SECONDS = 1.0

# KEYS: account+client, client, account. ARGV: now (ms), window (ms), the three limits.
# Returns 0 when the attempt is counted, else the milliseconds to wait (nothing counted).
_BEGIN = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local first_delay = tonumber(ARGV[6])
local function wait_for(key, limit)
  if tonumber(redis.call('GET', key) or '0') >= limit then return redis.call('PTTL', key) end
  return 0
end
local function delay(failures)
  local over = failures - tonumber(ARGV[5])
  if over < 0 then return 0 end
  return math.min(first_delay * 2 ^ math.min(over, 40), window)
end
local failures = tonumber(redis.call('HGET', KEYS[3], 'n') or '0')
local last = tonumber(redis.call('HGET', KEYS[3], 't') or '0')
local wait = math.max(wait_for(KEYS[1], tonumber(ARGV[3])), wait_for(KEYS[2], tonumber(ARGV[4])),
                      last + delay(failures) - now)
if wait > 0 then return math.ceil(wait) end
for _, key in ipairs({KEYS[1], KEYS[2]}) do
  redis.call('INCR', key)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, window) end
end
failures = failures + 1
redis.call('HSET', KEYS[3], 'n', failures, 't', now)
redis.call('PEXPIRE', KEYS[3], window + delay(failures))
return 0
"""

# KEYS: as above. The account's counters go; the client address gets its attempt back.
_SUCCEEDED = """
redis.call('DEL', KEYS[1], KEYS[3])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 0
"""


@dataclass(frozen=True)
class Attempt:
    """A login attempt that was counted; `local` when it was counted in this process."""

    keys: tuple[str, str, str]
    local: bool


def _digest(*parts: str) -> str:
    # Hashed so that neither the e-mail nor the address is stored in Redis in clear.
    joined = "\x00".join(parts).encode()
    return KEY_PREFIX + hashlib.sha256(joined).hexdigest()[:32]


@dataclass(frozen=True)
class Limits:
    window: float
    per_account_and_client: int
    per_client: int
    per_account: int

    def delay(self, failures: int) -> float:
        """How long after the last failure an account with `failures` waits (0: no wait)."""
        over = failures - self.per_account
        if over < 0:
            return 0.0
        return min(FIRST_DELAY_SECONDS * 2.0 ** min(over, 40), self.window)


class _LocalCounters:
    """The Lua script's counters in this process's memory (used while Redis is away)."""

    MAX_KEYS = 100_000

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (failures, ends at)
        self._accounts: dict[str, tuple[int, float, float]] = {}  # (failures, last, ends at)

    def begin(self, keys: tuple[str, str, str], now: float) -> float:
        pair, client, account = keys
        limits = self._limits
        failures, last, _ = self._live_account(account, now)
        wait = max(
            self._wait_for(pair, limits.per_account_and_client, now),
            self._wait_for(client, limits.per_client, now),
            last + limits.delay(failures) - now,
        )
        if wait > 0:
            return wait
        for key in (pair, client):
            count, ends = self._live_window(key, now)
            self._windows[key] = (count + 1, ends if count else now + limits.window)
        failures += 1
        self._accounts[account] = (failures, now, now + limits.window + limits.delay(failures))
        self._bound(now)
        return 0.0

    def succeeded(self, keys: tuple[str, str, str], now: float) -> None:
        pair, client, account = keys
        self._windows.pop(pair, None)
        self._accounts.pop(account, None)
        count, ends = self._live_window(client, now)
        if count > 0:
            self._windows[client] = (count - 1, ends)

    def _live_window(self, key: str, now: float) -> tuple[int, float]:
        count, ends = self._windows.get(key, (0, 0.0))
        return (count, ends) if ends > now else (0, 0.0)

    def _live_account(self, key: str, now: float) -> tuple[int, float, float]:
        entry = self._accounts.get(key, (0, 0.0, 0.0))
        return entry if entry[2] > now else (0, 0.0, 0.0)

    def _wait_for(self, key: str, limit: int, now: float) -> float:
        count, ends = self._live_window(key, now)
        return ends - now if count >= limit else 0.0

    def _bound(self, now: float) -> None:
        """Forgets ended counters, then the oldest, when an outage piles too many up."""
        if len(self._windows) + len(self._accounts) <= self.MAX_KEYS:
            return
        self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        self._accounts = {k: v for k, v in self._accounts.items() if v[2] > now}
        for table in (self._windows, self._accounts):
            for key in list(table)[: max(0, len(table) - self.MAX_KEYS // 2)]:
                del table[key]


class LoginThrottle:
    """`begin` before checking a password, `succeeded` once it was right.

    `account` must be the normalised account name (orgo.services.users.normalise_email),
    the same form the account is looked up by.
    """

    def __init__(
        self, redis: RedisGateway, settings: Settings, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._limits = Limits(
            window=settings.login_window_seconds,
            per_account_and_client=settings.login_max_attempts,
            per_client=settings.login_client_max_attempts,
            per_account=settings.login_account_max_attempts,
        )
        self._local = _LocalCounters(self._limits)
        client = redis.client
        self._begin = client.register_script(_BEGIN) if client is not None else None
        self._succeeded = client.register_script(_SUCCEEDED) if client is not None else None

    @staticmethod
    def keys(account: str, client: str) -> tuple[str, str, str]:
        return (
            _digest("account+client", account, client),
            _digest("client", client),
            _digest("account", account),
        )

    async def begin(self, account: str, client: str) -> Attempt:
        """Counts one attempt, or raises TooManyAttempts (counting nothing) over a limit."""
        keys = self.keys(account, client)
        now = self._clock()
        wait = await self._begin_in_redis(keys, now)
        local = wait is None
        if wait is None:
            wait = self._local.begin(keys, now)
        if wait > 0:
            raise TooManyAttempts(max(1, math.ceil(wait)))
        return Attempt(keys, local)

    async def succeeded(self, attempt: Attempt) -> None:
        if attempt.local or self._succeeded is None:
            self._local.succeeded(attempt.keys, self._clock())
            return
        script = self._succeeded
        # If Redis is gone now, the attempt stays counted where it was counted: fails closed.
        with contextlib.suppress(RedisUnavailable):
            await self._redis.run(lambda c: script(list(attempt.keys), [], c))

    async def _begin_in_redis(self, keys: tuple[str, str, str], now: float) -> float | None:
        """Seconds to wait (0: counted), or None when Redis is unavailable."""
        if self._begin is None:
            return None
        script, limits = self._begin, self._limits
        args = [
            int(now * 1000),
            int(limits.window * 1000),
            limits.per_account_and_client,
            limits.per_client,
            limits.per_account,
            int(FIRST_DELAY_SECONDS * 1000),
        ]
        try:
            return int(await self._redis.run(lambda c: script(list(keys), args, c))) / 1000
        except RedisUnavailable:
            return None
