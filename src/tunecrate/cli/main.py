"""The ``tunecrate`` command: the app of :mod:`tunecrate.cli.base` with every command module registered."""

from __future__ import annotations

from tunecrate.cli import commands, export_commands, review_commands, smart  # noqa: F401  (they register)
from tunecrate.cli import server_commands  # noqa: F401  (registers serve)
from tunecrate.cli.base import app

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point."""
    app()
