"""a signed quarterly review also freezes its causes of the misses

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reviews signed before this revision keep causes NULL and show them from the live data.
    with op.batch_alter_table('quarterly_reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('causes', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('quarterly_reviews', schema=None) as batch_op:
        batch_op.drop_column('causes')
