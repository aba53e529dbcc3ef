"""custom fields

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Two new tables (spec §11): ``custom_field`` (the definitions; ``hidden`` once removed, so that
values come back with ``field add``) and ``custom_value`` (one row per customer and field,
canonical text, indexed by field and value for ``list --where``). Nothing existing changes.
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('custom_field',
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('label', sa.String(), nullable=False),
    sa.Column('type', sa.String(), nullable=False),
    sa.Column('choices', sa.String(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('hidden', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.PrimaryKeyConstraint('key'),
    sa.UniqueConstraint('label')
    )
    op.create_table('custom_value',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('field_key', sa.String(), nullable=False),
    sa.Column('value', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['field_key'], ['custom_field.key'], ),
    sa.PrimaryKeyConstraint('customer_id', 'field_key')
    )
    with op.batch_alter_table('custom_value', schema=None) as batch_op:
        batch_op.create_index('ix_custom_value_lookup', ['field_key', 'value'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('custom_value', schema=None) as batch_op:
        batch_op.drop_index('ix_custom_value_lookup')
    op.drop_table('custom_value')
    op.drop_table('custom_field')
