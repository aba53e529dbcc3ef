"""Who sees what, enforced by PostgreSQL itself (spec §16): roles, policies, definer functions.

``crm team init`` (run once by the database's owner or a superuser) installs:

* group roles ``crm_rep``, ``crm_manager``, ``crm_admin`` (NOLOGIN); a user is a login that is a
  member of one, listed in ``team_user`` (login, display name, role, team, active). An admin
  login also gets CREATEROLE, so that it can add users.
* row-level security, ``ENABLE`` and ``FORCE`` (the table owner obeys too), on every table that
  holds customer data. The key is ``session_user``, the login -- never a setting, which a user
  could change. A rep sees the customers they own and the pool's (owner NULL), and changes only
  their own; a manager sees and changes their team's; an admin everything. Follow-ups, stage
  changes, opportunities and their lines, tickets, tags, phones, custom values and the change log
  follow their customer. The role and team are looked up by ``SECURITY DEFINER`` functions,
  written ``(SELECT crm_role())`` in the policies so they run once per statement, not per row.
* what must see past the policies goes through definer functions that say only what they must:
  the duplicate check and the code counter (``pg_schema``), claim, release, assign and sweep
  (``pg_pool``), and the user administration here.

Everything is idempotent: ``team init`` can run again after an upgrade.
"""

from __future__ import annotations

from typing import Any

ROLES = ("rep", "manager", "admin")

# table -> how a row finds its customer ("" for the customer table itself)
CHILDREN = {
    "follow_up": "customer_id",
    "stage_change": "customer_id",
    "deal": "customer_id",
    "ticket": "customer_id",
    "tag": "customer_id",
    "custom_value": "customer_id",
    "customer_phone": "customer_id",
}

# who may see / change a customer with owner ``o`` (an expression)
def _sees(o: str) -> str:
    return (
        f"({o} IS NULL OR {o} = session_user OR (SELECT crm_role()) = 'admin' "
        f"OR ((SELECT crm_role()) = 'manager' AND {o}::text = ANY (CAST((SELECT crm_team_logins()) AS text[]))))"
    )


def _changes(o: str) -> str:
    return (
        f"({o} = session_user OR (SELECT crm_role()) = 'admin' "
        f"OR ((SELECT crm_role()) = 'manager' AND ({o} IS NULL OR {o}::text = ANY (CAST((SELECT crm_team_logins()) AS text[])))))"
    )


SETUP = [
    """DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_rep') THEN CREATE ROLE crm_rep NOLOGIN; END IF;
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_manager') THEN CREATE ROLE crm_manager NOLOGIN; END IF;
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_admin') THEN CREATE ROLE crm_admin NOLOGIN CREATEROLE; END IF;
       END $$""",
    """CREATE TABLE IF NOT EXISTS team_user (
         login text PRIMARY KEY, name text NOT NULL, role text NOT NULL CHECK (role IN ('rep', 'manager', 'admin')),
         team text, active boolean NOT NULL DEFAULT true)""",
    """CREATE TABLE IF NOT EXISTS team_setting (key text PRIMARY KEY, value text NOT NULL)""",
    """CREATE OR REPLACE FUNCTION crm_role() RETURNS text LANGUAGE sql STABLE SECURITY DEFINER
       SET search_path = public, pg_temp AS $f$
         SELECT role FROM team_user WHERE login = session_user AND active $f$""",
    """CREATE OR REPLACE FUNCTION crm_team_logins() RETURNS text[] LANGUAGE sql STABLE SECURITY DEFINER
       SET search_path = public, pg_temp AS $f$
         SELECT COALESCE(array_agg(u.login), '{}') FROM team_user u, team_user me
          WHERE me.login = session_user AND me.active AND me.team IS NOT NULL AND u.team = me.team $f$""",
    "REVOKE ALL ON team_user, team_setting FROM PUBLIC",
    # the caller may administer users: a team admin, or a superuser (who ran team init)
    """CREATE OR REPLACE FUNCTION crm_is_admin() RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
       SET search_path = public, pg_temp AS $f$
         SELECT COALESCE((SELECT role = 'admin' FROM team_user WHERE login = session_user AND active), false)
             OR COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false) $f$""",
    """CREATE OR REPLACE FUNCTION crm_user_add(p_login text, p_name text, p_role text, p_team text) RETURNS void
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
       BEGIN
         IF NOT crm_is_admin() THEN RAISE EXCEPTION 'only a team admin may add users' USING ERRCODE = '42501'; END IF;
         IF p_role NOT IN ('rep', 'manager', 'admin') THEN RAISE EXCEPTION 'role % is not rep, manager or admin', p_role; END IF;
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_login) THEN
           EXECUTE format('CREATE ROLE %I LOGIN', p_login);
         ELSE
           EXECUTE format('ALTER ROLE %I LOGIN', p_login);
         END IF;
         EXECUTE format('REVOKE crm_rep, crm_manager, crm_admin FROM %I', p_login);
         EXECUTE format('GRANT %I TO %I', 'crm_' || p_role, p_login);
         IF p_role = 'admin' THEN EXECUTE format('ALTER ROLE %I CREATEROLE', p_login); END IF;
         INSERT INTO team_user (login, name, role, team, active) VALUES (p_login, p_name, p_role, p_team, true)
           ON CONFLICT (login) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role, team = EXCLUDED.team, active = true;
       END $f$""",
    # hand every customer of a departing user to another user or the pool, deactivate the user,
    # make the login NOLOGIN and end its sessions; returns how many customers moved
    """CREATE OR REPLACE FUNCTION crm_user_remove(p_login text, p_to text) RETURNS integer
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
       DECLARE n integer;
       BEGIN
         IF NOT crm_is_admin() THEN RAISE EXCEPTION 'only a team admin may remove users' USING ERRCODE = '42501'; END IF;
         IF NOT EXISTS (SELECT 1 FROM team_user WHERE login = p_login) THEN RAISE EXCEPTION 'no team user %', p_login USING ERRCODE = 'P0002'; END IF;
         IF p_to IS NOT NULL AND NOT EXISTS (SELECT 1 FROM team_user WHERE login = p_to AND active) THEN
           RAISE EXCEPTION 'no active team user %', p_to USING ERRCODE = 'P0002';
         END IF;
         UPDATE customer SET owner = p_to WHERE owner = p_login;
         GET DIAGNOSTICS n = ROW_COUNT;
         UPDATE team_user SET active = false WHERE login = p_login;
         EXECUTE format('ALTER ROLE %I NOLOGIN', p_login);
         PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = p_login AND pid <> pg_backend_pid();
         RETURN n;
       END $f$""",
]


def _policies() -> list[str]:
    out = []

    def fresh(table: str) -> None:
        out.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        out.append(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        out.append(
            f"DO $$ DECLARE p record; BEGIN FOR p IN SELECT policyname FROM pg_policies WHERE tablename = '{table}' "
            f"AND schemaname = 'public' LOOP EXECUTE format('DROP POLICY %I ON {table}', p.policyname); END LOOP; END $$"
        )

    fresh("customer")
    out.append(f"CREATE POLICY crm_read ON customer FOR SELECT USING {_sees('owner')}")
    out.append(f"CREATE POLICY crm_add ON customer FOR INSERT WITH CHECK {_changes('owner')}")
    # a pool customer is visible to the update, so that changing it before claiming it fails
    # loudly (WITH CHECK) instead of matching nothing; owners move only through the pool functions
    out.append(f"CREATE POLICY crm_change ON customer FOR UPDATE USING {_sees('owner')} WITH CHECK {_changes('owner')}")
    out.append(
        """CREATE OR REPLACE FUNCTION crm_owner_guard() RETURNS trigger LANGUAGE plpgsql AS $f$
           BEGIN
             IF NEW.owner IS DISTINCT FROM OLD.owner AND current_user = session_user
                AND (crm_role() IS NULL OR crm_role() = 'rep') AND NOT crm_is_admin() THEN
               RAISE EXCEPTION 'a rep cannot give a customer away or take one except by claiming it from the pool'
                 USING ERRCODE = '42501';
             END IF;
             IF OLD.owner IS NULL AND current_user = session_user AND crm_role() = 'rep' THEN
               RAISE EXCEPTION '% is in the pool: claim it first (crm pool claim)', OLD.code USING ERRCODE = '42501';
             END IF;
             RETURN NEW;
           END $f$"""
    )
    out.append("DROP TRIGGER IF EXISTS crm_owner_guard ON customer")
    out.append("CREATE TRIGGER crm_owner_guard BEFORE UPDATE ON customer FOR EACH ROW EXECUTE FUNCTION crm_owner_guard()")
    out.append(f"CREATE POLICY crm_remove ON customer FOR DELETE USING {_changes('owner')}")
    # a child row: its customer is visible (read) / changeable (write); the subquery on customer
    # is itself under customer's policies
    # (an admin's test comes first, evaluated once per statement: it spares a lookup of the
    # customer for each row an admin reads -- a million follow-ups in a report)
    admin = "(SELECT crm_role()) = 'admin'"
    for table, col in CHILDREN.items():
        fresh(table)
        mine = f"{admin} OR EXISTS (SELECT 1 FROM customer c WHERE c.id = {table}.{col} AND {_changes('c.owner')})"
        out.append(
            f"CREATE POLICY crm_read ON {table} FOR SELECT USING ({admin} OR EXISTS (SELECT 1 FROM customer c WHERE c.id = {table}.{col}))"
        )
        out.append(f"CREATE POLICY crm_add ON {table} FOR INSERT WITH CHECK ({mine})")
        out.append(f"CREATE POLICY crm_change ON {table} FOR UPDATE USING ({mine}) WITH CHECK ({mine})")
        out.append(f"CREATE POLICY crm_remove ON {table} FOR DELETE USING ({mine})")
    fresh("deal_line")
    line = f"{admin} OR EXISTS (SELECT 1 FROM deal d WHERE d.id = deal_line.deal_id)"
    out.append(f"CREATE POLICY crm_all ON deal_line USING ({line}) WITH CHECK ({line})")
    # the change log: a change set is its user's (a manager sees the team's, an admin all);
    # a change is seen with its customer, and written only into one's own change sets
    fresh("change_set")
    own_set = '("user" = session_user OR (SELECT crm_role()) = \'admin\')'
    seen_set = f"({own_set} OR ((SELECT crm_role()) = 'manager' AND \"user\"::text = ANY (CAST((SELECT crm_team_logins()) AS text[]))))"
    out.append(f"CREATE POLICY crm_read ON change_set FOR SELECT USING {seen_set}")
    out.append(f"CREATE POLICY crm_write ON change_set FOR INSERT WITH CHECK {own_set}")
    out.append(f"CREATE POLICY crm_change ON change_set FOR UPDATE USING {own_set} WITH CHECK {own_set}")
    out.append(f"CREATE POLICY crm_remove ON change_set FOR DELETE USING {own_set}")
    fresh("change")
    out.append(
        "CREATE POLICY crm_read ON change FOR SELECT USING (EXISTS (SELECT 1 FROM change_set s WHERE s.id = change.set_id) "
        "AND (customer_id IS NULL OR EXISTS (SELECT 1 FROM customer c WHERE c.id = change.customer_id)))"
    )
    own = "EXISTS (SELECT 1 FROM change_set s WHERE s.id = change.set_id AND (s.\"user\" = session_user OR (SELECT crm_role()) = 'admin'))"
    out.append(f"CREATE POLICY crm_write ON change FOR INSERT WITH CHECK ({own})")
    # numbering a change set as it commits moves its changes from the provisional id (pg_changelog)
    out.append(f"CREATE POLICY crm_change ON change FOR UPDATE USING ({own}) WITH CHECK ({own})")
    out.append(f"CREATE POLICY crm_remove ON change FOR DELETE USING ({own})")
    # an import batch says which file, when and how many rows: seen by all (its INSERT ... RETURNING
    # comes before its change set exists); what a batch changed (batch_change) follows the change set
    fresh("import_batch")
    out.append("CREATE POLICY crm_read ON import_batch FOR SELECT USING (true)")
    out.append("CREATE POLICY crm_write ON import_batch FOR INSERT WITH CHECK (true)")
    out.append("CREATE POLICY crm_change ON import_batch FOR UPDATE USING (true)")
    for table, key in (("batch_change", "batch_id"), ("merge", "set_id")):
        fresh(table)
        via = "s.id = merge.set_id" if table == "merge" else f"s.batch_id = {table}.{key}"
        seen = f"((SELECT crm_role()) = 'admin' OR EXISTS (SELECT 1 FROM change_set s WHERE {via}))"
        out.append(f"CREATE POLICY crm_read ON {table} FOR SELECT USING {seen}")
        out.append(f"CREATE POLICY crm_write ON {table} FOR INSERT WITH CHECK (true)")
        out.append(f"CREATE POLICY crm_change ON {table} FOR UPDATE USING {seen}")
        out.append(f"CREATE POLICY crm_remove ON {table} FOR DELETE USING {seen}")
    # shared, not a customer's: products (anyone may add one), the custom-field registry (admin)
    for table in ("product", "custom_field"):
        fresh(table)
        out.append(f"CREATE POLICY crm_read ON {table} FOR SELECT USING (true)")
    out.append("CREATE POLICY crm_write ON product FOR ALL USING (true) WITH CHECK (true)")
    out.append("CREATE POLICY crm_admin ON custom_field FOR ALL USING ((SELECT crm_role()) = 'admin') WITH CHECK ((SELECT crm_role()) = 'admin')")
    return out


POLICED = ("customer", *CHILDREN, "deal_line", "change_set", "change", "import_batch", "batch_change", "merge", "product", "custom_field")


def _grants() -> list[str]:
    tables = ", ".join(POLICED)
    return [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO crm_rep, crm_manager, crm_admin",
        "GRANT SELECT ON team_user, team_setting, alembic_version TO crm_rep, crm_manager, crm_admin",
        "GRANT INSERT, UPDATE, DELETE ON team_user, team_setting TO crm_admin",
        "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO crm_rep, crm_manager, crm_admin",
        "GRANT USAGE ON SCHEMA public TO crm_rep, crm_manager, crm_admin",
        # alembic needs to own what it alters: only an admin migrates (spec §16)
        "GRANT CREATE ON SCHEMA public TO crm_admin",
    ]


def init_sql() -> list[str]:
    from crmcli.store import pg_bulk, pg_pool

    return SETUP + _policies() + _grants() + pg_pool.SQL + pg_bulk.install_sql(POLICED)


def install(conn: Any) -> None:
    from crmcli.store import pg_schema

    pg_schema.install(conn)
    from crmcli.store.postgres import run_ddl

    run_ddl(conn, init_sql())


def is_team(conn: Any) -> bool:
    return bool(conn.exec_driver_sql("SELECT to_regclass('team_user') IS NOT NULL").scalar())
