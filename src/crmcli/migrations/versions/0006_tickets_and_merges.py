"""service tickets and merges

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-06

Spec §14 and §15: ``ticket`` (a customer's service tickets, coded T+YYYYMM+serial), ``merge``
(which customer went into which, as which change set) and ``customer.merged_into`` (a merged
customer points at the one it went into). Nothing existing changes: the new column is empty.
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ticket',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(), nullable=False),
    sa.Column('content', sa.String(), nullable=True),
    sa.Column('status', sa.String(), server_default=sa.text("'open'"), nullable=False),
    sa.Column('handler', sa.String(), nullable=True),
    sa.Column('opened_at', sa.Date(), nullable=False),
    sa.Column('resolved_at', sa.Date(), nullable=True),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(), nullable=True),
    sa.Column('by', sa.String(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_customer', ['customer_id', 'opened_at', 'id'], unique=False)
        batch_op.create_index('ix_ticket_opened', ['opened_at'], unique=False)
    op.create_table('merge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('keep_id', sa.Integer(), nullable=False),
    sa.Column('other_id', sa.Integer(), nullable=False),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.String(), nullable=False),
    sa.Column('by', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['set_id'], ['change_set.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    # ALTER TABLE ADD COLUMN: the customer table is not rebuilt, its rows and ids stay as they are
    op.add_column('customer', sa.Column('merged_into', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('merged_into')
    op.drop_table('merge')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_opened')
        batch_op.drop_index('ix_ticket_customer')
    op.drop_table('ticket')
