"""The customer pool (公海池, spec §16) as definer functions: claim, release, assign, sweep.

A customer with no owner is in the pool. A rep cannot give a customer away or take one through
the tables (the policies refuse an owner that is not the rep); these functions are the only way,
and each checks its rule: the holding limit (``pool.max_customers``), the reclaim lock
(``pool.reclaim_days``: a rep may not re-claim what they released or lost to a sweep), who may
assign (a manager within the team, an admin anyone). Each owner change is a row of
``pool_event`` (and of the change log, whose triggers see it like any update). Settings live
in ``team_setting`` (admin only), so a rep's own config cannot change them.
"""

from __future__ import annotations

SQL = [
    """CREATE TABLE IF NOT EXISTS pool_event (
         id serial PRIMARY KEY, customer_id integer NOT NULL REFERENCES customer(id) ON DELETE CASCADE,
         login text, kind text NOT NULL, at date NOT NULL, by_login text NOT NULL DEFAULT session_user)""",
    "CREATE INDEX IF NOT EXISTS ix_pool_event_customer ON pool_event (customer_id, login, kind, at)",
    "REVOKE ALL ON pool_event FROM PUBLIC",
    "GRANT SELECT ON pool_event TO crm_manager, crm_admin",
    """CREATE OR REPLACE FUNCTION crm_setting(p_key text, p_default integer) RETURNS integer
       LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $f$
         SELECT COALESCE((SELECT value::integer FROM team_setting WHERE key = p_key), p_default) $f$""",
    """CREATE OR REPLACE FUNCTION crm_pool_claim(p_code text, p_today date) RETURNS text
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
       DECLARE c record; held integer; lim integer; lock_days integer; last_out date;
       BEGIN
         IF crm_role() IS NULL THEN RAISE EXCEPTION '% is not a team user', session_user USING ERRCODE = '42501'; END IF;
         SELECT id, code, owner INTO c FROM customer WHERE code = p_code FOR UPDATE;
         IF c.id IS NULL THEN RAISE EXCEPTION 'no customer %', p_code USING ERRCODE = 'P0002'; END IF;
         IF c.owner IS NOT NULL THEN RAISE EXCEPTION '% is not in the pool (owner %)', p_code, c.owner USING ERRCODE = 'P0001'; END IF;
         lim := crm_setting('pool.max_customers', 0);
         IF lim > 0 THEN
           SELECT count(*) INTO held FROM customer WHERE owner = session_user AND NOT archived;
           IF held >= lim THEN
             RAISE EXCEPTION 'you hold % customers, the limit is %: release one first', held, lim USING ERRCODE = 'P0001';
           END IF;
         END IF;
         lock_days := crm_setting('pool.reclaim_days', 30);
         SELECT max(at) INTO last_out FROM pool_event WHERE customer_id = c.id AND login = session_user AND kind IN ('release', 'sweep');
         IF last_out IS NOT NULL AND p_today < last_out + lock_days THEN
           RAISE EXCEPTION 'you let % go on %: it can be claimed again from %', p_code, last_out, last_out + lock_days USING ERRCODE = 'P0001';
         END IF;
         UPDATE customer SET owner = session_user WHERE id = c.id;
         INSERT INTO pool_event (customer_id, login, kind, at) VALUES (c.id, session_user, 'claim', p_today);
         RETURN c.code;
       END $f$""",
    """CREATE OR REPLACE FUNCTION crm_pool_release(p_code text, p_today date) RETURNS text
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
       DECLARE c record;
       BEGIN
         SELECT id, code, owner INTO c FROM customer WHERE code = p_code FOR UPDATE;
         IF c.id IS NULL OR c.owner IS NULL OR (c.owner IS DISTINCT FROM session_user AND NOT crm_is_admin()) THEN
           RAISE EXCEPTION 'no customer % of yours', p_code USING ERRCODE = 'P0002';
         END IF;
         UPDATE customer SET owner = NULL WHERE id = c.id;
         INSERT INTO pool_event (customer_id, login, kind, at) VALUES (c.id, c.owner, 'release', p_today);
         RETURN c.code;
       END $f$""",
    """CREATE OR REPLACE FUNCTION crm_pool_assign(p_code text, p_login text, p_today date) RETURNS text
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
       DECLARE c record; r text := CASE WHEN crm_is_admin() THEN 'admin' ELSE crm_role() END;
       BEGIN
         IF r IS NULL OR r = 'rep' THEN RAISE EXCEPTION 'only a manager or an admin may assign customers' USING ERRCODE = '42501'; END IF;
         IF NOT EXISTS (SELECT 1 FROM team_user WHERE login = p_login AND active) THEN
           RAISE EXCEPTION 'no active team user %', p_login USING ERRCODE = 'P0002';
         END IF;
         SELECT id, code, owner INTO c FROM customer WHERE code = p_code FOR UPDATE;
         IF c.id IS NULL THEN RAISE EXCEPTION 'no customer %', p_code USING ERRCODE = 'P0002'; END IF;
         IF r = 'manager' AND NOT (p_login = ANY (crm_team_logins()) AND (c.owner IS NULL OR c.owner = ANY (crm_team_logins()))) THEN
           RAISE EXCEPTION 'a manager assigns within their team' USING ERRCODE = '42501';
         END IF;
         UPDATE customer SET owner = p_login WHERE id = c.id;
         INSERT INTO pool_event (customer_id, login, kind, at) VALUES (c.id, p_login, 'assign', p_today);
         RETURN c.code;
       END $f$""",
    # The sweep clock, in one place: each non-won, live, owned customer (of ``p_owner``; NULL: of
    # everyone), since when it counts (the latest of creation, last follow-up and claim/assignment)
    # and its level's days. It reveals every owner, so nobody but the definer functions below may
    # call it. The owner is a condition inside (a definer function is never inlined into its
    # caller's query: filtered outside, an admin's due-list warning computed the clock of all 100k
    # customers, 650 ms), planned for the owner given (PL/pgSQL plans a session's first calls
    # with their values: one owner's customers through the owner index, not a scan of all); the
    # settings are read once, not twice a customer.
    "DROP FUNCTION IF EXISTS crm_pool_clock()",
    """CREATE OR REPLACE FUNCTION crm_pool_clock(p_owner text)
       RETURNS TABLE (id integer, code text, owner text, since date, days integer)
       LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $f$
       #variable_conflict use_column
       BEGIN
         RETURN QUERY
         SELECT c.id, c.code::text, c.owner::text,
                GREATEST(c.created_at::date, c.last_follow_at::date,
                         (SELECT max(e.at) FROM pool_event e WHERE e.customer_id = c.id AND e.kind IN ('claim', 'assign'))),
                COALESCE(lv.value::integer, base.days)
           FROM customer c
          CROSS JOIN (SELECT crm_setting('pool.days', 30) AS days) base
           LEFT JOIN team_setting lv ON lv.key = 'pool.days.' || c.level
          WHERE c.owner IS NOT NULL AND c.stage <> 'won' AND NOT c.archived
            -- the default collation: session_user is a name, whose "C" would keep the index out
            AND (p_owner IS NULL OR c.owner = p_owner COLLATE "default");
       END $f$""",
    "REVOKE ALL ON FUNCTION crm_pool_clock(text) FROM PUBLIC",
    # what the next sweep takes from the calling user: `list --due` warns a rep (spec §16)
    """CREATE OR REPLACE FUNCTION crm_pool_at_risk(p_today date)
       RETURNS TABLE (code text, since date, days integer)
       LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $f$
         SELECT k.code, k.since, k.days FROM crm_pool_clock(session_user) k
          WHERE k.since + k.days <= p_today
          ORDER BY k.since, k.code $f$""",
    # every non-won, live, owned customer not followed up for its level's days since the latest of
    # creation, last follow-up and claim/assignment goes back to the pool
    """CREATE OR REPLACE FUNCTION crm_pool_sweep(p_days integer, p_today date, p_dry boolean)
       RETURNS TABLE (code text, owner text, since date)
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
       BEGIN
         IF NOT crm_is_admin() THEN RAISE EXCEPTION 'only a team admin may sweep the pool' USING ERRCODE = '42501'; END IF;
         CREATE TEMP TABLE IF NOT EXISTS _sweep (id integer, code text, owner text, since date) ON COMMIT DROP;
         DELETE FROM _sweep;
         INSERT INTO _sweep
           SELECT k.id, k.code, k.owner, k.since FROM crm_pool_clock(NULL) k WHERE k.since + COALESCE(p_days, k.days) < p_today;
         IF NOT p_dry THEN
           UPDATE customer c SET owner = NULL FROM _sweep s WHERE c.id = s.id;
           INSERT INTO pool_event (customer_id, login, kind, at) SELECT s.id, s.owner, 'sweep', p_today FROM _sweep s;
         END IF;
         RETURN QUERY SELECT s.code, s.owner, s.since FROM _sweep s ORDER BY s.code;
       END $f$""",
]
