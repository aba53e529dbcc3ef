"""Alembic environment: run from code with a connection passed in ``config.attributes``."""

from alembic import context

from crmcli.models import SQLModel
from crmcli.store import changelog

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic` on the command line, for developers
        from sqlalchemy import create_engine

        connection = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://").connect()
    # Child rows must survive batch table rebuilds (DROP TABLE customer would cascade to every
    # follow-up): foreign keys off during the migration. PRAGMA foreign_keys is a no-op inside a
    # transaction, and exec_driver_sql would autobegin one, so it goes to the raw DBAPI
    # connection (autocommit: isolation_level=None) before anything begins.
    if connection.in_transaction():
        connection.commit()
    raw = connection.connection.driver_connection
    assert raw is not None
    sqlite = connection.dialect.name == "sqlite"  # PostgreSQL alters tables in place: no rebuilds
    if sqlite:
        raw.execute("PRAGMA foreign_keys=OFF")
    # One transaction for the whole upgrade (Alembic's SQLite default is one per revision, which
    # would leave an interrupted multi-step upgrade at an intermediate revision), taken with
    # BEGIN IMMEDIATE so that it waits for other writers instead of failing on lock upgrade.
    connection.execution_options(sqlite_begin="IMMEDIATE")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: rebuild tables in batch mode
        transactional_ddl=True,
        transaction_per_migration=False,
        # the change log's gate is SQLite's own, no model (store/changelog.py): not for autogenerate to drop
        include_object=lambda _obj, name, kind, _reflected, _compare_to: not (kind == "table" and name == changelog.GATE),
    )
    try:
        with context.begin_transaction():
            if sqlite:  # the change log's triggers name columns: off while tables change, remade after
                for sql in changelog.drop_sql():
                    connection.exec_driver_sql(sql)
            context.run_migrations()
            if sqlite and connection.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'change_gate'").first():
                changelog.install(connection)  # from the models, as a new database has them (schema.create)
            # Foreign keys were not enforced during the rebuilds: check before committing.
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() if sqlite else []
            if broken:
                raise RuntimeError(f"migration left {len(broken)} rows with broken foreign keys, e.g. {tuple(broken[0])}")
    finally:
        if sqlite:
            raw.execute("PRAGMA foreign_keys=ON")


run_migrations_online()
