"""the change log's gate: permanent triggers instead of TEMP ones (SQLite)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Spec §18 on SQLite: the change log's triggers become part of the schema and log only while the
one-row table ``change_gate`` names the change set of the writing transaction (a row that is
never committed, see ``crmcli.store.changelog``). This revision makes the gate; the triggers
themselves are made from the models at the end of every upgrade (``migrations/env.py``), so that
they always log the columns of the schema they are on. PostgreSQL has had permanent triggers of
its own from the start (``pg_changelog``): nothing changes there. Nothing existing changes.
"""

from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE change_gate (id INTEGER PRIMARY KEY CHECK (id = 1), set_id INTEGER NOT NULL, mute TEXT)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    from crmcli.store import changelog

    for sql in changelog.drop_sql():
        op.execute(sql)
    op.execute("DROP TABLE change_gate")
