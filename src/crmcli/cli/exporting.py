"""Commands of this group are being written; register() adds them to the app."""

import typer


def register(app: typer.Typer) -> None:
    return None
