"""Generated credentials for the managed data services, kept as Pulumi secrets."""

from __future__ import annotations

import pulumi
import pulumi_random as random


def generated_password(name: str, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """32 letters and digits (~190 bits): every service's password alphabet accepts them,
    so none needs its own list of forbidden characters. The result is a Pulumi secret."""
    password = random.RandomPassword(name, length=32, special=False, opts=opts)
    return pulumi.Output.secret(password.result)
