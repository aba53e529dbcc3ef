"""Alembic environment: run from code with a connection passed in ``config.attributes``."""

from alembic import context

from crmcli.models import SQLModel

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic` on the command line, for developers
        from sqlalchemy import create_engine

        connection = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://").connect()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: rebuild tables in batch mode
    )
    # Child rows must survive batch table rebuilds: foreign keys off during the migration.
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")


run_migrations_online()
