"""The index of the user's own music folders and the ``local`` provider."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from mutagen.flac import FLAC
from mutagen.id3 import TALB, TIT2, TPE1, TSRC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4FreeForm
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE
from sqlmodel import Session, create_engine, select

from tunecrate.core.errors import ConfigurationError, ServiceUnavailable
from tunecrate.core.matching import Thresholds, decide, score
from tunecrate.core.settings import Settings
from tunecrate.core.types import TrackInfo
from tunecrate.db.engine import open_engine
from tunecrate.db.local_index import LocalFile
from tunecrate.media.ffmpeg import find_ffmpeg
from tunecrate.providers.local import (
    LocalIndex,
    LocalProvider,
    add_music_dir,
    is_suitable_mp3,
    load_music_dirs,
    music_dirs_file,
    remove_music_dir,
    stored_music_dirs,
)
from tunecrate.providers.base import Provider

#: file name → (ffmpeg codec arguments, title, artists, album, isrc)
FILES = {
    "lucky.mp3": (["-c:a", "libmp3lame", "-b:a", "320k"], "Get Lucky", ["Daft Punk", "Pharrell Williams"],
                  "Random Access Memories", "USQX91300108"),
    "sub dir/Ça « va » 'bien'.flac": (["-c:a", "flac"], "Ça va bien", ["Ümlaut"], "Été",
                                      "FRZ031300001"),
    "aac/song.m4a": (["-c:a", "aac", "-b:a", "96k"], "Midnight City", ["M83"], "Hurry Up", "FR6V81141061"),
    "vorbis.ogg": (["-c:a", "libvorbis"], "Harder Better Faster Stronger", ["Daft Punk"], "Discovery",
                   "GB-DUW-00-00059"),
    "夜/opus.opus": (["-c:a", "libopus", "-b:a", "64k"], "夜のサイン波", ["Ada Byte"], "Loopback", "QZDA26000003"),
    "tagged.wav": (["-c:a", "pcm_s16le"], "Tagged Wave", ["Wave Artist"], "Waves", "QZDA26000004"),
}
#: A WAV without tags, named the way people name files.
UNTAGGED_WAV = '01 - Sigur Rós - Hoppípolla "live" \'take\'.wav'


def _ffmpeg(*args: str) -> None:
    subprocess.run([find_ffmpeg(), "-loglevel", "error", "-y", "-f", "lavfi", *args], check=True)


def _encode(dest: Path, codec_args: list[str]) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    _ffmpeg("-i", "sine=duration=1", *codec_args, "-map_metadata", "-1", str(dest))


def _tag(path: Path, title: str, artists: list[str], album: str, isrc: str) -> None:
    if path.suffix in (".mp3", ".wav"):
        audio = WAVE(path) if path.suffix == ".wav" else MP3(path)
        if audio.tags is None:
            audio.add_tags()
        audio.tags.add(TIT2(encoding=3, text=[title]))
        audio.tags.add(TPE1(encoding=3, text=artists))
        audio.tags.add(TALB(encoding=3, text=[album]))
        audio.tags.add(TSRC(encoding=3, text=[isrc]))
    elif path.suffix == ".m4a":
        audio = MP4(path)
        audio["\xa9nam"], audio["\xa9ART"], audio["\xa9alb"] = [title], artists, [album]
        audio["----:com.apple.iTunes:ISRC"] = [MP4FreeForm(isrc.encode())]
    else:
        audio = {".flac": FLAC, ".ogg": OggVorbis, ".opus": OggOpus}[path.suffix](path)
        audio["TITLE"], audio["artist"], audio["album"], audio["isrc"] = [title], artists, [album], [isrc]
    audio.save()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A tagged music folder, generated once; tests work on copies."""
    root = tmp_path_factory.mktemp("template")
    for name, (codec_args, *tags) in FILES.items():
        _encode(root / name, codec_args)
        _tag(root / name, *tags)
    _encode(root / UNTAGGED_WAV, ["-c:a", "pcm_s16le"])
    return root


@pytest.fixture
def music(template, tmp_path) -> Path:
    root = tmp_path / "My Music"
    shutil.copytree(template, root)
    return root


@pytest.fixture
def engine(tmp_path):
    engine = open_engine(tmp_path / "data" / "tunecrate.sqlite3")
    yield engine
    engine.dispose()


@pytest.fixture
def index(engine) -> LocalIndex:
    return LocalIndex(engine)


def _rows(engine) -> dict[str, LocalFile]:
    with Session(engine) as session:
        return {Path(r.path).name: r for r in session.exec(select(LocalFile))}


def _snapshot(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_each_format_is_indexed_with_its_tags(music, index, engine):
    report = index.scan([music])

    assert (report.added, report.updated, report.removed, report.unchanged, report.errors) == (7, 0, 0, 0, [])
    rows = _rows(engine)
    expected_kinds = {"lucky.mp3": ("mp3", "mp3"), "Ça « va » 'bien'.flac": ("flac", "flac"),
                      "song.m4a": ("mp4", "aac"), "vorbis.ogg": ("ogg", "vorbis"), "opus.opus": ("ogg", "opus"),
                      "tagged.wav": ("wav", "pcm")}
    for name, (_, title, artists, album, isrc) in FILES.items():
        row = rows[Path(name).name]
        assert (row.title, row.artists, row.album, row.isrc) == (title, artists, album, isrc.replace("-", "")), name
        assert (row.format, row.codec) == expected_kinds[Path(name).name]
        assert abs(row.duration_ms - 1000) < 100, name
        assert row.path == str(music / name) and row.root == str(music)
        assert row.size_bytes == (music / name).stat().st_size
        assert row.mtime_ns == (music / name).stat().st_mtime_ns
    assert rows["lucky.mp3"].bitrate_kbps == 320


def test_untagged_file_is_named_by_its_file_name(music, index, engine):
    index.scan([music])

    row = _rows(engine)[UNTAGGED_WAV]
    assert (row.title, row.artists, row.album, row.isrc) == ("Hoppípolla \"live\" 'take'", ["Sigur Rós"], "", None)


def test_rescan_reads_only_changed_files(music, index, engine):
    index.scan([music])
    flac = music / "sub dir" / "Ça « va » 'bien'.flac"
    before = flac.stat()
    audio = FLAC(flac)
    audio["title"] = ["Ça va mal!"]  # same length: the padding absorbs it, the size stays
    audio.save()
    os.utime(flac, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert flac.stat().st_size == before.st_size

    progress = []
    report = index.scan([music], progress=lambda done, total: progress.append((done, total)))

    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 7)
    assert progress == [(n, 7) for n in range(1, 8)]
    assert _rows(engine)[flac.name].title == "Ça va bien"  # not read again: the stale title stays

    os.utime(flac, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    report = index.scan([music])

    assert (report.added, report.updated, report.unchanged) == (0, 1, 6)
    assert _rows(engine)[flac.name].title == "Ça va mal!"


def test_deleted_files_and_dropped_folders_leave_the_index(music, index, engine, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy2(music / "vorbis.ogg", other / "copy.ogg")
    index.scan([music, other])
    assert index.file_counts() == {music: 7, other: 1}

    (music / "lucky.mp3").unlink()
    report = index.scan([music])

    assert (report.added, report.removed, report.unchanged) == (0, 2, 6)
    assert set(_rows(engine)) == {Path(n).name for n in FILES if n != "lucky.mp3"} | {UNTAGGED_WAV}
    assert index.file_counts() == {music: 6}


def test_unreadable_files_are_reported_not_fatal(music, index, engine):
    (music / "broken.mp3").write_bytes(b"this is not audio" * 100)
    (music / "dangling.flac").symlink_to(music / "nowhere.flac")
    index.scan([music])
    (music / "vorbis.ogg").write_bytes(b"OggS but truncated")  # indexed before, now corrupt

    report = index.scan([music, music / "missing"])

    failed = {path.name: reason for path, reason in report.errors}
    assert set(failed) == {"broken.mp3", "dangling.flac", "vorbis.ogg", "missing"}
    assert failed["missing"].startswith("music folder not readable")
    assert (report.removed, report.unchanged) == (1, 6)
    assert "vorbis.ogg" not in _rows(engine)


def test_hidden_files_are_skipped_and_symlink_loops_end(music, index, engine):
    (music / ".hidden").mkdir()
    shutil.copy2(music / "lucky.mp3", music / ".hidden" / "secret.mp3")
    shutil.copy2(music / "lucky.mp3", music / ".also-hidden.mp3")
    (music / "sub dir" / "loop").symlink_to(music, target_is_directory=True)
    (music / "link.mp3").symlink_to(music / "lucky.mp3")
    linked = music.parent / "elsewhere"
    linked.mkdir()
    shutil.copy2(music / "vorbis.ogg", linked / "linked.ogg")
    (music / "linked dir").symlink_to(linked, target_is_directory=True)

    report = index.scan([music])

    assert report.errors == []
    rows = _rows(engine)
    assert len(rows) == 8  # the 7 files once each, plus the one behind the directory link
    assert rows["linked.ogg"].path == str(music / "linked dir" / "linked.ogg")
    assert not {"secret.mp3", ".also-hidden.mp3"} & set(rows)


def test_isrc_match_comes_first(music, index):
    index.scan([music])
    # The title points at another file; the ISRC names the Ogg Vorbis file.
    track = TrackInfo("t1", "Get Lucky", ("Daft Punk",), duration_ms=1000, isrc="gbduw0000059")

    candidates = index.search(track)

    assert candidates[0].url == str(music / "vorbis.ogg")
    assert candidates[0].isrc == "GBDUW0000059"
    assert score(track, candidates[0]).total == 1.0
    assert str(music / "lucky.mp3") in [c.url for c in candidates[1:]]


def test_fuzzy_match_by_title_and_artist(music, index):
    index.scan([music])
    track = TrackInfo("t2", "Get Lucky (feat. Pharrell Williams & Nile Rodgers) - Radio Edit",
                      ("Daft Punk", "Pharrell Williams", "Nile Rodgers"), album="Random Access Memories",
                      duration_ms=1020)

    candidates = index.search(track)

    best = candidates[0]
    assert (best.url, best.title, best.artist) == (str(music / "lucky.mp3"), "Get Lucky",
                                                   "Daft Punk, Pharrell Williams")
    assert (best.provider, best.verified, best.album) == ("local", True, "Random Access Memories")
    assert abs(best.duration_ms - 1000) < 100
    assert decide(track, candidates).status == "accepted"
    assert score(track, best).total >= Thresholds().accept


def test_fuzzy_match_of_an_accented_untagged_file(music, index):
    index.scan([music])
    track = TrackInfo("t3", "Hoppipolla", ("Sigur Ros",), duration_ms=1000)

    candidates = index.search(track)

    assert [c.url for c in candidates] == [str(music / UNTAGGED_WAV)]


def test_unrelated_track_finds_nothing(music, index):
    index.scan([music])

    assert index.search(TrackInfo("t4", "Bohemian Rhapsody", ("Queen",), duration_ms=354_000)) == []


def test_vanished_file_is_not_offered(music, index):
    index.scan([music])
    (music / "lucky.mp3").unlink()

    assert index.search(TrackInfo("t5", "Get Lucky", ("Daft Punk",))) == []


def test_search_sees_scans_made_by_another_index(music, engine, tmp_path):
    searcher, scanner = LocalIndex(engine), LocalIndex(engine)
    track = TrackInfo("t6", "Midnight City", ("M83",))
    assert searcher.search(track) == []

    scanner.scan([music])

    assert [c.url for c in searcher.search(track)] == [str(music / "aac" / "song.m4a")]


def test_folders_are_never_modified(music, index):
    before = _snapshot(music)
    listing = sorted(os.listdir(music))

    index.scan([music])
    for title in ("Get Lucky", "Ça va bien", "Midnight City", "夜のサイン波", "Tagged Wave"):
        index.search(TrackInfo("t7", title, ("x",), isrc="QZDA26000003"))
    is_suitable_mp3(music / "lucky.mp3")
    index.scan([music])

    assert _snapshot(music) == before
    assert sorted(os.listdir(music)) == listing


def test_provider_wraps_the_index(music, index):
    provider = LocalProvider(index, limit=1)
    index.scan([music])

    assert isinstance(provider, Provider) and provider.name == "local"
    found = provider.search(TrackInfo("t8", "Harder, Better, Faster, Stronger", ("Daft Punk",)))
    assert [c.url for c in found] == [str(music / "vorbis.ogg")]


def test_provider_reports_a_broken_index_as_unavailable(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")  # no tables
    provider = LocalProvider(LocalIndex(engine))

    with pytest.raises(ServiceUnavailable, match="local music index"):
        provider.search(TrackInfo("t9", "Get Lucky", ("Daft Punk",)))
    engine.dispose()


def test_concurrent_searches(music, index):
    index.scan([music])
    track = TrackInfo("t10", "Midnight City", ("M83",))
    results: list[list[str]] = []

    def search() -> None:
        results.append([c.url for c in index.search(track)])

    threads = [threading.Thread(target=search) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert results == [[str(music / "aac" / "song.m4a")]] * 8


def test_is_suitable_mp3(music, tmp_path):
    def mp3(name: str, *args: str) -> Path:
        """One second of stereo noise (hard to compress, so VBR rates are high)."""
        _ffmpeg("-i", "anoisesrc=d=1:a=0.5:r=44100:seed=1", "-f", "lavfi", "-i", "anoisesrc=d=1:a=0.5:r=44100:seed=2",
                "-filter_complex", "amerge=inputs=2", "-c:a", "libmp3lame", *args, str(tmp_path / name))
        return tmp_path / name

    assert is_suitable_mp3(music / "lucky.mp3")  # CBR 320
    assert is_suitable_mp3(mp3("v0.mp3", "-q:a", "0"))  # VBR, about 255 kbit/s on average
    assert not is_suitable_mp3(mp3("v4.mp3", "-q:a", "4"))  # VBR, about 150 kbit/s
    assert not is_suitable_mp3(mp3("cbr128.mp3", "-b:a", "128k"))
    assert not is_suitable_mp3(mp3("mpeg2.mp3", "-ar", "22050", "-b:a", "160k"))  # MPEG-2 Layer III
    assert not is_suitable_mp3(music / "sub dir" / "Ça « va » 'bien'.flac")
    assert not is_suitable_mp3(tmp_path / "missing.mp3")


def test_music_dirs_store(tmp_path):
    data, a, b = tmp_path / "data", tmp_path / "A folder ü", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    settings = Settings.load(environ={"TUNECRATE_MUSIC_DIRS": f"{b}{os.pathsep}{a}"}, data_root=data)

    assert add_music_dir(data, a / ".." / a.name) == a
    assert add_music_dir(data, a) == a  # already there: nothing changes
    assert add_music_dir(data, str(tmp_path / "c" / ".." / "b")) == b
    assert json.loads(music_dirs_file(data).read_text(encoding="utf-8")) == [str(a), str(b)]
    assert load_music_dirs(settings) == [b, a]
    assert [p.name for p in data.iterdir()] == ["music_dirs.json"]  # no temporary file left

    assert remove_music_dir(data, a) == a
    assert stored_music_dirs(data) == [b]
    with pytest.raises(ConfigurationError, match="not a music folder added"):
        remove_music_dir(data, a)
    with pytest.raises(ConfigurationError, match="does not exist"):
        add_music_dir(data, tmp_path / "nope")
    (tmp_path / "file.mp3").write_bytes(b"")
    with pytest.raises(ConfigurationError, match="is not a directory"):
        add_music_dir(data, tmp_path / "file.mp3")

    music_dirs_file(data).write_text('{"not": "a list"}', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="JSON list"):
        load_music_dirs(settings)
