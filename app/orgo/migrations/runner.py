"""`orgo migrate`: Alembic upgrades driven from the settings, no alembic.ini needed."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from orgo.core.config import Settings


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", "orgo:migrations")
    # Passed as an attribute, not an option: ini interpolation would mangle a '%' in a password.
    config.attributes["database_url"] = settings.database_url
    return config


def upgrade_to_head(settings: Settings) -> None:
    command.upgrade(alembic_config(settings), "head")
