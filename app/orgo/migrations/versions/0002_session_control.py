"""session control: a token version per user, a start time per refresh-token family

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 13:00:00

`users.token_version` goes into every access token; bumping it (password change,
deactivation) makes the user's earlier tokens refused. `refresh_tokens.family_started_at`
bounds a family's life however often it is rotated; existing families start when their
first token was issued.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("family_started_at", sa.DateTime(timezone=True), nullable=True)
        )
    tokens = sa.table(
        "refresh_tokens",
        sa.column("family_id", sa.Uuid()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("family_started_at", sa.DateTime(timezone=True)),
    )
    first = tokens.alias("first_of_family")
    op.execute(
        tokens.update().values(
            family_started_at=sa.select(sa.func.min(first.c.created_at))
            .where(first.c.family_id == tokens.c.family_id)
            .scalar_subquery()
        )
    )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.alter_column("family_started_at", nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_column("family_started_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("token_version")
