"""alerts: escalation rules fired once per lead, notifications in the app and by email, the
delivery log, notification preferences, mail and chat channels, and a person's own zone and
quiet hours

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString
STAMP = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('timezone', TEXT(length=64), nullable=True))
        batch.add_column(sa.Column('quiet_start', TEXT(length=5), nullable=True))
        batch.add_column(sa.Column('quiet_end', TEXT(length=5), nullable=True))
    op.create_table(
        'alert_firings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agreement_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('lead_id', sa.Integer(), nullable=False),
        sa.Column('rule_id', TEXT(length=64), nullable=False),
        sa.Column('commitment', TEXT(length=64), nullable=False),
        sa.Column('trigger', TEXT(length=16), nullable=False),
        sa.Column('owner', TEXT(length=64), nullable=True),
        sa.Column('due', STAMP(), nullable=True),
        sa.Column('fired_at', STAMP(), nullable=False),
        sa.Column('outcome', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id']),
        sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('agreement_id', 'lead_id', 'rule_id',
                            name='uq_alert_firings_lead_rule'),
    )
    op.create_index(op.f('ix_alert_firings_lead_id'), 'alert_firings', ['lead_id'])
    op.create_index(op.f('ix_alert_firings_fired_at'), 'alert_firings', ['fired_at'])
    op.create_table(
        'deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', TEXT(length=64), nullable=False),
        sa.Column('recipient', TEXT(length=254), nullable=False),
        sa.Column('username', TEXT(length=64), nullable=True),
        sa.Column('subject', TEXT(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('cause', TEXT(length=120), nullable=False),
        sa.Column('state', TEXT(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', STAMP(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', STAMP(), nullable=False),
        sa.Column('sent_at', STAMP(), nullable=True),
        sa.Column('history', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_deliveries_state_next', 'deliveries', ['state', 'next_attempt_at'])
    op.create_index(op.f('ix_deliveries_created_at'), 'deliveries', ['created_at'])
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', TEXT(length=64), nullable=False),
        sa.Column('kind', TEXT(length=32), nullable=False),
        sa.Column('title', TEXT(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('link', TEXT(length=300), nullable=True),
        sa.Column('cause', TEXT(length=120), nullable=False),
        sa.Column('lead_id', sa.Integer(), nullable=True),
        sa.Column('urgent', sa.Boolean(), nullable=False),
        sa.Column('once_key', TEXT(length=160), nullable=True),
        sa.Column('created_at', STAMP(), nullable=False),
        sa.Column('deliver_after', STAMP(), nullable=False),
        sa.Column('read_at', STAMP(), nullable=True),
        sa.Column('email_state', TEXT(length=16), nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('once_key'),
    )
    op.create_index('ix_notifications_username_created', 'notifications',
                    ['username', 'created_at'])
    op.create_index('ix_notifications_email_state', 'notifications',
                    ['email_state', 'deliver_after'])
    op.create_table(
        'notification_preferences',
        sa.Column('username', TEXT(length=64), nullable=False),
        sa.Column('kind', TEXT(length=32), nullable=False),
        sa.Column('mode', TEXT(length=16), nullable=False),
        sa.Column('updated_at', STAMP(), nullable=False),
        sa.PrimaryKeyConstraint('username', 'kind'),
    )
    op.create_table(
        'channels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', TEXT(length=64), nullable=False),
        sa.Column('kind', TEXT(length=16), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('secret_hint', TEXT(length=80), nullable=False),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('updated_by', TEXT(length=64), nullable=False),
        sa.Column('updated_at', STAMP(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('channels')
    op.drop_table('notification_preferences')
    op.drop_index('ix_notifications_email_state', table_name='notifications')
    op.drop_index('ix_notifications_username_created', table_name='notifications')
    op.drop_table('notifications')
    op.drop_index(op.f('ix_deliveries_created_at'), table_name='deliveries')
    op.drop_index('ix_deliveries_state_next', table_name='deliveries')
    op.drop_table('deliveries')
    op.drop_index(op.f('ix_alert_firings_fired_at'), table_name='alert_firings')
    op.drop_index(op.f('ix_alert_firings_lead_id'), table_name='alert_firings')
    op.drop_table('alert_firings')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('quiet_end')
        batch.drop_column('quiet_start')
        batch.drop_column('timezone')
