"""team deployment: each worker's heartbeat (readiness says whether a worker is alive), and
each editor's working copy of a draft kept in the database (a restarted or lost replica loses
no one's unsaved edits)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString
STAMP = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'worker_heartbeats',
        sa.Column('worker', TEXT(length=128), nullable=False),
        sa.Column('queue', TEXT(length=16), nullable=False),
        sa.Column('started_at', STAMP(), nullable=False),
        sa.Column('seen_at', STAMP(), nullable=False),
        sa.PrimaryKeyConstraint('worker'),
    )
    op.create_index(op.f('ix_worker_heartbeats_seen_at'), 'worker_heartbeats', ['seen_at'])
    op.create_table(
        'working_copies',
        sa.Column('username', TEXT(length=64), nullable=False),
        sa.Column('agreement_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('updated_at', STAMP(), nullable=False),
        sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('username', 'agreement_id', 'number'),
    )


def downgrade() -> None:
    op.drop_table('working_copies')
    op.drop_index(op.f('ix_worker_heartbeats_seen_at'), table_name='worker_heartbeats')
    op.drop_table('worker_heartbeats')
