"""The Alembic scripts are the same for both databases (spec §16, §17): 0001 → head on PostgreSQL
gives the tables the models declare."""

from __future__ import annotations

from typing import Any


def test_the_migration_chain_runs_on_postgresql(pg_server: Any) -> None:
    import sqlalchemy as sa

    from crmcli.models import SQLModel
    from crmcli.store import postgres, schema

    name = pg_server.new_database()
    engine = postgres.make_engine(pg_server.url(name), 30.0)
    try:
        schema.upgrade(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == schema.HEAD
            inspector = sa.inspect(conn)
            for table in SQLModel.metadata.sorted_tables:
                got = {c["name"] for c in inspector.get_columns(table.name)}
                assert got == set(table.c.keys()), table.name
    finally:
        engine.dispose()
        pg_server.drop_database(name)
