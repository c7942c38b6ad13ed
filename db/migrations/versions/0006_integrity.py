"""integrity: approvals name their revision and document hash, audit events their channel and
batch, rows the import batch that inserted them, sessions can be revoked for any reason; and
the database guards (db.guards) that keep the signed record unchangeable

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:40:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel types)
from alembic import op

from core.agreement import canonical_sha256
from db import guards

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('signed_out_at', new_column_name='sessions_revoked_at')

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      server_default='app', nullable=False))
        batch_op.add_column(sa.Column('batch_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_events_batch_id'), ['batch_id'], unique=False)
        batch_op.alter_column('object_id', existing_type=sa.String(length=128),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=255),
                              existing_nullable=False)
    op.execute("UPDATE audit_events SET channel = 'cli' WHERE actor = 'cli'")

    for table in ('leads', 'touches'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('import_batch_id', sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_{table}_import_batch_id'), ['import_batch_id'],
                                  unique=False)

    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('undone_by', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column('undone_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))

    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('document_sha256',
                                      sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    _name_what_earlier_approvals_approved()
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.alter_column('revision', existing_type=sa.Integer(), nullable=False)

    guards.install(op.get_bind())


def _name_what_earlier_approvals_approved() -> None:
    """An approval given before this revision approved the version as it is now (signed and
    agreed versions never changed since): its revision and the hash of its document."""
    connection = op.get_bind()
    versions = connection.execute(sa.text(
        "SELECT v.id, v.revision, v.document FROM agreement_versions v "
        "WHERE v.id IN (SELECT version_id FROM approvals)")).all()
    for version_id, number, document in versions:
        plain = json.loads(document) if isinstance(document, str) else document
        connection.execute(
            sa.text("UPDATE approvals SET revision = :revision, document_sha256 = :sha "
                    "WHERE version_id = :id"),
            {"revision": number, "sha": canonical_sha256(plain), "id": version_id})


def downgrade() -> None:
    guards.drop(op.get_bind())
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.drop_column('document_sha256')
        batch_op.drop_column('revision')
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_column('undone_at')
        batch_op.drop_column('undone_by')
    for table in ('touches', 'leads'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_import_batch_id'))
            batch_op.drop_column('import_batch_id')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_batch_id'))
        batch_op.alter_column('object_id', existing_type=sqlmodel.sql.sqltypes.AutoString(
            length=255), type_=sa.String(length=128), existing_nullable=False)
        batch_op.drop_column('batch_id')
        batch_op.drop_column('channel')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('sessions_revoked_at', new_column_name='signed_out_at')
