"""Export commands through the real CLI: path-of (and its old name download-track), save-track, playlist ZIPs, export, mirror."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from tunecrate.demo.spotify_server import fake_id, make_album, make_track
from tunecrate.demo.world import DEMO_SONGS
from tunecrate.targets.mirror import MANIFEST_NAME
from tunecrate.storage.names import check_relative

#: The demo playlist's order, as indexes into the demo album.
DEMO_ORDER = (3, 0, 5, 1, 4, 2)
HOSTILE_TITLES = ["../../x", "CON", "é" * 300, "😀 party 🎉", "שלום עולם", "a/b\\c", "nul.txt", "/etc/passwd"]


def _ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def _short_sources(world, track_ids) -> dict[str, str]:
    """track id → URL of a distinct one-second tone (encodes fast; generated once per session)."""
    return {track_id: world.audio(f"short-{n}", 1, 300 + 50 * n) for n, track_id in enumerate(track_ids)}


def _pin(cli, sources: dict[str, str]) -> None:
    for track_id, url in sources.items():
        _ok(cli("match", "set", f"spotify:track:{track_id}", url))


def _load_demo(cli, demo, world) -> None:
    _pin(cli, _short_sources(world, demo.track_ids))
    _ok(cli("playlist", demo.playlist_url))


def _library_file(roots, track_id: str) -> Path:
    return roots["storage_root"] / "tracks" / track_id[:2] / f"{track_id}.mp3"


def _label(index: int) -> str:
    title, artists, _, _ = DEMO_SONGS[index]
    return f"{', '.join(artists)} - {title}"


def _parse_m3u8(text: str) -> list[tuple[int, str, str]]:
    """(seconds, label, location) of each entry of an extended M3U8."""
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    body = [line for line in lines[1:] if not line.startswith("#PLAYLIST:")]
    entries = []
    for info, location in zip(body[::2], body[1::2]):
        assert info.startswith("#EXTINF:")
        seconds, label = info[len("#EXTINF:"):].split(",", 1)
        entries.append((int(seconds), label, location))
    return entries


def _one_line_error(result, *words: str) -> None:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.stderr


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` → (size, mtime_ns)."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


def _demo_track(demo, index: int) -> dict:
    """The Spotify track object of demo song ``index`` (as the demo catalogue builds it)."""
    title, artists, seconds, _ = DEMO_SONGS[index]
    album = make_album(demo.album_id, "Songs From 127.0.0.1", ["The Loopbacks"], release_date="2026-11-21",
                       total_tracks=len(DEMO_SONGS), images=[])
    return make_track(demo.track_ids[index], title, list(artists), album, duration_ms=seconds * 1000,
                      isrc=f"QZDA26{index + 1:05d}", explicit=index == 2, track_number=index + 1)


def _dup_world(world, demo):
    """A playlist [t1, t2, t1, t3]: t1 and t2 pinned to demo audio, t3 left without a source."""
    album = make_album(fake_id("dup:album"), "Dup Album", ["Dup Band"], total_tracks=3, images=[])
    tracks = [make_track(fake_id(f"dup:track:{n}"), f"Dup Song {n}", ["Dup Band"], album,
                         duration_ms=12_000, track_number=n) for n in (1, 2, 3)]
    world.spotify.add_album(album, tracks)
    playlist_id = fake_id("dup")
    world.spotify.add_playlist(playlist_id, "Dup", [tracks[0], tracks[1], tracks[0], tracks[2]], images=[])
    return playlist_id, [t["id"] for t in tracks], _short_sources(world, [t["id"] for t in tracks[:2]])


# -- tracks --------------------------------------------------------------------------------


def test_path_of_prints_the_path_and_save_track_copies_it(cli, demo, world, roots, tmp_path):
    _load_demo(cli, demo, world)
    first = demo.track_ids[0]
    library_file = _library_file(roots, first)

    result = _ok(cli("path-of", f"https://open.spotify.com/track/{first}?si=x"))
    assert result.stdout == f"{library_file.resolve()}\n"
    assert _ok(cli("download-track", f"spotify:track:{first}")).stdout == result.stdout  # the old name
    assert "download-track" not in cli("--help").stdout

    out = tmp_path / "out"
    out.mkdir()
    (out / "The Loopbacks - Morning Static.mp3").write_bytes(b"foreign")
    saved = Path(_ok(cli("save-track", first, str(out))).stdout.strip())
    assert saved == out / "The Loopbacks - Morning Static (2).mp3"
    assert saved.read_bytes() == library_file.read_bytes()
    assert (out / "The Loopbacks - Morning Static.mp3").read_bytes() == b"foreign"  # never overwritten
    again = Path(_ok(cli("save-track", first, str(out))).stdout.strip())
    assert again.name == "The Loopbacks - Morning Static (3).mp3"

    # A folder that does not exist yet, written with a trailing slash.
    fresh = Path(_ok(cli("save-track", demo.track_ids[4], str(tmp_path / "new") + "/")).stdout.strip())
    assert fresh == tmp_path / "new" / "Ada Byte, Ümlaut - Café Ünïcode (feat. Ümlaut).mp3"

    # An explicit file path is replaced, as cp does.
    target = tmp_path / "explicit.mp3"
    target.write_bytes(b"old")
    assert Path(_ok(cli("save-track", first, str(target))).stdout.strip()) == target
    assert target.read_bytes() == library_file.read_bytes()
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".tunecrate-tmp-")]
    assert leftovers == []


def test_track_commands_fail_with_one_line(cli, demo, world, tmp_path):
    _one_line_error(cli("download-track", fake_id("nope")), "no tunecrate library")
    # Known to the library but not downloaded (no source, no provider).
    _ok(cli("playlist", demo.playlist_url))
    _one_line_error(cli("path-of", fake_id("nope")), "no track")
    _one_line_error(cli("path-of", "../../etc/passwd"), "malformed")
    _one_line_error(cli("path-of", "https://open.spotify.com/album/" + demo.album_id), "expected a track")
    _one_line_error(cli("save-track", fake_id("nope"), str(tmp_path)), "no track")
    _one_line_error(cli("path-of", demo.track_ids[0]), "not downloaded", "unresolved")
    _one_line_error(cli("save-track", demo.track_ids[0], str(tmp_path)), "not downloaded")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "storage_data"]  # nothing written to OUT
    _load_demo(cli, demo, world)
    _one_line_error(cli("save-track", demo.track_ids[0], str(tmp_path / "no" / "such" / "x.mp3")), "does not exist")


# -- playlist ZIPs -------------------------------------------------------------------------------


def test_playlist_zip_holds_the_playlist(cli, demo, roots, world, tmp_path, media_cache):
    _load_demo(cli, demo, world)
    out = tmp_path / "demo.zip"
    result = _ok(cli("download-playlist-zip", demo.playlist_url, str(out)))
    lines = result.stdout.splitlines()
    assert lines[0] == str(out)
    assert lines[1].startswith("tracks=6 entries=6 missing=0 cover=yes bytes=")
    assert result.stderr == ""

    with zipfile.ZipFile(out) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        expected = [f"{n:02d} - {_label(i)}.mp3" for n, i in enumerate(DEMO_ORDER, 1)]
        assert names == ["cover.jpg", *expected, "tunecrate demo mix.m3u8"]
        for info, index in zip(infos[1:7], DEMO_ORDER):
            assert info.compress_type == zipfile.ZIP_STORED
            assert zf.read(info) == _library_file(roots, demo.track_ids[index]).read_bytes()
        assert zf.read("cover.jpg") == (media_cache / "media" / "demo-playlist-cover.jpg").read_bytes()
        m3u8 = _parse_m3u8(zf.read("tunecrate demo mix.m3u8").decode("utf-8"))
    assert m3u8 == [(DEMO_SONGS[i][2], _label(i), name) for i, name in zip(DEMO_ORDER, expected)]

    # The cover was cached; later exports do not need the network.
    cache = roots["storage_root"] / "playlists" / f"{demo.playlist_id}.cover.jpg"
    assert cache.read_bytes()[:2] == b"\xff\xd8"
    world.media.fail_next("demo-playlist-cover.jpg", 404, times=100)
    requests = len(world.media.requests)
    saved = _ok(cli("save-playlist", demo.playlist_id, str(tmp_path / "exports")))
    assert saved.stdout.splitlines()[0] == str(tmp_path / "exports" / "tunecrate demo mix.zip")
    assert "cover=yes" in saved.stdout and len(world.media.requests) == requests
    with zipfile.ZipFile(tmp_path / "exports" / "tunecrate demo mix.zip") as zf:
        assert zf.namelist() == names

    # Into a folder, download-playlist-zip names the archive after the playlist too; --json for scripts.
    doc = json.loads(_ok(cli("download-playlist-zip", "spotify:playlist:" + demo.playlist_id,
                             str(tmp_path), "--json")).stdout)
    assert doc["path"] == str(tmp_path / "tunecrate demo mix.zip")
    assert (doc["tracks"], doc["entries"], doc["missing"], doc["cover"]) == (6, 6, [], True)

    # `-` streams the archive to stdout; the summary goes to stderr.
    streamed = _ok(cli("download-playlist-zip", demo.playlist_id, "-"))
    with zipfile.ZipFile(__import__("io").BytesIO(streamed.stdout_bytes)) as zf:
        assert zf.namelist() == names and zf.testzip() is None
    assert "tracks=6 entries=6" in streamed.stderr


def test_duplicates_and_missing_tracks(cli, demo, world, roots, tmp_path):
    playlist_id, (t1, t2, t3), sources = _dup_world(world, demo)
    _pin(cli, sources)
    loaded = cli("playlist", playlist_id)
    assert "downloaded=2" in loaded.stdout and "unresolved=1" in loaded.stdout

    result = _ok(cli("download-playlist-zip", playlist_id, str(tmp_path)))
    assert result.stdout.splitlines()[1] == f"tracks=2 entries=3 missing=1 cover=no bytes={(tmp_path / 'Dup.zip').stat().st_size}"
    assert f"missing (not downloaded): Dup Band - Dup Song 3 ({t3})" in result.stdout
    with zipfile.ZipFile(tmp_path / "Dup.zip") as zf:
        assert zf.namelist() == ["01 - Dup Band - Dup Song 1.mp3", "02 - Dup Band - Dup Song 2.mp3", "Dup.m3u8"]
        m3u8 = _parse_m3u8(zf.read("Dup.m3u8").decode())
    assert [location for _, _, location in m3u8] == [
        "01 - Dup Band - Dup Song 1.mp3", "02 - Dup Band - Dup Song 2.mp3", "01 - Dup Band - Dup Song 1.mp3"]

    exported = _ok(cli("export", playlist_id, str(tmp_path / "lists") + "/", "--json"))
    doc = json.loads(exported.stdout)
    assert (doc["tracks"], doc["entries"]) == (2, 3)
    assert [m["track_id"] for m in doc["missing"]] == [t3]
    entries = _parse_m3u8((tmp_path / "lists" / "Dup.m3u8").read_text("utf-8"))
    files = [(tmp_path / "lists" / loc).resolve() for _, _, loc in entries]
    assert files == [_library_file(roots, t).resolve() for t in (t1, t2, t1)]


def test_cover_that_cannot_be_fetched_is_a_warning(cli, demo, world, roots, tmp_path):
    world.media.fail_next("demo-playlist-cover.jpg", 404, times=100)
    _pin(cli, _short_sources(world, demo.track_ids))
    loaded = _ok(cli("playlist", demo.playlist_url))
    assert "warning: playlist cover: no cover:" in loaded.stdout and "404" in loaded.stdout
    result = _ok(cli("download-playlist-zip", demo.playlist_id, str(tmp_path / "a.zip")))
    assert "cover=no" in result.stdout
    assert result.stderr.startswith("warning: no cover stored") and f"tunecrate sync {demo.playlist_id}" in result.stderr
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert "cover.jpg" not in zf.namelist() and len(zf.namelist()) == 7


def test_the_playlist_cover_is_stored_at_load_and_exports_stay_offline(cli, demo, world, roots, tmp_path,
                                                                       media_cache):
    _load_demo(cli, demo, world)
    cache = roots["storage_root"] / "playlists" / f"{demo.playlist_id}.cover.jpg"
    assert cache.read_bytes() == (media_cache / "media" / "demo-playlist-cover.jpg").read_bytes()

    # The network gone, an export still holds the cover, and asks nothing of it.
    world.media.fail_next("demo-playlist-cover.jpg", 503, times=100)
    requests = len(world.media.requests)
    result = _ok(cli("download-playlist-zip", demo.playlist_id, str(tmp_path / "a.zip")))
    assert "cover=yes" in result.stdout and result.stderr == ""
    # A cover that is not stored (an older library) is not fetched by an export either.
    cache.unlink()
    result = _ok(cli("download-playlist-zip", demo.playlist_id, str(tmp_path / "b.zip")))
    assert "cover=no" in result.stdout and "tunecrate sync" in result.stderr
    assert len(world.media.requests) == requests

    # The next sync, with nothing else to do, stores it.
    world.media.clear_faults()
    synced = _ok(cli("sync", demo.playlist_id))
    assert "up to date" in synced.stdout and cache.is_file()


# -- M3U8 ----------------------------------------------------------------------------------------


def test_export_m3u8_relative_and_absolute(cli, demo, world, roots, tmp_path):
    _load_demo(cli, demo, world)
    expected = [_library_file(roots, demo.track_ids[i]).resolve() for i in DEMO_ORDER]

    dest = tmp_path / "lists"
    dest.mkdir()
    result = _ok(cli("export", demo.playlist_url, str(dest), "--format", "m3u8"))
    m3u8 = dest / "tunecrate demo mix.m3u8"
    assert result.stdout.splitlines() == [str(m3u8), f"tracks=6 entries=6 missing=0 bytes={m3u8.stat().st_size}"]
    text = m3u8.read_text("utf-8")
    assert text.splitlines()[1] == "#PLAYLIST:tunecrate demo mix"
    entries = _parse_m3u8(text)
    assert [(s, label) for s, label, _ in entries] == [(DEMO_SONGS[i][2], _label(i)) for i in DEMO_ORDER]
    assert all(not os.path.isabs(loc) for _, _, loc in entries)
    assert [(dest / loc).resolve() for _, _, loc in entries] == expected

    absolute = tmp_path / "abs.m3u8"
    _ok(cli("export", demo.playlist_id, str(absolute), "--absolute"))
    locations = [loc for _, _, loc in _parse_m3u8(absolute.read_text("utf-8"))]
    assert all(os.path.isabs(loc) for loc in locations)
    assert [Path(loc).resolve() for loc in locations] == expected

    assert cli("export", demo.playlist_id, str(tmp_path), "--format", "pls").exit_code == 2


# -- mirror ----------------------------------------------------------------------------------------


def test_mirror_moves_only_the_difference(cli, demo, world, roots, tmp_path):
    _load_demo(cli, demo, world)
    dest = tmp_path / "phone"

    plan = _ok(cli("mirror", demo.playlist_url, str(dest), "--dry-run"))
    assert plan.stdout.splitlines()[0] == f"plan for {dest}"
    assert plan.stdout.count("would copy:") == 7 and not dest.exists()

    first = _ok(cli("mirror", demo.playlist_url, str(dest)))
    assert first.stdout.splitlines()[-1].startswith("copy=7 update=0 delete=0 release=0 keep=0 missing=0")
    names = sorted(p.name for p in dest.iterdir())
    assert names == sorted([MANIFEST_NAME, "tunecrate demo mix.m3u8", *(f"{_label(i)}.mp3" for i in range(6))])
    for index, track_id in enumerate(demo.track_ids):
        assert (dest / f"{_label(index)}.mp3").read_bytes() == _library_file(roots, track_id).read_bytes()
    (dest / "notes.txt").write_text("mine")
    (dest / f"{_label(0)}.MP3.bak").write_text("mine too")

    # Spotify drops "Morning Static" (demo track 0); the library follows.
    world.spotify.set_playlist_items(demo.playlist_id, [_demo_track(demo, i) for i in DEMO_ORDER if i != 0])
    assert "downloaded=0 present=5" in _ok(cli("playlist", demo.playlist_url)).stdout

    before = _tree(dest)
    dry = _ok(cli("mirror", demo.playlist_id, str(dest), "--dry-run", "--json"))
    doc = json.loads(dry.stdout)
    assert doc["dry_run"] is True
    assert [i["name"] for i in doc["delete"]] == [f"{_label(0)}.mp3"]
    assert [i["name"] for i in doc["update"]] == ["tunecrate demo mix.m3u8"]
    assert doc["copy"] == [] and len(doc["keep"]) == 5
    assert _tree(dest) == before

    second = _ok(cli("mirror", demo.playlist_id, str(dest)))
    assert f"delete: {_label(0)}.mp3 (not in any playlist)" in second.stdout
    assert "update: tunecrate demo mix.m3u8 (playlist changed)" in second.stdout
    assert "copy=0 update=1 delete=1 release=0 keep=5" in second.stdout
    after = _tree(dest)
    assert f"{_label(0)}.mp3" not in after
    assert (dest / "notes.txt").read_text() == "mine" and (dest / f"{_label(0)}.MP3.bak").exists()
    for index in range(1, 6):
        name = f"{_label(index)}.mp3"
        assert after[name] == before[name]  # untouched
    locations = [loc for _, _, loc in _parse_m3u8((dest / "tunecrate demo mix.m3u8").read_text("utf-8"))]
    assert locations == [f"{_label(i)}.mp3" for i in DEMO_ORDER if i != 0]

    third = _ok(cli("mirror", "--all", str(dest)))
    assert "copy=0 update=0 delete=0 release=0 keep=6" in third.stdout


def _seed_login(world, roots) -> None:
    """Log in as the stand-in's user (what `tunecrate login` leaves behind)."""
    from tunecrate.sources.spotify_login import PrivateTokenCache

    roots["data_root"].mkdir(parents=True, exist_ok=True)
    PrivateTokenCache(roots["data_root"] / "spotify-token.json").save_token_to_cache(world.spotify.issue_user_token())


def test_mirror_all_and_usage_errors(cli, demo, world, roots, tmp_path):
    _ok(cli("load-local"))  # an empty library
    _one_line_error(cli("mirror", "--all", str(tmp_path / "m")), "no playlists")
    assert cli("mirror", str(tmp_path / "m")).exit_code == 2
    assert cli("mirror", "--all", demo.playlist_id, str(tmp_path / "m")).exit_code == 2
    _one_line_error(cli("mirror", fake_id("nope"), str(tmp_path / "m")), "no playlist")
    _one_line_error(cli("mirror", "../../etc", str(tmp_path / "m")), "malformed")
    assert not (tmp_path / "m").exists()

    playlist_id, _, sources = _dup_world(world, demo)
    _load_demo(cli, demo, world)
    _pin(cli, sources)
    _ok(cli("playlist", playlist_id))
    _seed_login(world, roots)
    world.spotify.set_saved_tracks([_demo_track(demo, 4), _demo_track(demo, 1)])
    _ok(cli("likes"))
    doc = json.loads(_ok(cli("mirror", "--all", str(tmp_path / "m"), "--json")).stdout)
    playlists = sorted(i["name"] for i in doc["copy"] if i["kind"] == "playlist")
    assert playlists == ["Dup.m3u8", "Liked Songs.m3u8", "tunecrate demo mix.m3u8"]
    likes = _parse_m3u8((tmp_path / "m" / "Liked Songs.m3u8").read_text("utf-8"))
    assert [loc for _, _, loc in likes] == [f"{_label(4)}.mp3", f"{_label(1)}.mp3"]
    zipped = _ok(cli("download-playlist-zip", "likes", str(tmp_path)))
    assert "tracks=2 entries=2 missing=0 cover=no" in zipped.stdout and zipped.stderr == ""
    assert len([i for i in doc["copy"] if i["kind"] == "track"]) == 8
    assert [m["title"] for m in doc["missing"]] == ["Dup Song 3"]


# -- hostile names ---------------------------------------------------------------------------------


def test_hostile_titles_stay_inside_dest(cli, demo, world, tmp_path):
    album = make_album(fake_id("evil:album"), "../../album", ["../.."], total_tracks=6, images=[])
    tracks = [make_track(fake_id(f"evil:{n}"), title, ["..", "CON"] if n % 2 else ["/root"], album,
                         duration_ms=10_000, track_number=n + 1)
              for n, title in enumerate(HOSTILE_TITLES[:6])]
    world.spotify.add_album(album, tracks)
    _pin(cli, _short_sources(world, [t["id"] for t in tracks]))

    dest = tmp_path / "dest"
    dest.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (dest / "inner").mkdir()
    for n, title in enumerate(HOSTILE_TITLES):
        playlist_id = fake_id(f"evil:playlist:{n}")
        world.spotify.add_playlist(playlist_id, title, tracks, images=[])
        _ok(cli("playlist", playlist_id))
        _ok(cli("save-playlist", playlist_id, str(dest / "inner")))
        _ok(cli("export", playlist_id, str(dest / "inner")))
    for track in tracks:
        _ok(cli("save-track", track["id"], str(dest / "inner")))
    _ok(cli("mirror", "--all", str(dest / "mirror")))

    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "dest", "outside", "storage_data"]
    files = [p for p in dest.rglob("*")]
    assert {p.parent for p in files} <= {dest, dest / "inner", dest / "mirror"}
    for path in files:
        assert len(path.name.encode("utf-8")) <= 255
        assert not path.name.startswith((".", " ")) or path.name == MANIFEST_NAME
        assert path.name.split(".")[0].upper() not in ("CON", "NUL", "PRN", "AUX")
    inner = sorted(p.name for p in (dest / "inner").iterdir())
    assert len([n for n in inner if n.endswith(".zip")]) == len(HOSTILE_TITLES)
    assert len([n for n in inner if n.endswith(".m3u8")]) == len(HOSTILE_TITLES)
    assert len([n for n in inner if n.endswith(".mp3")]) == 6
    for name in inner:
        if name.endswith(".zip"):
            with zipfile.ZipFile(dest / "inner" / name) as zf:
                members = zf.namelist()
                assert len(members) == 7 and zf.testzip() is None
                for member in members:
                    check_relative(member)
                    assert "/" not in member and len(member.encode()) <= 255
    m3u8s = sorted(p.name for p in (dest / "mirror").iterdir() if p.suffix == ".m3u8")
    assert len(m3u8s) == len(HOSTILE_TITLES)
