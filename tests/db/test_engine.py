"""The catalogue's engine: where the database file lands, whatever the data folder is called."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tunecrate.demo.spotify_server import fake_id

#: Folder names that a URL built by string formatting would misread: a query, an escape, a fragment.
ODD_NAMES = ["weird?x=1", "pct%41b", "hash#frag", "with space", "café ünï 夜", "all?%41# é"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_the_database_lands_inside_an_oddly_named_data_folder(cli, tmp_path, name):
    data, storage = tmp_path / name / "data", tmp_path / name / "storage"
    track_id = fake_id(f"odd:{name}")
    result = cli("--data", str(data), "--storage", str(storage), "match", "skip", track_id)
    assert result.exit_code == 0, result.output

    database = data / "tunecrate.sqlite3"
    assert database.is_file()
    with sqlite3.connect(database) as db:
        assert db.execute("select kind from matchdecision where track_id = ?", (track_id,)).fetchone() == ("skipped",)
    # The doctor reads the same catalogue, read-only, and creates nothing beside it.
    from tunecrate.core.settings import Settings
    from tunecrate.db.engine import SCHEMA_VERSION
    from tunecrate.library.doctor import check_library

    checked = check_library(Settings.load(environ={}, storage_root=storage, data_root=data))
    assert f"catalogue: 0 tracks (schema {SCHEMA_VERSION})" in checked.detail, checked.detail
    # Nothing else became a database: no file cut at '?' or '#', no %-decoded name.
    strays = [p for p in tmp_path.rglob("*") if p.is_file() and p.name.startswith("tunecrate.sqlite3")
              and p.parent != data]
    assert strays == [] and sorted(p.name for p in tmp_path.iterdir()) == [name]

    # A second process opens the same catalogue and sees the decision.
    listing = cli("--data", str(data), "--storage", str(storage), "match", "list", "--json")
    assert listing.exit_code == 0, listing.output
    assert [d["track_id"] for d in json.loads(listing.stdout)] == [track_id]
