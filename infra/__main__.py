"""Pulumi entry point (`main: infra/`): validate the stack config, then deploy."""

import sys
from pathlib import Path

# Pulumi runs this file from infra/; the program imports itself as `infra.*`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.config import load_stack_config
from infra.program import deploy

deploy(load_stack_config())
