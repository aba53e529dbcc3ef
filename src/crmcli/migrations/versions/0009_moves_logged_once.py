"""the change log's triggers remade: moves logged once, a follow-up's next date and plan logged

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Nothing in the tables changes. The change log's triggers are made from the models at the end of
every upgrade (``migrations/env.py`` on SQLite, ``pg_schema.install`` on PostgreSQL), so this
revision exists to make a database of 0008 take their new shape (``crmcli.store.changelog``):

* SQLite: the update triggers of the tables whose rows a merge moves (follow-ups, stage changes,
  opportunities, tickets) no longer fire ``OF customer_id``: ``changelog.move_rows`` logs a move as
  one change, and the trigger's gate no longer runs once per moved row. Their ``WHEN`` reads the
  gate without its ``mute`` column, which stays (unused) in ``change_gate``.
* Both databases: a follow-up's own ``next_date`` and ``next_plan`` are logged (0008 left them out
  by the names of the customer's derived columns), so editing them is undone like any edit.
"""

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # the triggers are remade after the revisions have run (see the docstring)


def downgrade() -> None:
    # Nothing to take back in the tables. The triggers keep this shape: a downgrade is run by this
    # release's code, whose env.py remakes them from its models (crmcli never downgrades by itself).
    pass
