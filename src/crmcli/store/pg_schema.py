"""What a PostgreSQL database has beyond the tables the models declare (spec §16).

* JSON written byte for byte as SQLite writes it (``crm_json``, for ``PostgresDialect``).
* The code counter: codes (``C``/``O``/``T`` + YYYYMM + serial) come from one counter row per
  prefix, taken under the row's lock by a ``SECURITY DEFINER`` function, so concurrent adds never
  collide and a rep, who cannot see other reps' codes, still gets a free one. Codes given by hand
  are stepped over.
* ``crm_find_customer``: the duplicate check that must see the rows a rep's policy hides, and
  says only what it must (code and owner).
* The change-log triggers (``pg_changelog``).

Everything is idempotent (``CREATE OR REPLACE``), installed with the schema and again after a
migration and by ``team init``.
"""

from __future__ import annotations

from typing import Any

# What earlier releases installed to give PostgreSQL SQLite's manners (a boolean compared with
# 0/1, SUM/MAX of a boolean, unary + on a boolean, two-argument MAX/MIN, ROUND of a float, substr
# of a date), for SQL written once in SQLite's dialect. The services' SQL now says the same thing
# in a form both databases read (booleans compared with TRUE/FALSE, ``Dialect`` helpers for the
# rest), so a database made or migrated now has none of it, and one made before loses it the next
# time the schema's functions are installed (a migration, ``team init``); until then it is unused.
RETIRED = [
    "DROP AGGREGATE IF EXISTS public.sum(boolean)",
    "DROP AGGREGATE IF EXISTS public.max(boolean)",
    "DROP OPERATOR IF EXISTS public.= (boolean, integer)",
    "DROP OPERATOR IF EXISTS public.<> (boolean, integer)",
    "DROP OPERATOR IF EXISTS public.+ (NONE, boolean)",
    """DROP FUNCTION IF EXISTS public.crm_bool_eq_int(boolean, integer), public.crm_bool_ne_int(boolean, integer),
         public.crm_bool_add(bigint, boolean), public.crm_bool_max(integer, boolean), public.crm_bool_same(boolean),
         public.max(integer, integer), public.min(integer, integer), public.round(double precision, integer),
         public.substr(date, integer, integer)""",
]

# A value as JSON text the way SQLite's json_object writes it (``PostgresDialect.json_object``):
# one overload per type, as a float is written with its fraction (80000.0) and an integer without;
# text takes unknown literals (and NULL). Simple SQL functions: inlined into the query.
JSON = [
    """CREATE OR REPLACE FUNCTION crm_json(anyelement) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
       AS $$SELECT COALESCE(to_json($1)::text, 'null')$$""",
    """CREATE OR REPLACE FUNCTION crm_json(text) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
       AS $$SELECT COALESCE(to_json($1)::text, 'null')$$""",
    *(
        f"""CREATE OR REPLACE FUNCTION crm_json({t}) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
            AS $$SELECT COALESCE($1::text, 'null')$$"""
        for t in ("smallint", "integer", "bigint")
    ),
    """CREATE OR REPLACE FUNCTION crm_json(double precision) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
       AS $$SELECT CASE WHEN $1 IS NULL THEN 'null' WHEN $1 = trunc($1) AND abs($1) < 1e15
                        THEN trunc($1)::bigint::text || '.0' ELSE to_json($1)::text END$$""",
    """CREATE OR REPLACE FUNCTION crm_json(numeric) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
       AS $$SELECT crm_json($1::double precision)$$""",
]

COUNTER = [
    "CREATE TABLE IF NOT EXISTS crm_code_counter (prefix text PRIMARY KEY, last integer NOT NULL)",
    "REVOKE ALL ON crm_code_counter FROM PUBLIC",
    # The next free code of ``prefix`` for ``tbl`` (customer, deal or ticket).
    """CREATE OR REPLACE FUNCTION crm_next_code(p text, tbl text) RETURNS text
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
       DECLARE n integer; candidate text; taken boolean;
       BEGIN
         IF tbl NOT IN ('customer', 'deal', 'ticket') THEN RAISE EXCEPTION 'no codes for %', tbl; END IF;
         LOOP
           INSERT INTO crm_code_counter AS k (prefix, last)
           SELECT p, COALESCE(MAX(CAST(substr(c.code, length(p) + 1) AS integer)), 0) + 1
             FROM (SELECT code FROM customer WHERE tbl = 'customer' UNION ALL SELECT code FROM deal WHERE tbl = 'deal'
                   UNION ALL SELECT code FROM ticket WHERE tbl = 'ticket') c
            WHERE c.code LIKE p || '%' AND substr(c.code, length(p) + 1) ~ '^[0-9]{3,9}$'
           ON CONFLICT ON CONSTRAINT crm_code_counter_pkey DO UPDATE SET last = k.last + 1
           RETURNING k.last INTO n;
           candidate := p || lpad(n::text, GREATEST(3, length(n::text)), '0');  -- 999, then 1000
           EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE code = $1)', tbl) INTO taken USING candidate;
           IF NOT taken THEN RETURN candidate; END IF;
         END LOOP;
       END $f$""",
    # Change-set numbers without gaps (spec §18): a change set is numbered from this counter as its
    # transaction commits (``pg_changelog.final``; an import's through ``changelog.close_set``),
    # so a command that failed or changed nothing uses no number, and the numbers
    # follow the order of the commits. The counter's row lock is held from then until the commit.
    # Before that a change set has a provisional negative id.
    "CREATE TABLE IF NOT EXISTS crm_change_counter (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), last integer NOT NULL)",
    "REVOKE ALL ON crm_change_counter FROM PUBLIC",
    # (run by whoever creates, migrates or team-inits the database: the owner, a superuser or an
    # admin, who see every change set) past every number given so far, by the counter or, in a
    # database from before it, by the sequence
    """INSERT INTO crm_change_counter AS k (last) SELECT COALESCE(max(id), 0) FROM change_set
       ON CONFLICT (only_row) DO UPDATE SET last = GREATEST(k.last, EXCLUDED.last)""",
    """CREATE OR REPLACE FUNCTION crm_change_number() RETURNS integer
       LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
         UPDATE crm_change_counter SET last = last + 1 RETURNING last
       $f$""",
    "ALTER TABLE change_set ALTER COLUMN id SET DEFAULT crm_change_number()",
    # What a duplicate check may say about a customer the caller may not see: code and owner.
    """CREATE OR REPLACE FUNCTION crm_find_customer(nk text, pk text)
       RETURNS TABLE (code text, owner text)
       LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $f$
         SELECT c.code::text, c.owner::text FROM customer c WHERE c.name_key = nk AND c.phone_key = pk LIMIT 1
       $f$""",
]


def install(conn: Any) -> None:
    from crmcli.store import pg_changelog
    from crmcli.store.postgres import run_ddl

    run_ddl(conn, RETIRED + JSON + COUNTER)
    pg_changelog.install(conn)


def next_code(conn: Any, prefix: str, table: str) -> str:
    """The next free code of ``prefix`` from the counter (concurrent callers never get the same)."""
    from sqlalchemy import text

    return str(conn.execute(text("SELECT crm_next_code(:p, :t)"), {"p": prefix, "t": table}).scalar_one())


def hidden_duplicate(conn: Any, name_key: str, phone_key: str) -> tuple[str, str | None] | None:
    """(code, owner) of a customer with this identity that the caller's policies may hide."""
    from sqlalchemy import text

    row = conn.execute(text("SELECT code, owner FROM crm_find_customer(:n, :p)"), {"n": name_key, "p": phone_key}).first()
    return None if row is None else (row[0], row[1])
