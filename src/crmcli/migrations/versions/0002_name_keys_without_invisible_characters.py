"""name keys without invisible characters

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

A data migration, no DDL (so nothing for SQLite's batch mode to rebuild; it runs inside the one
upgrade transaction of env.py). The 0001 name key kept most characters that show nothing
(direction marks, variation selectors, Hangul fillers, tag characters...), so "星辰\u200e贸易"
and "星辰贸易" with one phone were two customers. ``normalize.name_key`` now drops them
(``normalize.drop_invisible``); this recomputes the stored key of each customer whose name
holds such a character -- and only those: every other key is the same under both rules.

* A customer whose new key would make it the same customer as another one (the
  ``uq_customer_identity`` index: name key + phone key) keeps its old key and is left as it is,
  for a person to look at: in id order, so of two invisible variants the older one is re-keyed.
* The undo images of import batches record name keys too. An image's "after" key that is the
  customer's old key becomes its new key, and a "before" key is recomputed from the "before"
  name, so that ``crm import --undo`` of an older batch still finds the customer unchanged
  since and puts back a name together with its key.

It calls the program's own ``name_key``: the stored keys must be exactly what this release
computes. A later change of the rule comes with its own migration.
"""

import json

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from crmcli.errors import ParseError
    from crmcli.normalize import drop_invisible, name_key

    def new_key(name):
        """The key of a name holding invisible characters under the new rule, else None."""
        if not isinstance(name, str) or drop_invisible(name) == name:
            return None
        try:
            return name_key(name)
        except ParseError:  # a name of invisible characters only: left to a person
            return None

    conn = op.get_bind()
    rekeyed = {}  # customer id -> (old key, new key)
    rows = conn.execute(sa.text("SELECT id, name, name_key, phone_key FROM customer ORDER BY id")).all()
    for cid, name, old, phone_key in rows:
        new = new_key(name)
        if new is None or new == old:
            continue
        taken = conn.execute(
            sa.text("SELECT 1 FROM customer WHERE name_key = :k AND phone_key = :p AND id != :id"),
            {"k": new, "p": phone_key, "id": cid},
        ).first()
        if taken:
            continue
        conn.execute(sa.text("UPDATE customer SET name_key = :k WHERE id = :id"), {"k": new, "id": cid})
        rekeyed[cid] = (old, new)

    images = conn.execute(
        sa.text("SELECT id, row_id, before FROM batch_change WHERE table_name = 'customer' AND before IS NOT NULL")
    ).all()
    for change_id, row_id, text in images:
        image = json.loads(text)
        changed = False
        before, after = image.get("before", {}), image.get("after", {})
        if "name_key" in before:
            new = new_key(before.get("name"))
            if new is not None and new != before["name_key"]:
                before["name_key"] = new
                changed = True
        if row_id in rekeyed and "name_key" in after and after["name_key"] == rekeyed[row_id][0]:
            after["name_key"] = rekeyed[row_id][1]
            changed = True
        if changed:
            conn.execute(
                sa.text("UPDATE batch_change SET before = :b WHERE id = :id"),
                {"b": json.dumps(image, ensure_ascii=False), "id": change_id},
            )


def downgrade() -> None:
    # Not supported: the program never downgrades a database (spec §1 refuses a newer one).
    pass
