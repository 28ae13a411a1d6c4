"""One ComponentResource per platform capability; infra/program.py composes them."""
