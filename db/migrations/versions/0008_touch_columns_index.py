"""touches indexed by lead with every column a measurement reads: a window's touches are read
from the index alone (the plain lead_id index it replaces is its prefix)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 18:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_touches_lead_columns', 'touches',
                    ['lead_id', 'at', 'kind', 'rep', 'automated'], unique=False)
    op.drop_index('ix_touches_lead_id', table_name='touches')


def downgrade() -> None:
    op.create_index('ix_touches_lead_id', 'touches', ['lead_id'], unique=False)
    op.drop_index('ix_touches_lead_columns', table_name='touches')
