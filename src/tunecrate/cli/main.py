"""The ``tunecrate`` command: the app of :mod:`tunecrate.cli.base` with every command module registered."""

from __future__ import annotations

from tunecrate.cli import (  # noqa: F401  (they register)
    commands, doctor_commands, export_commands, import_commands, push_commands, review_commands, server_commands,
    smart,
)
from tunecrate.cli.base import app

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point."""
    app()
