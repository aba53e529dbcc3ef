"""change log

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Spec §18: every writing command is a change set; the rows it touched are its changes (fields
before and after). Existing import batches become change sets of kind "import" (their undo still
goes through ``batch_change``), so ``crm history`` lists them and ``crm undo`` takes them back.
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('change_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.String(), nullable=False),
    sa.Column('user', sa.String(), nullable=True),
    sa.Column('command', sa.String(), nullable=True),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('undoes', sa.Integer(), nullable=True),
    sa.Column('undone_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('table_name', sa.String(), nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=False),
    sa.Column('op', sa.String(), nullable=False),
    sa.Column('before', sa.String(), nullable=True),
    sa.Column('after', sa.String(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['set_id'], ['change_set.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('change', schema=None) as batch_op:
        batch_op.create_index('ix_change_set', ['set_id'], unique=False)
        batch_op.create_index('ix_change_customer', ['customer_id', 'set_id'], unique=False)
        batch_op.create_index('ix_change_row', ['table_name', 'row_id', 'set_id'], unique=False)
    # every import so far is a change set (in batch order), undone when its batch was
    op.execute(
        "INSERT INTO change_set (at, \"user\", command, kind, batch_id) "
        "SELECT started_at, NULL, 'crm import ' || file, 'import', id FROM import_batch ORDER BY id"
    )


def downgrade() -> None:
    with op.batch_alter_table('change', schema=None) as batch_op:
        batch_op.drop_index('ix_change_row')
        batch_op.drop_index('ix_change_customer')
        batch_op.drop_index('ix_change_set')
    op.drop_table('change')
    op.drop_table('change_set')
