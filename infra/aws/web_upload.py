"""`make web-upload STACK=prod`: the built UI (web/dist) into the stack's web bucket, with
the Cache-Control the app and nginx send (hashed assets immutable, everything else
revalidated), then CloudFront's copy of index.html invalidated.

Order matters for viewers mid-deploy: the new hashed assets land before the index.html
that names them, and old assets stay (a page loaded before the deploy still finds its
files; the bucket's lifecycle drops only overwritten versions). Runs the AWS CLI with the
caller's credentials, reads the bucket and distribution from the stack's outputs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from infra.versions import REPO_ROOT
from orgo.api.web import HASHED_ASSETS, IMMUTABLE, INDEX, REVALIDATE

DIST = REPO_ROOT / "web" / "dist"
_QUIET = ["--only-show-errors", "--no-progress"]


def upload_commands(dist: Path, bucket: str, distribution_id: str) -> list[list[str]]:
    """The AWS CLI commands, in order, that publish `dist`."""
    if not (dist / INDEX).is_file():
        raise FileNotFoundError(f"{dist / INDEX} is missing: run `make web` first")
    assets = HASHED_ASSETS.strip("/")
    return [
        [
            "aws", "s3", "sync", str(dist / assets), f"s3://{bucket}/{assets}",
            "--cache-control", IMMUTABLE, *_QUIET,
        ],
        # Everything else (index.html, icons, the manifest) under the same name each
        # build: revalidated; files no longer built are removed, assets/ never.
        [
            "aws", "s3", "sync", str(dist), f"s3://{bucket}",
            "--exclude", f"{assets}/*", "--delete", "--cache-control", REVALIDATE, *_QUIET,
        ],
        [
            "aws", "cloudfront", "create-invalidation", "--distribution-id", distribution_id,
            "--paths", f"/{INDEX}",
        ],
    ]  # fmt: skip


def stack_outputs(stack: str) -> tuple[str, str]:
    """(webBucket, webDistributionId) of the stack, from `pulumi stack output`."""
    raw = subprocess.run(  # noqa: S603 (the Pulumi CLI on PATH, arguments from our program)
        ["pulumi", "stack", "output", "--json", "--stack", stack],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    outputs = json.loads(raw)
    missing = [k for k in ("webBucket", "webDistributionId") if k not in outputs]
    if missing:
        raise SystemExit(
            f"stack {stack} has no output {', '.join(missing)}: set orgo:aws.cdn.enabled: true "
            "and run `pulumi up` first"
        )
    return str(outputs["webBucket"]), str(outputs["webDistributionId"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--dist", type=Path, default=DIST)
    args = parser.parse_args(argv)
    bucket, distribution_id = stack_outputs(args.stack)
    for command in upload_commands(args.dist, bucket, distribution_id):
        subprocess.run(command, check=True)  # noqa: S603 (the AWS CLI, our arguments)


if __name__ == "__main__":
    main()
