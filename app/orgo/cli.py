"""The `orgo` command: api, worker, migrate, user create, openapi."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import shutil
import sys
from pathlib import Path

from pydantic import ValidationError

from orgo.core.config import Settings, get_settings, unknown_variables, variable_names


def _settings_or_exit() -> Settings:
    """The settings, or exit 2 with one line per bad or unknown variable (never echoing a
    value)."""
    unknown = unknown_variables(os.environ)
    if unknown:
        for name in unknown:
            print(f"orgo: unknown variable {name}", file=sys.stderr)
        print(f"orgo: the ORGO_* variables are {', '.join(variable_names())}", file=sys.stderr)
        raise SystemExit(2)
    try:
        return get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            name = f"ORGO_{field.upper()}" if field else "settings"
            print(f"orgo: invalid {name}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def _reset_multiprocess_dir() -> None:
    # Stale files from a previous run would be summed into the new run's metrics.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, mode=0o700)


def run_api(_args: argparse.Namespace) -> None:
    import uvicorn

    settings = _settings_or_exit()
    _reset_multiprocess_dir()
    uvicorn.run(
        "orgo.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.web_concurrency,
        log_config=None,
        access_log=False,
        # request.client is the address the trusted proxies forwarded, not theirs.
        proxy_headers=True,
        forwarded_allow_ips=list(settings.forwarded_allow_ips),
        server_header=False,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
    )


def run_worker(_args: argparse.Namespace) -> None:
    from orgo.worker.main import run

    settings = _settings_or_exit()
    _reset_multiprocess_dir()
    asyncio.run(run(settings))


def run_migrate(_args: argparse.Namespace) -> None:
    from orgo.migrations.runner import upgrade_to_head

    upgrade_to_head(_settings_or_exit())
    print("orgo: database is at the latest schema")


def _read_password(args: argparse.Namespace) -> str:
    if args.password_file:
        try:
            password = Path(args.password_file).read_text().rstrip("\n")
        except OSError as exc:
            raise SystemExit(f"orgo: cannot read --password-file: {exc.strerror}") from None
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    return password


def run_user_create(args: argparse.Namespace) -> None:
    from orgo.users_cli import create_user_from_cli

    settings = _settings_or_exit()
    message = asyncio.run(
        create_user_from_cli(settings, args.email, _read_password(args), args.admin)
    )
    print(message)


def run_openapi(args: argparse.Namespace) -> None:
    from orgo.main import create_app

    document = create_app(_settings_or_exit()).openapi()
    # ASCII-only: the title and description patterns name invisible characters, which stay
    # visible as \u escapes in the file.
    text = json.dumps(document, indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)


def build_parser() -> argparse.ArgumentParser:
    # No abbreviations: `--password x` must not be taken for `--password-file x`.
    parser = argparse.ArgumentParser(prog="orgo", description=__doc__, allow_abbrev=False)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("api", help="serve the HTTP API").set_defaults(func=run_api)
    commands.add_parser("worker", help="run the event worker").set_defaults(func=run_worker)
    commands.add_parser("migrate", help="upgrade the database schema").set_defaults(
        func=run_migrate
    )
    openapi = commands.add_parser(
        "openapi", help="write the API's OpenAPI document (served or not) as JSON"
    )
    openapi.add_argument("--output", default="-", help="file to write (default: stdout)")
    openapi.set_defaults(func=run_openapi)
    user = commands.add_parser("user", help="manage users", allow_abbrev=False).add_subparsers(
        dest="user_command", required=True
    )
    create = user.add_parser(
        "create",
        help="create a user; the password is read from stdin or --password-file",
        allow_abbrev=False,
    )
    create.add_argument("--email", required=True)
    create.add_argument("--admin", action="store_true", help="give the user admin rights")
    create.add_argument("--password-file", help="file holding the password (first line)")
    create.set_defaults(func=run_user_create)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)
