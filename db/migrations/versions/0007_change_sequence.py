"""the change sequence of leads and touches (db.changes): readers refresh only what changed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel types)
from alembic import op

from db import guards

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('data_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('epoch', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    for table in ('leads', 'touches'):
        # Rows from before carry stamp 0: every reader's first read includes them.
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), server_default='0',
                                          nullable=False))
            batch_op.create_index(batch_op.f(f'ix_{table}_change_seq'), ['change_seq'],
                                  unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        guards.install(op.get_bind())  # a batch rebuild on SQLite drops a table's triggers


def downgrade() -> None:
    for table in ('touches', 'leads'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_change_seq'))
            batch_op.drop_column('change_seq')
    op.drop_table('data_changes')
