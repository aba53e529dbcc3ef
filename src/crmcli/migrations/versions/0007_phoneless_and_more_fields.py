"""phone-less customers, other phones, address, wechat, region

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-06

Spec §3 and §12: a customer may have no phone (``phone`` NULL, ``phone_key`` '', so that the
identity index makes the name alone identify it); further phones are kept (``other_phones`` as
shown, their keys in ``customer_phone`` for matching and REF lookup); address, WeChat and region
are built-in fields. SQLite cannot drop a NOT NULL in place: the customer table is rebuilt in
batch mode (its children survive: foreign keys are off during the upgrade, see env.py).
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.alter_column('phone', existing_type=sa.String(), nullable=True)
        batch_op.alter_column('phone_key', existing_type=sa.String(), server_default=sa.text("''"))
        batch_op.add_column(sa.Column('other_phones', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('address', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('wechat', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('region', sa.String(), nullable=True))
    op.create_table('customer_phone',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('phone_key', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'phone_key')
    )
    with op.batch_alter_table('customer_phone', schema=None) as batch_op:
        batch_op.create_index('ix_customer_phone_key_other', ['phone_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer_phone', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_phone_key_other')
    op.drop_table('customer_phone')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('region')
        batch_op.drop_column('wechat')
        batch_op.drop_column('address')
        batch_op.drop_column('other_phones')
        batch_op.alter_column('phone', existing_type=sa.String(), nullable=False)
