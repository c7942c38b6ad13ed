"""leads at scale: the owner history of a lead (reassignments), its accept/reject decisions
with notes and undos, and an outcome and a note on a touch

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 15:12:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel types)
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('lead_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('undone_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('undone_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lead_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_lead_decisions_lead_at', ['lead_id', 'decided_at'], unique=False)

    op.create_table('lead_owner_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('from_owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('to_owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('changed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('import_batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lead_owner_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_owner_changes_import_batch_id'), ['import_batch_id'], unique=False)
        batch_op.create_index('ix_lead_owner_changes_lead_at', ['lead_id', 'at'], unique=False)

    with op.batch_alter_table('touches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('touches', schema=None) as batch_op:
        batch_op.drop_column('note')
        batch_op.drop_column('outcome')

    with op.batch_alter_table('lead_owner_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_owner_changes_lead_at')
        batch_op.drop_index(batch_op.f('ix_lead_owner_changes_import_batch_id'))

    op.drop_table('lead_owner_changes')
    with op.batch_alter_table('lead_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_decisions_lead_at')

    op.drop_table('lead_decisions')
