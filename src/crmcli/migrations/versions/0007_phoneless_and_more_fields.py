"""phone-less customers, other phones, address, wechat, region

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-06

Spec §3 and §12: a customer may have no phone (``phone`` NULL, ``phone_key`` '', so that the
identity index makes the name alone identify it); further phones are kept (``other_phones`` as
shown, their keys in ``customer_phone`` for matching and REF lookup); address, WeChat and region
are built-in fields. SQLite cannot drop a NOT NULL in place: the customer table is rebuilt in
batch mode (its children survive: foreign keys are off during the upgrade, see env.py).

A custom field a user made for one of the new built-ins (seed 004 suggests 客户所属区域) becomes
it: its values fill the new column where it is empty, and the custom field is hidden (``crm field
remove``: its values stay). The key or the label decides, compared as import headers are.
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
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
    _adopt_custom_fields()


# The new built-ins and the names that were theirs (as in crmcli.fields at this revision).
_BUILT_IN = {
    "region": ("region", "区域", "客户所属区域", "所属区域", "地区", "省市区", "所在地区", "所在地", "territory", "area"),
    "address": ("address", "地址", "详细地址", "客户地址", "公司地址", "联系地址", "通讯地址", "street"),
    "wechat": ("wechat", "微信", "微信号", "微信账号", "wechatid"),
}


def _fold(text):
    import re
    import unicodedata

    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", text or "").strip().casefold())


def _adopt_custom_fields() -> None:
    conn = op.get_bind()
    defs = conn.execute(sa.text("SELECT key, label FROM custom_field WHERE NOT hidden")).all()
    for column, names in _BUILT_IN.items():
        folded = {_fold(n) for n in names}
        for key, label in defs:
            if _fold(key) in folded or _fold(label) in folded:
                conn.execute(sa.text(
                    f"UPDATE customer SET {column} = (SELECT value FROM custom_value v WHERE v.customer_id = customer.id "
                    f"AND v.field_key = :k) WHERE {column} IS NULL"
                ), {"k": key})
                conn.execute(sa.text("UPDATE custom_field SET hidden = 1 WHERE key = :k"), {"k": key})
                break


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
