"""File modes: every file tunecrate writes is 0666 less the umask (a media server running as another user
reads the music); only secrets stay 0600; `verify --repair` fixes the files older releases made 0600."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from tunecrate.library.library import Library


@pytest.fixture(params=[0o022, 0o027], ids=["umask022", "umask027"])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loaded(settings, demo, world, umask):
    with Library(settings) as lib:
        for n, track_id in enumerate(demo.track_ids):
            lib.match_set(track_id, world.audio(f"mode-{n}", 1, 300 + 50 * n))
        report = lib.load_playlist(demo.playlist_url)
        assert report.counts["downloaded"] == 6
        yield lib


def test_library_files_and_exports_follow_the_umask(loaded, demo, umask, tmp_path):
    want = 0o666 & ~umask
    root = loaded.layout.root
    made = [*root.glob("tracks/*/*.mp3"), *root.glob("playlists/*"), root / "decisions.log"]
    assert len(made) >= 8
    assert {p.relative_to(root).as_posix(): oct(_mode(p)) for p in made} == \
        {p.relative_to(root).as_posix(): oct(want) for p in made}
    assert _mode(loaded.layout.tmp_file()) == want

    # A library file that an older release left 0600 does not make its copies 0600.
    first = demo.track_ids[0]
    loaded.layout.track_path(first).chmod(0o600)
    copies = [loaded.save_track(first, tmp_path / "out" / ""), loaded.save_track(first, tmp_path / "one.mp3")]
    zipped = loaded.export_playlist_zip(demo.playlist_id, tmp_path / "mix.zip").path
    m3u8 = loaded.export_m3u8(demo.playlist_id, tmp_path / "mix.m3u8").path
    mirrored = loaded.mirror([demo.playlist_id], tmp_path / "phone")
    outputs = [*copies, zipped, m3u8, *(p for p in (tmp_path / "phone").rglob("*") if p.is_file())]
    assert mirrored.copy and len(outputs) >= 10
    assert {str(p): oct(_mode(p)) for p in outputs} == {str(p): oct(want) for p in outputs}
    with zipfile.ZipFile(zipped) as zf:
        assert {stat.S_IMODE(i.external_attr >> 16) for i in zf.infolist()} == {0o644}


def test_secrets_stay_owner_only(tmp_path, umask):
    from tunecrate.sources.spotify_login import PrivateTokenCache

    cache = PrivateTokenCache(tmp_path / "data" / "spotify-token.json")
    cache.save_token_to_cache({"access_token": "x", "refresh_token": "y", "expires_at": 1, "scope": "s"})
    assert _mode(tmp_path / "data" / "spotify-token.json") == 0o600


def test_verify_repair_fixes_modes_older_releases_left(loaded, cli, demo, umask):
    want = 0o666 & ~umask
    root = loaded.layout.root
    old = [loaded.layout.track_path(demo.track_ids[1]), root / "playlists" / f"{demo.playlist_id}.json",
           root / "decisions.log"]  # the journal of the pins just made
    for path in old:
        path.chmod(0o600)

    checked = cli("verify")
    assert checked.exit_code == 1
    for path in old:
        assert f"{path}: mode 0600, want {want:04o}" in checked.stdout
    assert all(_mode(p) == 0o600 for p in old)

    fixed = cli("verify", "--repair", "--json")
    assert fixed.exit_code == 0, fixed.output
    assert all(_mode(p) == want for p in old)
    assert cli("verify").exit_code == 0
    # Only modes changed: no track was queued to be fetched again.
    assert all(t.status == "downloaded" for t in loaded.tracks())
