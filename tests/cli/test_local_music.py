"""The user's own music is used before any download, and never modified."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

from mutagen.flac import FLAC
from mutagen.id3 import ID3, TIT2, TPE1, TSRC
from mutagen.mp3 import MP3

from tunecrate.media.ffmpeg import find_ffmpeg


def _make(path, codec_args, seconds=3):
    subprocess.run([find_ffmpeg(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"sine=duration={seconds}",
                    *codec_args, str(path)], check=True)


def _digest(folder):
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir())}


def test_music_folder_is_used_before_any_download(cli, world, demo, roots, tmp_path):
    music = tmp_path / "My Music"
    music.mkdir()
    tracks = [world.spotify._tracks[t] for t in demo.track_ids]
    # An MP3 with the first track's ISRC (320k: copied as it is), a FLAC matching the second by tags.
    mp3 = music / "01 whatever.mp3"
    _make(mp3, ["-c:a", "libmp3lame", "-b:a", "320k"], seconds=12)
    tags = ID3()
    tags.add(TSRC(encoding=3, text=[tracks[0]["external_ids"]["isrc"]]))
    tags.add(TIT2(encoding=3, text=["Morning Static"]))
    tags.add(TPE1(encoding=3, text=["The Loopbacks"]))
    tags.save(mp3)
    flac = music / "Localhost Blues.flac"
    _make(flac, ["-c:a", "flac"], seconds=14)
    meta = FLAC(flac)
    meta["title"], meta["artist"] = "Localhost Blues", ["The Loopbacks", "Ada Byte"]
    meta.save()
    before = _digest(music)

    result = cli("playlist", demo.playlist_url, TUNECRATE_MUSIC_DIRS=str(music))
    assert result.exit_code == 0, result.output
    assert "downloaded=2 present=0 unresolved=4" in result.stdout
    assert not [r for r in world.media.requests if r[1].endswith(".webm")]  # nothing downloaded
    listing = {t["track_id"]: t for t in json.loads(cli("tracks", "--json").stdout)}
    first, second = listing[tracks[0]["id"]], listing[tracks[1]["id"]]
    assert (first["source_provider"], first["source_url"]) == ("local", str(mp3))
    assert (second["source_provider"], second["source_url"]) == ("local", str(flac))
    copied = MP3(first["path"])
    assert copied.info.bitrate >= 319_000 and copied.tags["TIT2"].text == ["Morning Static"]
    assert ID3(first["path"])["TXXX:SOURCE_URL"].text == [str(mp3)]
    assert abs(MP3(second["path"]).info.length - 14) < 0.5
    assert _digest(music) == before  # the user's folder is untouched
    assert os.listdir(music) == sorted(before)
