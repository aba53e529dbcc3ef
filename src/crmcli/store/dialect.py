"""The few pieces of SQL that differ between databases, as small helpers.

Services write their SQL once and ask the dialect for date arithmetic, JSON building, text
aggregation and the parameter style: one class per database (SQLite, PostgreSQL for team mode,
spec §16), never a branch in the services.
"""

from __future__ import annotations

import re


class Dialect:
    name = "generic"

    def sql(self, text: str) -> str:
        """``text`` with its ``:name`` parameters in the driver's style."""
        return text

    def prepare(self, cursor: object) -> None:
        """Make a reading cursor return what SQLite's does (ISO dates, 0/1, JSON as text)."""

    def add_days(self, date: str, days: str) -> str:
        """A date expression plus an integer expression of days, as an ISO date."""
        raise NotImplementedError

    def days_between(self, later: str, earlier: str) -> str:
        """Whole days from ``earlier`` to ``later`` (both ISO dates)."""
        raise NotImplementedError

    def month(self, date: str) -> str:
        """``YYYY-MM`` of a date."""
        raise NotImplementedError

    def json_object(self, pairs: list[tuple[str, str]]) -> str:
        """A JSON object of (key, SQL expression) pairs."""
        raise NotImplementedError

    def json_bool(self, expr: str) -> str:
        """A boolean expression as a JSON true/false inside ``json_object``."""
        raise NotImplementedError

    def json_array_agg(self, expr: str) -> str:
        """An aggregate: the rows' ``expr`` as a JSON array (in the subquery's order)."""
        raise NotImplementedError

    def json_value(self, text: str) -> str:
        """Text holding a JSON number, as that number inside ``json_object``."""
        raise NotImplementedError

    def as_bytes(self, json: str) -> str:
        """A JSON expression delivered as UTF-8 bytes, ready for stdout."""
        return json

    def unindexed(self, column: str) -> str:
        """``column`` in a condition the planner should not answer from an index (it matches nearly all)."""
        return column

    def text_agg(self, expr: str, sep: str) -> str:
        """An aggregate: the rows' ``expr`` joined with ``sep`` (a literal)."""
        raise NotImplementedError

    def count_if(self, cond: str) -> str:
        """An aggregate: how many rows satisfy ``cond`` (NULL or 0 when none; callers read both as 0)."""
        raise NotImplementedError

    def greatest(self, *exprs: str) -> str:
        """The largest of a few (non-NULL) expressions of one row."""
        raise NotImplementedError

    def whole_number(self, expr: str) -> str:
        """A number that reaches Python as an int when it is whole (50000, not 50000.0), else a float."""
        raise NotImplementedError

    def real(self, expr: str) -> str:
        """Text holding a number, as a double-precision number."""
        return f"CAST({expr} AS REAL)"

    def round(self, expr: str, digits: int) -> str:
        """A float rounded to ``digits`` decimals, still a float (SQLite's ROUND)."""
        return f"ROUND({expr}, {int(digits)})"

    def display_width(self, expr: str) -> str:
        """Columns a text takes in a table (CJK counted double), approximately, in SQL."""
        raise NotImplementedError

    def json_array_join(self, expr: str, sep: str) -> str:
        """The items of a JSON array held as text, joined with ``sep`` (a literal); NULL for none."""
        raise NotImplementedError

    def hint(self, text: str) -> str:
        """A planner hint (SQLite's ``INDEXED BY``/``NOT INDEXED``); nothing where there is none."""
        return ""

    def fence(self) -> str:
        """Ends a subquery whose computed columns the outer query uses more than once, so that
        they are computed once a row (PostgreSQL would inline the subquery and compute them again
        in the WHERE and the ORDER BY); nothing where the planner keeps them."""
        return ""

    def like(self) -> str:
        """The operator of a case-insensitive ``LIKE`` (spec §16: text search ignores case on both)."""
        return "LIKE"


class SqliteDialect(Dialect):
    name = "sqlite"

    def add_days(self, date: str, days: str) -> str:
        return f"date({date}, '+' || ({days}) || ' days')"

    def days_between(self, later: str, earlier: str) -> str:
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    def month(self, date: str) -> str:
        return f"substr({date}, 1, 7)"

    def json_object(self, pairs: list[tuple[str, str]]) -> str:
        return "json_object(" + ", ".join(f"'{k}', {e}" for k, e in pairs) + ")"

    def json_bool(self, expr: str) -> str:
        return f"json(CASE WHEN {expr} THEN 'true' ELSE 'false' END)"

    def json_array_agg(self, expr: str) -> str:
        return f"json_group_array({expr})"

    def json_value(self, text: str) -> str:
        return f"json({text})"

    def as_bytes(self, json: str) -> str:
        # As a BLOB, the JSON reaches Python as UTF-8 bytes that can go to stdout as they are.
        return f"CAST({json} AS BLOB)"

    def text_agg(self, expr: str, sep: str) -> str:
        return f"group_concat({expr}, '{sep}')"

    def count_if(self, cond: str) -> str:
        return f"SUM({cond})"  # a comparison is 0/1 here

    def greatest(self, *exprs: str) -> str:
        return f"MAX({', '.join(exprs)})"

    def whole_number(self, expr: str) -> str:
        return f"CASE WHEN {expr} = CAST({expr} AS INTEGER) THEN CAST({expr} AS INTEGER) ELSE {expr} END"

    def hint(self, text: str) -> str:
        return text

    def unindexed(self, column: str) -> str:
        return f"+{column}"  # SQLite's documented way to keep a term from using an index

    def display_width(self, expr: str) -> str:
        # Characters plus half the extra UTF-8 bytes: 1 for ASCII, 2 for CJK (3 bytes).
        return f"((length({expr}) + length(CAST({expr} AS BLOB))) / 2)"

    def json_array_join(self, expr: str, sep: str) -> str:
        return f"(SELECT group_concat(value, '{sep}') FROM json_each({expr}))"


class PostgresDialect(Dialect):
    """PostgreSQL (team mode, spec §16); parameters in psycopg's ``%(name)s`` style."""

    name = "postgresql"

    def sql(self, text: str) -> str:
        # SQLite's null-safe ``a IS NOT :b`` is PostgreSQL's ``IS DISTINCT FROM``
        text = _IS_NOT_PARAM.sub("IS DISTINCT FROM :", text)
        return _NAMED.sub(r"%(\1)s", text.replace("%", "%%"))

    def prepare(self, cursor: object) -> None:
        from crmcli.store.postgres import reader_types

        reader_types(cursor)

    def add_days(self, date: str, days: str) -> str:
        return f"(CAST({date} AS date) + CAST({days} AS integer))"

    def days_between(self, later: str, earlier: str) -> str:
        return f"(CAST({later} AS date) - CAST({earlier} AS date))"

    def month(self, date: str) -> str:
        return f"to_char(CAST({date} AS date), 'YYYY-MM')"

    # JSON is built as text with ``crm_json`` (``pg_schema``) for each value, so that it comes out
    # byte for byte as SQLite's json_object writes it: no spaces, keys in order, a float with a
    # fraction (80000.0). json_build_object would write ``{"k" : v}`` and 80000.

    def json_object(self, pairs: list[tuple[str, str]]) -> str:
        if not pairs:
            return "CAST('{}' AS json)"
        body = " || ',' || ".join(f"'\"{k}\":' || crm_json({e})" for k, e in pairs)
        return f"CAST('{{' || {body} || '}}' AS json)"

    def json_bool(self, expr: str) -> str:
        return f"(CASE WHEN {expr} THEN true ELSE false END)"

    def json_array_agg(self, expr: str) -> str:
        return f"CAST(COALESCE('[' || string_agg(crm_json({expr}), ',') || ']', '[]') AS json)"

    def json_value(self, text: str) -> str:
        return f"CAST({text} AS json)"

    def as_bytes(self, json: str) -> str:
        return f"convert_to(({json})::text, 'UTF8')"

    def text_agg(self, expr: str, sep: str) -> str:
        return f"string_agg(CAST({expr} AS text), '{sep}')"

    def count_if(self, cond: str) -> str:
        return f"COUNT(*) FILTER (WHERE {cond})"

    def greatest(self, *exprs: str) -> str:
        return f"GREATEST({', '.join(exprs)})"

    def whole_number(self, expr: str) -> str:
        return f"CAST({expr} AS numeric)"  # the reader loads a numeric without a fraction as an int

    def real(self, expr: str) -> str:
        return f"CAST({expr} AS double precision)"  # REAL is single precision here

    def round(self, expr: str, digits: int) -> str:
        # ROUND(x, n) exists for numeric only; half away from zero there, as SQLite rounds
        return f"CAST(ROUND(CAST({expr} AS numeric), {int(digits)}) AS double precision)"

    def display_width(self, expr: str) -> str:
        return f"((length({expr}) + octet_length({expr})) / 2)"

    def json_array_join(self, expr: str, sep: str) -> str:
        return f"(SELECT string_agg(value, '{sep}') FROM json_array_elements_text(({expr})::json))"

    def like(self) -> str:
        return "ILIKE"

    def fence(self) -> str:
        return " OFFSET 0"


_IS_NOT_PARAM = re.compile(r"\bIS NOT :")
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")

SQLITE = SqliteDialect()
POSTGRES = PostgresDialect()


def for_name(name: str) -> Dialect:
    if name == "sqlite":
        return SQLITE
    if name == "postgresql":
        return POSTGRES
    raise ValueError(f"no dialect for {name}")
