"""`tunecrate demo`: a public playlist of over 100 entries offline, part of it found by searching YouTube Music."""

from __future__ import annotations

import json

from mutagen.id3 import ID3

from conftest import Cli
from tunecrate.demo.run import DEMO_PLAYLIST_SIZE, DEMO_SEARCHED


def test_demo_finds_part_of_its_playlist_by_search(roots):
    cli = Cli({"TUNECRATE_STORAGE_ROOT": str(roots["storage_root"]), "TUNECRATE_DATA_ROOT": str(roots["data_root"]),
               "TUNECRATE_WORKERS": "2", "COLUMNS": "200"})
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert f"downloaded={DEMO_PLAYLIST_SIZE} present=0 unresolved=0 skipped=0 failed=0" in result.output
    pinned = DEMO_PLAYLIST_SIZE - DEMO_SEARCHED
    assert f"Pinned {pinned} demo tracks" in result.output

    tracks = {t["track_id"]: t for t in json.loads(cli("tracks", "--json").stdout)}
    by_provider = {}
    for track_id, track in tracks.items():
        by_provider.setdefault(track["source_provider"], []).append(track_id)
    assert len(by_provider.pop("pinned")) == pinned
    searched = by_provider.pop("ytmusic")
    assert len(searched) == DEMO_SEARCHED and not by_provider
    for track_id in searched:
        assert f"tunecrate match show {track_id}" in result.output

    reasons = set()
    for track_id in searched:
        shown = json.loads(cli("match", "show", track_id, "--json").stdout)
        assert shown["decision"] == "auto"
        best, *others = shown["candidates"]
        assert best["chosen"] and best["provider"] == "ytmusic"
        assert best["url"].startswith("https://music.youtube.com/watch?v=") and best["score"] >= 0.87
        assert best["why"].startswith(f"{best['score']:.2f}: ")  # the components it won on
        assert others and all(o["score"] < best["score"] for o in others)
        reasons.update(o["rejected"] or o["why"] for o in others)
        assert shown["choice"]["source"] == best["url"] == tracks[track_id]["source_url"]
        assert ID3(tracks[track_id]["path"])["TXXX:SOURCE_URL"].text == [best["url"]]
    assert "version mismatch: live" in reasons  # why the live takes lost
    videos_fallback = [json.loads(cli("match", "show", t, "--json").stdout)["candidates"][0]["title"]
                       for t in searched]
    assert any(title.endswith("(Official Video)") for title in videos_fallback)
