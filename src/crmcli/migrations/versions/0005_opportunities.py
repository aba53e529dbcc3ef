"""opportunities, products and purchase history

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Spec §13. The ``deal`` table becomes the opportunity table (销售机会): one source of truth, and the
name the change log and import batches already use for its rows. Every existing deal becomes a
won opportunity with the same customer, amount and date: stage ``won``, probability 100, closed
on its date, opened on its date, owned by its customer's owner, code ``O`` + YYYYMM of its date +
a serial (in id order within the month).

* ``product`` and ``deal_line`` (product, quantity, unit price) are new tables.
* ``stage_change.deal_id`` names the opportunity whose change moved the customer: set here for
  the change to won that each deal's ``crm stage ... won --amount`` recorded (same customer and
  day), so that deleting that deal later puts the customer's stage back.
* The customer gets its purchase history (``orders``, ``total_amount``, ``last_order_at``,
  ``main_products``: worked out here from its won deals) and an empty opening balance.
* The change log's images of deal rows (an undo re-inserts a row from them) gain the new
  columns, so that a deal deleted by an undo before the upgrade can still be put back.

Self-contained SQL and Python: the figures must be what this revision defines, whatever later
code does.
"""

import json

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_OPEN = ('potential', 'intent', 'negotiating')


def upgrade() -> None:
    op.add_column('customer', sa.Column('orders', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.add_column('customer', sa.Column('total_amount', sa.Float(), server_default=sa.text('0'), nullable=False))
    op.add_column('customer', sa.Column('last_order_at', sa.Date(), nullable=True))
    op.add_column('customer', sa.Column('main_products', sa.String(), nullable=True))
    op.add_column('customer', sa.Column('opening_orders', sa.Integer(), nullable=True))
    op.add_column('customer', sa.Column('opening_amount', sa.Float(), nullable=True))
    op.add_column('customer', sa.Column('opening_last_order_at', sa.Date(), nullable=True))
    op.add_column('customer', sa.Column('opening_products', sa.String(), nullable=True))
    op.add_column('stage_change', sa.Column('deal_id', sa.Integer(), nullable=True))

    op.create_table('product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(), nullable=True),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('name_key', sa.String(), nullable=False),
    sa.Column('price', sa.Float(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.create_index('ix_product_name_key', ['name_key'], unique=True)
        batch_op.create_index('ix_product_code', ['code'], unique=True)

    for column in (
        sa.Column('code', sa.String(), nullable=True),
        sa.Column('name', sa.String(), nullable=True),
        sa.Column('stage', sa.String(), nullable=True),
        sa.Column('probability', sa.Float(), nullable=True),
        sa.Column('expected_close', sa.Date(), nullable=True),
        sa.Column('closed_at', sa.Date(), nullable=True),
        sa.Column('owner', sa.String(), nullable=True),
        sa.Column('lost_reason', sa.String(), nullable=True),
        sa.Column('external_id', sa.String(), nullable=True),
    ):
        op.add_column('deal', column)
    conn = op.get_bind()
    _fill_deals(conn)
    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.alter_column('code', existing_type=sa.String(), nullable=False)
        batch_op.alter_column('stage', existing_type=sa.String(), nullable=False)
        batch_op.alter_column('probability', existing_type=sa.Float(), nullable=False)
        batch_op.create_index('ix_deal_code', ['code'], unique=True)
        batch_op.create_index('ix_deal_stage', ['stage', 'closed_at'], unique=False)
        batch_op.create_index('ix_deal_external', ['external_id'], unique=False)

    op.create_table('deal_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('unit_price', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['deal_id'], ['deal.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deal_line', schema=None) as batch_op:
        batch_op.create_index('ix_deal_line_deal', ['deal_id'], unique=False)
        batch_op.create_index('ix_deal_line_product', ['product_id'], unique=False)

    # each deal's change to won (crm stage ... won --amount recorded both, same customer and day)
    conn.execute(sa.text(
        "UPDATE stage_change SET deal_id = (SELECT MIN(d.id) FROM deal d WHERE d.customer_id = stage_change.customer_id "
        "AND d.date = stage_change.date) WHERE to_stage = 'won'"
    ))
    conn.execute(sa.text(
        "UPDATE customer SET (orders, total_amount, last_order_at) = (SELECT COUNT(*), COALESCE(SUM(d.amount), 0), "
        "MAX(d.closed_at) FROM deal d WHERE d.customer_id = customer.id AND d.stage = 'won') "
        "WHERE id IN (SELECT customer_id FROM deal)"
    ))
    _fill_images(conn)


class _Codes:
    """O + YYYYMM + a 3-digit serial (a 4th digit past 999), per month, in the order asked."""

    def __init__(self):
        self.last = {}

    def next(self, day):
        prefix = 'O' + str(day)[:4] + str(day)[5:7]
        self.last[prefix] = self.last.get(prefix, 0) + 1
        return f"{prefix}{self.last[prefix]:03d}"


def _fill_deals(conn):
    codes = _Codes()
    rows = conn.execute(sa.text(
        "SELECT d.id, d.date, c.owner FROM deal d LEFT JOIN customer c ON c.id = d.customer_id ORDER BY d.date, d.id"
    )).all()
    params = [{"id": i, "code": codes.next(day), "owner": owner} for i, day, owner in rows]
    if params:
        conn.execute(sa.text(
            "UPDATE deal SET code = :code, stage = 'won', probability = 100, closed_at = date, owner = :owner WHERE id = :id"
        ), params)
    conn.info['crm_0005_codes'] = codes


def _fill_images(conn):
    """The change log's deal images gain the new columns: from the row itself when it is still the
    same deal (same id, customer, day and amount), else as the migration would have made it."""
    codes = conn.info.pop('crm_0005_codes')
    current = {r[0]: r[1:] for r in conn.execute(sa.text(
        "SELECT id, customer_id, date, amount, code, owner FROM deal"
    )).all()}
    owners = dict(conn.execute(sa.text("SELECT id, owner FROM customer")).all())
    made = {}  # (id, customer, day, amount) -> the code an image of a deal that is gone gets
    rows = conn.execute(sa.text(
        "SELECT id, before, after FROM change WHERE table_name = 'deal' ORDER BY id"
    )).all()
    for change_id, before, after in rows:
        images: list[str | None] = []
        for text in (before, after):
            if text is None:
                images.append(None)
                continue
            image = json.loads(text)
            key = (image.get('id'), image.get('customer_id'), str(image.get('date')), float(image.get('amount') or 0))
            row = current.get(image.get('id'))
            if row is not None and (row[0], str(row[1]), float(row[2])) == key[1:]:
                code, owner = row[3], row[4]
            else:
                if key not in made:
                    made[key] = codes.next(image.get('date'))
                code, owner = made[key], owners.get(image.get('customer_id'))
            image.update(code=code, name=None, stage='won', probability=100.0, expected_close=None,
                         closed_at=image.get('date'), owner=owner, lost_reason=None, external_id=None)
            images.append(json.dumps(image, ensure_ascii=False, separators=(',', ':')))
        conn.execute(sa.text("UPDATE change SET before = :b, after = :a WHERE id = :id"),
                     {"b": images[0], "a": images[1], "id": change_id})


def downgrade() -> None:
    with op.batch_alter_table('deal_line', schema=None) as batch_op:
        batch_op.drop_index('ix_deal_line_product')
        batch_op.drop_index('ix_deal_line_deal')
    op.drop_table('deal_line')
    op.execute("DELETE FROM deal WHERE stage != 'won'")
    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.drop_index('ix_deal_external')
        batch_op.drop_index('ix_deal_stage')
        batch_op.drop_index('ix_deal_code')
        for name in ('external_id', 'lost_reason', 'owner', 'closed_at', 'expected_close', 'probability', 'stage', 'name', 'code'):
            batch_op.drop_column(name)
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_index('ix_product_code')
        batch_op.drop_index('ix_product_name_key')
    op.drop_table('product')
    with op.batch_alter_table('stage_change', schema=None) as batch_op:
        batch_op.drop_column('deal_id')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        for name in ('opening_products', 'opening_last_order_at', 'opening_amount', 'opening_orders',
                     'main_products', 'last_order_at', 'total_amount', 'orders'):
            batch_op.drop_column(name)
