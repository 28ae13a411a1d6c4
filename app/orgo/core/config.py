"""Settings of the API and the worker, read from `ORGO_*` environment variables.

One typed object, validated before anything starts; errors name the variable and what
is allowed. The same names are set by the Ansible role, the Helm chart and Pulumi.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"  # noqa: S105 - refused outside dev
MIN_SECRET_LENGTH = 32
LOOPBACK_NAMES = ("localhost",)
# OWASP's Argon2id minimums (Password Storage Cheat Sheet): memory (KiB) for each time cost,
# from 46 MiB at t=1 down to 7 MiB at t=5 and beyond. Enforced in staging and prod.
ARGON2_MIN_MEMORY_KIB = {1: 47_104, 2: 19_456, 3: 12_288, 4: 9_216, 5: 7_168}
ENV_PREFIX = "ORGO_"
# ORGO_* names the repository's tooling reads (Makefile, scripts/, the render, web/'s dev
# server), never the app: exported beside the app's own in a developer's shell.
TOOLING_VARIABLES = frozenset(
    {
        "ORGO_API_URL",
        "ORGO_ARTEFACT_CACHE",
        "ORGO_CHART_MIRROR",
        "ORGO_HOST_IMAGE",
        "ORGO_HOST_IMAGE_SOURCE",
        "ORGO_HOST_RELEASE",
        "ORGO_HOST_RUN_OPTIONS",
        "ORGO_FUZZ_TOKEN",
    }
)


class Environment(StrEnum):
    dev = "dev"
    test = "test"
    staging = "staging"
    prod = "prod"


Seconds = Annotated[float, Field(gt=0)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    env: Environment = Environment.dev
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    web_concurrency: int = Field(1, ge=1, le=64)
    log_level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    # /docs and /openapi.json (orgo.api.docs); unset: on in dev, off everywhere else.
    docs_enabled: bool | None = None
    # How long a stopping API lets requests in flight finish before it closes them.
    graceful_shutdown_seconds: int = Field(10, ge=1, le=600)
    # Larger request bodies are refused (413) before they are read (orgo.api.body_limit);
    # 1 MiB, as nginx's client_max_body_size 1m on the hosts.
    max_body_bytes: int = Field(1_048_576, ge=1024, le=1_073_741_824)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's
    # forwarded_allow_ips): addresses or networks, comma-separated; empty trusts none.
    forwarded_allow_ips: Annotated[tuple[str, ...], NoDecode] = ("127.0.0.1", "::1")
    # The built web UI (`make web`: web/dist), served at / next to the API (orgo.api.web);
    # unset, the API serves no UI (Kubernetes and hosts serve it from nginx).
    web_dir: Path | None = None

    database_url: str = "sqlite+aiosqlite:///.orgo/orgo.db"
    database_pool_size: int = Field(10, ge=1, le=200)
    redis_url: str = ""
    amqp_url: str = ""
    dependency_timeout_seconds: Seconds = 1.0

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_issuer: str = "orgo"
    jwt_audience: str = "orgo-api"
    access_token_ttl_seconds: int = Field(900, ge=30, le=86_400)
    refresh_token_ttl_seconds: int = Field(14 * 86_400, ge=60, le=90 * 86_400)
    # A refresh-token family (one login) ends this long after the login, however often it
    # is rotated.
    refresh_family_max_seconds: int = Field(30 * 86_400, ge=60, le=365 * 86_400)

    argon2_time_cost: int = Field(3, ge=1, le=10)
    argon2_memory_cost_kib: int = Field(65_536, ge=8_192, le=1_048_576)
    argon2_parallelism: int = Field(4, ge=1, le=16)

    # How long an authenticated user's record is reused without a database read; a
    # deactivation takes effect within this time.
    auth_cache_seconds: int = Field(30, ge=0, le=3600)
    # Failed logins (orgo.core.ratelimit): per account from one client address, per client
    # address across accounts, and per account across addresses (then a doubling delay).
    login_max_attempts: int = Field(5, ge=1, le=1000)
    login_client_max_attempts: int = Field(50, ge=1, le=100_000)
    login_account_max_attempts: int = Field(20, ge=1, le=100_000)
    login_window_seconds: int = Field(300, ge=1, le=86_400)
    # Password hashing threads per process, and how many more logins may wait for one
    # before they are refused (orgo.core.security.PasswordPool).
    login_concurrency: int = Field(2, ge=1, le=64)
    login_max_waiting: int = Field(16, ge=0, le=10_000)

    cache_ttl_seconds: int = Field(60, ge=1, le=86_400)
    # Each API process also keeps the tasks it read from Redis, for at most this long and
    # only while Redis reports changes to it (orgo.core.local_cache); 0 turns that off.
    local_cache_seconds: int = Field(5, ge=0, le=300)
    local_cache_entries: int = Field(10_000, ge=1, le=1_000_000)

    worker_metrics_port: int = Field(9464, ge=1, le=65535)
    worker_prefetch: int = Field(16, ge=1, le=1000)
    worker_max_attempts: int = Field(5, ge=1, le=100)
    worker_retry_base_seconds: Seconds = 1.0
    relay_interval_seconds: Seconds = 0.5
    relay_batch_size: int = Field(100, ge=1, le=10_000)
    outbox_retention_seconds: int = Field(7 * 86_400, ge=60)
    outbox_cleanup_interval_seconds: Seconds = 3600.0
    overdue_sweep_interval_seconds: Seconds = 300.0

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _proxy_addresses(cls, value: Any) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else value
        return tuple(_proxy_address(str(item).strip()) for item in items if str(item).strip())

    @field_validator("web_dir")
    @classmethod
    def _built_ui(cls, value: Path | None) -> Path | None:
        if value is not None and not (value / "index.html").is_file():
            raise ValueError(
                f"{value} holds no index.html: it must be the built web UI (make web writes "
                "web/dist), or leave ORGO_WEB_DIR unset to serve no UI"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        allowed = ("postgresql+asyncpg://", "sqlite+aiosqlite://")
        if not value.startswith(allowed):
            raise ValueError(f"must start with one of {', '.join(allowed)}")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://")):
            raise ValueError("must be empty (no cache) or start with redis:// or rediss://")
        return value

    @field_validator("amqp_url")
    @classmethod
    def _known_amqp(cls, value: str) -> str:
        if value and not value.startswith(("amqp://", "amqps://")):
            raise ValueError("must be empty (in-process events) or start with amqp:// or amqps://")
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        dev = info.data.get("env", Environment.dev) == Environment.dev
        host = info.data.get("host", "127.0.0.1")
        if dev and _is_loopback(host):
            return value
        secret = value.get_secret_value()
        if secret == DEV_JWT_SECRET or len(secret) < MIN_SECRET_LENGTH:
            where = (
                f"when ORGO_HOST={host} is not a loopback address"
                if dev
                else ("outside ORGO_ENV=dev")
            )
            raise ValueError(
                f"ORGO_JWT_SECRET must be a non-default secret of at least "
                f"{MIN_SECRET_LENGTH} characters {where}"
            )
        return value

    @field_validator("argon2_memory_cost_kib")
    @classmethod
    def _owasp_argon2(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("env") not in (Environment.staging, Environment.prod):
            return value
        time_cost = info.data.get("argon2_time_cost", 1)
        floor = ARGON2_MIN_MEMORY_KIB[min(time_cost, max(ARGON2_MIN_MEMORY_KIB))]
        if value < floor:
            pairs = ", ".join(f"t={t}: {m}" for t, m in ARGON2_MIN_MEMORY_KIB.items())
            raise ValueError(
                f"with ORGO_ARGON2_TIME_COST={time_cost}, staging and prod need at least "
                f"{floor} KiB (OWASP minimums: {pairs}, t>5 as t=5)"
            )
        return value

    @model_validator(mode="after")
    def _real_services_in_production(self) -> Settings:
        if self.env not in (Environment.staging, Environment.prod):
            return self
        missing = [
            name
            for name, ok in (
                (
                    "ORGO_DATABASE_URL (postgresql+asyncpg://...)",
                    self.database_url.startswith("postgresql"),
                ),
                ("ORGO_REDIS_URL", bool(self.redis_url)),
                ("ORGO_AMQP_URL", bool(self.amqp_url)),
            )
            if not ok
        ]
        if missing:
            raise ValueError(f"ORGO_ENV={self.env} requires {', '.join(missing)}")
        return self

    @property
    def serves_docs(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else self.env == Environment.dev

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: only this machine can connect."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _proxy_address(item: str) -> str:
    """One trusted proxy: an IP address or a network, never everything."""
    allowed = "IP addresses or CIDR networks of your reverse proxies, e.g. 10.0.2.0/24"
    if item == "*":
        raise ValueError(f"'*' would trust X-Forwarded-For from anyone; list {allowed}")
    try:
        network = ipaddress.ip_network(item, strict=True)
    except ValueError as exc:
        raise ValueError(f"{exc}; list {allowed}") from None
    if network.prefixlen == 0:
        raise ValueError(f"{item} would trust X-Forwarded-For from anyone; list {allowed}")
    return item


def variable_names() -> list[str]:
    """Every ORGO_* variable the app reads: one per Settings field."""
    return [f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields]


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """ORGO_* names in `environ` that are neither a setting nor a tooling variable (a typo
    would otherwise be ignored and its default used)."""
    known = set(variable_names()) | TOOLING_VARIABLES
    return sorted(name for name in environ if name.startswith(ENV_PREFIX) and name not in known)


@lru_cache
def get_settings() -> Settings:
    return Settings()
