"""Connects to the data host's PostgreSQL, Redis and RabbitMQ the ways a client might.

Copied onto the app host and run by the app's own venv (asyncpg, redis-py and aiormq, the
libraries the app connects with), it reads its settings as JSON on stdin (no password on a
command line) and prints, per service and way, "ok" or the error that refused it:
  plaintext       no TLS at all
  without the CA  TLS trusting the system's store instead of the platform's CA
  verified        TLS verified against the platform's CA, as the app connects
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiormq
import asyncpg
import redis.asyncio as aioredis


async def postgres(settings: dict[str, Any], host: str, tls: object) -> None:
    connection = await asyncpg.connect(
        host=host,
        port=settings["port"],
        user=settings["user"],
        password=settings["password"],
        database=settings["database"],
        ssl=tls,
        timeout=10,
    )
    try:
        await connection.fetchval("select 1")
    finally:
        await connection.close()


async def redis(url: str) -> None:
    client = aioredis.Redis.from_url(url, socket_connect_timeout=10)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def amqp(url: str) -> None:
    connection = await aiormq.connect(url)
    await connection.close()


def ways(settings: dict[str, Any]) -> dict[str, dict[str, Callable[[], Awaitable[None]]]]:
    host, ca = settings["host"], settings["ca"]
    pg, rd, mq = settings["postgres"], settings["redis"], settings["amqp"]
    os.environ["PGSSLROOTCERT"] = ca  # what verify-full reads, as in the app's settings
    redis_base = f":{quote(rd['password'], safe='')}@{host}:{rd['port']}/0"
    amqp_base = (
        f"{quote(mq['user'], safe='')}:{quote(mq['password'], safe='')}@{host}:{mq['port']}"
        f"/{quote(mq['vhost'], safe='')}"
    )
    return {
        "postgres": {
            "plaintext": lambda: postgres(pg, host, False),
            "without the CA": lambda: postgres(pg, host, ssl.create_default_context()),
            "verified": lambda: postgres(pg, host, "verify-full"),
        },
        "redis": {
            "plaintext": lambda: redis(f"redis://{redis_base}"),
            "without the CA": lambda: redis(f"rediss://{redis_base}"),
            "verified": lambda: redis(f"rediss://{redis_base}?ssl_ca_certs={quote(ca)}"),
        },
        "amqp": {
            "plaintext": lambda: amqp(f"amqp://{amqp_base}"),
            "without the CA": lambda: amqp(f"amqps://{amqp_base}"),
            "verified": lambda: amqp(f"amqps://{amqp_base}?cafile={quote(ca)}"),
        },
    }


async def outcome(attempt: Callable[[], Awaitable[None]]) -> str:
    try:
        await asyncio.wait_for(attempt(), 20)
    except Exception as error:  # every refusal is the result
        causes = [error, *([error.__cause__] if error.__cause__ else [])]
        return " <- ".join(f"{type(e).__name__}: {e}" for e in causes)
    return "ok"


async def main() -> None:
    settings = json.load(sys.stdin)
    results = {
        service: {way: await outcome(attempt) for way, attempt in attempts.items()}
        for service, attempts in ways(settings).items()
    }
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
