"""Fixtures of the export tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from targets.helpers import library_tracks
from tunecrate.targets.base import ExportEntry


@pytest.fixture
def tracks(tmp_path: Path) -> list[ExportEntry]:
    """Five downloaded tracks with distinct sizes (fake MP3s under ``tmp_path/lib``)."""
    return library_tracks(tmp_path / "lib")
