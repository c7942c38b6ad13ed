"""lead search: indexes for the Leads search page (core.services.lead_search) at a million
leads: each filter (owner, channel, segment, region, stage) with the MQL period and the id, and
the lowered name, company, email and external id, and the words of names and companies, for
search by prefix and for sorting (PostgreSQL compares them as bytes, COLLATE "C", as SQLite
does). The owner's index with mql_at replaces the plain owner index, its prefix.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A lead's furthest stage, as core.services.lead_search.STAGES numbers them; written as
# PostgreSQL prints it back (autogenerate compares the text).
STAGE = (
    "(\nCASE\n    WHEN won_at IS NOT NULL THEN 5\n    WHEN lost_at IS NOT NULL THEN 6\n"
    "    WHEN opportunity_at IS NOT NULL THEN 4\n    WHEN sql_at IS NOT NULL THEN 3\n"
    "    WHEN rejected_at IS NOT NULL AND (accepted_at IS NULL OR rejected_at > accepted_at)"
    " THEN 2\n    WHEN accepted_at IS NOT NULL THEN 1\n"
    "    WHEN mql_at IS NOT NULL THEN 0\n    ELSE NULL\nEND)"
)


def _rest(text: str) -> str:
    """The text from its second word on (SQL on both backends)."""
    return f"ltrim(ltrim({text}, replace({text}, ' ', '')), ' ')"


# name: (expression, with id for sorting)
SEARCH = {
    'ix_leads_name_lower': ("lower(name)", True),
    'ix_leads_name_word2': (_rest("lower(name)"), False),
    'ix_leads_name_word3': (_rest(_rest("lower(name)")), False),
    'ix_leads_company_lower': ("lower(company)", True),
    'ix_leads_company_word2': (_rest("lower(company)"), False),
    'ix_leads_company_word3': (_rest(_rest("lower(company)")), False),
    'ix_leads_email_lower': ("lower(email)", False),
    'ix_leads_external_id_lower': ("lower(external_id)", True),
}
FILTERS = ('channel', 'segment', 'region')


def upgrade() -> None:
    op.create_index('ix_leads_owner_mql_at', 'leads', ['owner', 'mql_at', 'id'], unique=False)
    op.drop_index('ix_leads_owner', table_name='leads')
    for column in FILTERS:
        op.create_index(f'ix_leads_{column}_mql_at', 'leads', [column, 'mql_at', 'id'],
                        unique=False)
    op.create_index('ix_leads_stage_mql_at', 'leads',
                    [sa.literal_column(STAGE).label('stage'), 'mql_at', 'id'], unique=False)
    for name, (expression, with_id) in SEARCH.items():
        op.create_index(name, 'leads',
                        [sa.literal_column(expression).label('key')] + (['id'] if with_id else []),
                        unique=False, postgresql_ops={'key': 'COLLATE "C"'})


def downgrade() -> None:
    for name in reversed(SEARCH):
        op.drop_index(name, table_name='leads')
    op.drop_index('ix_leads_stage_mql_at', table_name='leads')
    for column in reversed(FILTERS):
        op.drop_index(f'ix_leads_{column}_mql_at', table_name='leads')
    op.create_index('ix_leads_owner', 'leads', ['owner'], unique=False)
    op.drop_index('ix_leads_owner_mql_at', table_name='leads')
