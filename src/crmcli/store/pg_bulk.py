"""A bulk load the way ``pg_restore`` does it, for ``crm db copy`` into a new team database (spec §16).

Inserted under its foreign keys, unique constraints and indexes, a million follow-ups cost a
lookup of their customer each (a third of the copy) and an index insertion per index and row.
``pg_restore`` loads bare tables and then builds each index once and validates each foreign key
with one query. A team admin does not own the tables, so two ``SECURITY DEFINER`` functions of
the schema's owner do that here, narrowly:

* ``crm_bulk_begin()``: only for a team admin, only while every table of customer data is empty.
  It saves (in ``crm_bulk_load``, which only the owner reads) and drops the foreign keys, keys
  and indexes, and disables row-level security and the change-log triggers (which log nothing
  outside a change set), so the rows go straight in with ``COPY``. The tables stay locked (``ACCESS EXCLUSIVE``) by the
  transaction: no other session sees them meanwhile.
* ``crm_bulk_end()``: builds the keys and indexes again, then the foreign keys (each validated in
  one pass), and enables the triggers and row-level security again (``FORCE`` is never touched).

Both run in the copying transaction: a failure anywhere rolls everything back, leaving the target
exactly as it was. A transaction that called ``begin`` cannot commit without ``end``: a deferred
constraint trigger on ``crm_bulk_load`` fails the commit while a saved definition is left.
"""

from __future__ import annotations

from typing import Any


def install_sql(tables: tuple[str, ...]) -> list[str]:
    array = "ARRAY[" + ", ".join(f"'{t}'" for t in tables) + "]::text[]"
    return [
        """CREATE TABLE IF NOT EXISTS crm_bulk_load (
             id serial PRIMARY KEY, pid integer NOT NULL, phase integer NOT NULL, ddl text NOT NULL)""",
        "REVOKE ALL ON crm_bulk_load FROM PUBLIC",
        """CREATE OR REPLACE FUNCTION crm_bulk_unfinished() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
           SET search_path = public, pg_temp AS $f$
           BEGIN
             IF EXISTS (SELECT 1 FROM crm_bulk_load WHERE id = NEW.id) THEN
               RAISE EXCEPTION 'a bulk load did not put its constraints and policies back (crm_bulk_end)' USING ERRCODE = '55000';
             END IF;
             RETURN NULL;
           END $f$""",
        "DROP TRIGGER IF EXISTS crm_bulk_unfinished ON crm_bulk_load",
        """CREATE CONSTRAINT TRIGGER crm_bulk_unfinished AFTER INSERT ON crm_bulk_load
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm_bulk_unfinished()""",
        f"""CREATE OR REPLACE FUNCTION crm_bulk_begin() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
           SET search_path = public, pg_temp AS $f$
           DECLARE t text; r record; rels oid[]; busy boolean;
           BEGIN
             IF NOT crm_is_admin() THEN
               RAISE EXCEPTION 'only a team admin may copy a database in' USING ERRCODE = '42501';
             END IF;
             IF EXISTS (SELECT 1 FROM crm_bulk_load WHERE pid = pg_backend_pid()) THEN
               RAISE EXCEPTION 'a bulk load is already under way in this transaction';
             END IF;
             SELECT array_agg(to_regclass(x)::oid) INTO rels FROM unnest({array}) x;
             FOREACH t IN ARRAY {array} LOOP
               EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', t);
               EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', t) INTO busy;
               IF busy THEN
                 RAISE EXCEPTION 'table % is not empty: a bulk load goes into a new team database', t USING ERRCODE = 'P0001';
               END IF;
             END LOOP;
             -- foreign keys from or to these tables (phase 2: after every index and key is back)
             FOR r IN SELECT c.conrelid::regclass::text AS rel, c.conname, pg_get_constraintdef(c.oid) AS def
                        FROM pg_constraint c WHERE c.contype = 'f' AND (c.conrelid = ANY (rels) OR c.confrelid = ANY (rels)) LOOP
               INSERT INTO crm_bulk_load (pid, phase, ddl)
                 VALUES (pg_backend_pid(), 2, format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.rel, r.conname, r.def));
               EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.rel, r.conname);
             END LOOP;
             -- primary keys and unique constraints, then the indexes no constraint owns (phase 1)
             FOR r IN SELECT c.conrelid::regclass::text AS rel, c.conname, pg_get_constraintdef(c.oid) AS def
                        FROM pg_constraint c WHERE c.contype IN ('p', 'u') AND c.conrelid = ANY (rels)
                       ORDER BY c.contype LOOP
               INSERT INTO crm_bulk_load (pid, phase, ddl)
                 VALUES (pg_backend_pid(), 1, format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.rel, r.conname, r.def));
               EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.rel, r.conname);
             END LOOP;
             FOR r IN SELECT i.indexrelid::regclass::text AS idx, pg_get_indexdef(i.indexrelid) AS def
                        FROM pg_index i WHERE i.indrelid = ANY (rels)
                         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) LOOP
               INSERT INTO crm_bulk_load (pid, phase, ddl) VALUES (pg_backend_pid(), 1, r.def);
               EXECUTE format('DROP INDEX %s', r.idx);
             END LOOP;
             -- the change-log triggers (which log nothing here) and row-level security off while the
             -- tables are locked; FORCE is left as it is (phase 3)
             FOR r IN SELECT g.tgrelid::regclass::text AS rel, g.tgname FROM pg_trigger g
                       WHERE g.tgrelid = ANY (rels) AND g.tgname = 'crm_log' AND g.tgenabled <> 'D' LOOP
               INSERT INTO crm_bulk_load (pid, phase, ddl)
                 VALUES (pg_backend_pid(), 3, format('ALTER TABLE %s ENABLE TRIGGER %I', r.rel, r.tgname));
               EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', r.rel, r.tgname);
             END LOOP;
             FOREACH t IN ARRAY {array} LOOP
               INSERT INTO crm_bulk_load (pid, phase, ddl)
                 VALUES (pg_backend_pid(), 3, format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t));
               EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t);
             END LOOP;
           END $f$""",
        # memory for the index sorts and the foreign keys' checking joins, as a restore is given
        """CREATE OR REPLACE FUNCTION crm_bulk_end() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
           SET search_path = public, pg_temp SET maintenance_work_mem = '256MB' SET work_mem = '64MB' AS $f$
           DECLARE r record;
           BEGIN
             IF NOT EXISTS (SELECT 1 FROM crm_bulk_load WHERE pid = pg_backend_pid()) THEN
               RAISE EXCEPTION 'no bulk load under way in this transaction';
             END IF;
             -- change sets copied in keep their numbers: the next one is numbered after them
             UPDATE crm_change_counter SET last = GREATEST(last, (SELECT COALESCE(max(id), 0) FROM change_set));
             FOR r IN SELECT ddl FROM crm_bulk_load WHERE pid = pg_backend_pid() ORDER BY phase, id LOOP
               EXECUTE r.ddl;
             END LOOP;
             DELETE FROM crm_bulk_load WHERE pid = pg_backend_pid();
           END $f$""",
        "REVOKE ALL ON FUNCTION crm_bulk_begin(), crm_bulk_end() FROM PUBLIC",
        "GRANT EXECUTE ON FUNCTION crm_bulk_begin(), crm_bulk_end() TO crm_admin",
    ]


def begin(con: Any) -> None:
    """Bare tables for a bulk load in the transaction of ``con`` (psycopg; see the module's docstring)."""
    con.execute("SELECT crm_bulk_begin()")


def end(con: Any) -> None:
    """Indexes, constraints and row-level security back, validated in bulk."""
    con.execute("SELECT crm_bulk_end()")
