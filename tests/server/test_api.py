"""The HTTP API through httpx against the app: every route, its codes and its shapes."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote

import pytest
from mutagen.mp3 import MP3

from tunecrate.demo.spotify_server import fake_id

JOB_KEYS = {"job_id", "job_type", "target", "status", "progress", "message", "created_at", "updated_at",
            "started_at", "finished_at", "result"}


def _cli_report(cli, demo):
    for track_id, url in demo.sources.items():
        assert cli("match", "set", track_id, url).exit_code == 0
    result = cli("playlist", demo.playlist_url, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_load_answers_202_with_a_job_whose_result_is_the_cli_report(api, demo, cli, tmp_path):
    response = api.post("/playlist/load", json={"url": demo.playlist_url})
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"job_id"} and isinstance(body["job_id"], int)
    assert response.headers["location"] == f"/jobs/{body['job_id']}"
    job = api.wait_job(body["job_id"])
    assert set(job) == JOB_KEYS
    assert (job["job_type"], job["status"], job["progress"]) == ("playlist_load", "completed", 1.0)
    assert job["target"] == demo.playlist_url and job["message"].startswith("tunecrate demo mix: downloaded=6")
    assert job["created_at"] <= job["started_at"] <= job["finished_at"] == job["updated_at"]
    result = job["result"]
    assert (result["id"], result["counts"]["downloaded"], result["added"]) == (demo.playlist_id, 6, 6)
    assert api.get(f"/jobs/{body['job_id']}").json() == job
    listed = api.get("/jobs").json()
    assert [j["job_id"] for j in listed] == [body["job_id"]] and listed[0] == job
    assert api.get("/jobs", params={"status": "running"}).json() == []
    # A job's result is the object the CLI prints with --json; the CLI's own jobs are listed too.
    printed = _cli_report(cli, demo)
    cli_job = api.get("/jobs").json()[0]
    assert cli_job["job_id"] == body["job_id"] + 1 and cli_job["result"] == printed
    assert set(printed) == set(result) and printed["counts"]["present"] == 6
    assert api.get("/jobs/999").status_code == 404
    assert api.get("/jobs/abc").status_code == 422


def test_track_album_and_sync_routes(api, demo, loaded):
    track = api.post("/track/load", json={"url": f"spotify:track:{demo.track_ids[0]}"})
    album = api.post("/track/load", json={"url": f"https://open.spotify.com/album/{demo.album_id}"})
    bare = api.post("/track/load", json={"url": demo.track_ids[1]})
    sync = api.post("/playlist/sync", json={"url": demo.playlist_id})
    jobs = [api.wait_job(r.json()["job_id"]) for r in (track, album, bare, sync)]
    assert [r.status_code for r in (track, album, bare, sync)] == [202] * 4
    assert [j["job_type"] for j in jobs] == ["track_load", "album_load", "track_load", "playlist_sync"]
    assert all(j["status"] == "completed" for j in jobs), jobs
    assert jobs[1]["result"]["counts"]["present"] == 6
    assert jobs[3]["result"]["up_to_date"] is True and jobs[3]["target"] == demo.playlist_id
    detail = api.get(f"/track/{demo.track_ids[0]}").json()
    assert detail["added_directly"] is True


@pytest.mark.parametrize("route, body, message", [
    ("/track/load", {"url": "https://example.com/x"}, "not a Spotify URL"),
    ("/track/load", {"url": "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M"}, "use /playlist/load"),
    ("/playlist/load", {"url": "spotify:album:4aawyAB9vmqN3uQ7FjRGTy"}, "expected a playlist link"),
    ("/playlist/sync", {"url": "../../etc/passwd"}, "malformed Spotify playlist id"),
    ("/playlist/load", {"url": "37i9dQZF1DXcBWIGoYBM5M", "source": "nope"}, "unknown source 'nope'"),
])
def test_bad_references_are_400_with_one_line_and_start_no_job(api, route, body, message):
    response = api.post(route, json=body)
    assert response.status_code == 400
    assert message in response.json()["detail"] and "\n" not in response.json()["detail"]
    assert api.get("/jobs").json() == []


def test_bodies_that_are_not_json_objects_are_422(api):
    assert api.post("/track/load", json={"link": "x"}).status_code == 422
    assert api.post("/track/load", content=b'{"url": "x"}', headers={"content-type": "text/plain"}).status_code == 422
    assert api.post("/review/" + "a" * 22, json={"action": "maybe"}).status_code == 422


def test_listings_page_and_search(api, demo, loaded):
    tracks = api.get("/tracks")
    assert tracks.status_code == 200 and tracks.headers["x-total-count"] == "6"
    rows = tracks.json()
    assert {r["track_id"] for r in rows} == set(demo.track_ids)
    assert set(rows[0]) == {"track_id", "title", "artists", "album", "album_artists", "isrc", "duration_ms", "path",
                            "size_bytes", "status", "reason", "source_url", "source_provider", "match_score"}
    page = api.get("/tracks", params={"offset": 2, "limit": 3})
    assert [r["track_id"] for r in page.json()] == [r["track_id"] for r in rows[2:5]]
    assert page.headers["x-total-count"] == "6"
    found = api.get("/tracks", params={"q": "ümlaut"}).json()
    assert [r["title"] for r in found] == ["Café Ünïcode (feat. Ümlaut)"]
    assert api.get("/tracks", params={"status": "failed"}).json() == []
    assert api.get("/tracks", params={"limit": 0}).status_code == 422
    assert api.get("/tracks", params={"offset": -1}).status_code == 422

    playlists = api.get("/playlists").json()
    assert [(p["playlist_id"], p["title"], p["track_count"], p["downloaded"]) for p in playlists] == [
        (demo.playlist_id, "tunecrate demo mix", 6, 6)]
    assert api.get("/playlists", params={"q": "nothing like it"}).json() == []
    assert api.get(f"/playlist/{demo.playlist_id}").json() == playlists[0]
    assert api.get(f"/playlist/{fake_id('unknown')}").status_code == 404
    assert api.get("/stats").json()["downloaded"] == 6
    assert api.get("/server").json() == {"name": "tunecrate", "version": "0.1.0", "auth": False, "sync_every_s": None}


def test_playlist_tracks_are_the_entries_in_order(api, demo, library, loaded):
    response = api.get(f"/playlist/{demo.playlist_id}/tracks")
    entries = response.json()
    expected = library.playlist(demo.playlist_id).tracks
    assert [(e["position"], e["track"]["track_id"]) for e in entries] == [(t.position, t.track_id) for t in expected]
    assert [e["position"] for e in entries] == [0, 1, 3, 5, 7, 9]  # the source's positions; skipped ones left out
    assert entries[0]["track"] == expected[0].to_json()
    assert response.headers["x-total-count"] == "6"
    assert api.get(f"/playlist/{demo.playlist_id}/tracks", params={"offset": 4}).json() == entries[4:]
    assert [e["track"]["title"] for e in api.get(f"/playlist/{demo.playlist_id}/tracks",
                                                   params={"q": "blues"}).json()] == ["Localhost Blues"]
    assert api.get(f"/playlist/{fake_id('unknown')}/tracks").status_code == 404
    detail = api.get(f"/track/{demo.track_ids[0]}").json()
    assert detail["playlists"] == [{"playlist_id": demo.playlist_id, "title": "tunecrate demo mix"}]
    assert api.get(f"/track/{fake_id('unknown')}").status_code == 404


def test_stream_answers_byte_ranges(api, demo, library, loaded):
    track_id = demo.track_ids[0]
    path = Path(library.track_file(track_id))
    data = path.read_bytes()
    whole = api.get(f"/track/{track_id}/stream")
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "audio/mpeg" and whole.headers["accept-ranges"] == "bytes"
    assert "content-disposition" not in whole.headers
    part = api.get(f"/track/{track_id}/stream", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = api.get(f"/track/{track_id}/stream", headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    outside = api.get(f"/track/{track_id}/stream", headers={"Range": f"bytes={len(data)}-"})
    assert outside.status_code == 416 and outside.headers["content-range"] == f"bytes */{len(data)}"
    head = api.request("HEAD", f"/track/{track_id}/stream")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(data))


def test_stream_of_a_track_without_a_file_is_404(api, demo, library, loaded):
    track_id = demo.track_ids[2]
    Path(library.track_file(track_id)).unlink()
    response = api.get(f"/track/{track_id}/stream")
    assert response.status_code == 404 and "missing" in response.json()["detail"]
    assert api.get(f"/track/{fake_id('never')}/stream").status_code == 404


def test_download_names_the_file_with_rfc_6266(api, demo, library, loaded):
    unicode_track = demo.track_ids[4]  # "Café Ünïcode (feat. Ümlaut)" by Ada Byte, Ümlaut
    response = api.get(f"/track/{unicode_track}/download")
    assert response.status_code == 200 and response.content == Path(library.track_file(unicode_track)).read_bytes()
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Ada Byte, Umlaut - Cafe Unicode (feat. Umlaut).mp3"; ')
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == "Ada Byte, Ümlaut - Café Ünïcode (feat. Ümlaut).mp3"
    assert all(c.isascii() for c in disposition)
    japanese = api.get(f"/track/{demo.track_ids[5]}/download").headers["content-disposition"]
    assert unquote(japanese.split("filename*=UTF-8''")[1]) == "Sine Wave Club - 夜のサイン波.mp3"
    assert 'filename="Sine Wave Club - _.mp3"' in japanese or 'filename="Sine Wave Club - .mp3"' in japanese
    assert MP3(io.BytesIO(response.content)).info.length > 5


def test_zip_has_the_content_of_download_playlist_zip(api, demo, library, loaded, tmp_path):
    response = api.get(f"/playlist/{demo.playlist_id}/download.zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert "content-length" not in response.headers  # streamed as it is built
    assert unquote(response.headers["content-disposition"].split("filename*=UTF-8''")[1]) == "tunecrate demo mix.zip"
    served = zipfile.ZipFile(io.BytesIO(response.content))
    written = zipfile.ZipFile(library.export_playlist_zip(demo.playlist_id, tmp_path / "cli.zip").path)
    assert served.namelist() == written.namelist()
    assert served.namelist()[0] in ("cover.jpg", "01 - The Loopbacks - Offline Forever.mp3")
    for name in served.namelist():
        assert served.read(name) == written.read(name), name
    assert served.testzip() is None
    assert api.get(f"/playlist/{fake_id('unknown')}/download.zip").status_code == 404


def test_m3u8_lists_stream_urls_of_downloaded_tracks(api, demo, library, loaded):
    Path(library.track_file(demo.track_ids[1])).unlink()
    response = api.get(f"/playlist/{demo.playlist_id}.m3u8")
    assert response.status_code == 200 and response.headers["content-type"].startswith("audio/x-mpegurl")
    lines = response.text.splitlines()
    assert lines[:2] == ["#EXTM3U", "#PLAYLIST:tunecrate demo mix"]
    urls = [line for line in lines if not line.startswith("#")]
    order = [t.track_id for t in library.playlist(demo.playlist_id).tracks if t.track_id != demo.track_ids[1]]
    assert urls == [f"http://127.0.0.1:8080/track/{t}/stream" for t in order]
    assert lines[2] == "#EXTINF:16,The Loopbacks - Offline Forever"
    assert api.get(urls[0].removeprefix("http://127.0.0.1:8080")).status_code == 200
    assert api.get(f"/playlist/{fake_id('unknown')}.m3u8").status_code == 404


def test_covers_come_from_the_library(api, demo, library, loaded):
    cover = api.get(f"/track/{demo.track_ids[0]}/cover")
    assert cover.status_code == 200 and cover.headers["content-type"] == "image/jpeg"
    assert cover.content.startswith(b"\xff\xd8\xff")
    playlist = api.get(f"/playlist/{demo.playlist_id}/cover")
    assert playlist.status_code == 200 and playlist.content.startswith(b"\xff\xd8\xff")
    kept = library.exporter.cover_of(demo.playlist_id)  # kept in the library when the playlist was loaded
    assert kept is not None and playlist.content == kept.read_bytes()
    assert api.get(f"/track/{fake_id('unknown')}/cover").status_code == 404


def test_review_queue_and_decisions(settings, demo, review_library, make_api):
    library = review_library()
    api = make_api(library)
    job = api.wait_job(api.post("/playlist/load", json={"url": demo.playlist_url}).json()["job_id"])
    assert job["status"] == "completed" and job["result"]["counts"]["review"] == 5
    queue = api.get("/review").json()
    assert [item["track_id"] for item in queue] == [item.track_id for item in library.review_queue()]
    assert [item["status"] for item in queue] == ["review"] * 5 + ["unresolved"]
    first = queue[0]
    assert first["candidates"][0]["components"] and {"score", "why", "index", "duration_delta_s", "chosen",
                                                      "rejected"} <= set(first["candidates"][0])
    accepted = api.post(f"/review/{first['track_id']}", json={"action": "accept"})
    assert accepted.status_code == 200
    assert accepted.json()["decision"] == "pinned" and accepted.json()["source"] == first["candidates"][0]["url"]
    second = queue[1]
    chosen = api.post(f"/review/{second['track_id']}", json={"action": "choose", "candidate": 1}).json()
    assert chosen["source"] == second["candidates"][1]["url"]
    assert api.post(f"/review/{queue[2]['track_id']}", json={"action": "choose", "candidate": 9}).status_code == 400
    assert api.post(f"/review/{queue[2]['track_id']}", json={"action": "choose"}).status_code == 400
    pin = demo.sources[queue[2]["track_id"]]
    pinned = api.post(f"/review/{queue[2]['track_id']}", json={"action": "pin", "url": pin}).json()
    assert (pinned["decision"], pinned["source"]) == ("pinned", pin)
    assert api.post(f"/review/{queue[3]['track_id']}", json={"action": "pin", "url": "ftp://x"}).status_code == 400
    skipped = api.post(f"/review/{queue[3]['track_id']}", json={"action": "skip"}).json()
    assert (skipped["decision"], skipped["status"]) == ("skipped", "skipped")
    assert api.post(f"/review/{queue[5]['track_id']}", json={"action": "accept"}).status_code == 404  # no candidates
    assert api.post(f"/review/{fake_id('unknown')}", json={"action": "skip"}).status_code == 200  # as `match skip`
    remaining = [item["track_id"] for item in api.get("/review").json()]
    assert remaining == [queue[4]["track_id"], queue[5]["track_id"]]
    # The same decisions as `tunecrate review`: the next sync downloads what was chosen.
    sync = api.wait_job(api.post("/playlist/sync", json={"url": demo.playlist_id}).json()["job_id"])
    assert sync["result"]["counts"]["downloaded"] == 3
    library.close()


def test_openapi_documents_the_routes(api):
    doc = api.get("/openapi.json").json()
    for path in ("/track/load", "/playlist/load", "/playlist/sync", "/likes/load", "/likes/sync", "/jobs",
                 "/jobs/{job_id}", "/tracks", "/track/{track_id}", "/playlists", "/playlist/{playlist_id}",
                 "/playlist/{playlist_id}/tracks", "/track/{track_id}/stream", "/track/{track_id}/download",
                 "/playlist/{playlist_id}/download.zip", "/playlist/{playlist_id}.m3u8", "/review",
                 "/review/{track_id}"):
        assert path in doc["paths"], path
    assert "202" in doc["paths"]["/playlist/load"]["post"]["responses"]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_load_everything_from_this_server(api, page):
    """A home server may have no internet: the docs' scripts and styles come from the package, not a CDN."""
    response = api.get(page)
    assert response.status_code == 200 and "/openapi.json" in response.text
    refs = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert any(ref.endswith(".js") for ref in refs), refs
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref  # nothing from another host
        asset = api.get(ref)
        assert asset.status_code == 200 and len(asset.content) > 100, ref
    assert "http://" not in response.text and "https://" not in response.text


def test_the_page_and_its_assets(api):
    page = api.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css"), ("icon.svg", "image/svg+xml")):
        response = api.get(f"/static/{name}")
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind), name
        assert f"/static/{name}" in page.text
    assert api.get("/static/nothing.js").status_code == 404


def test_listings_follow_every_change_of_the_catalogue(api, demo, library, cli, loaded):
    first = api.get("/playlists").json()
    assert api.get("/playlists").json() == first and len(api.get("/tracks").json()) == 6
    assert cli("delete-playlist", demo.playlist_id, "--yes").exit_code == 0  # another process writes
    assert api.get("/playlists").json() == [] and api.get("/tracks").json() == []
    assert api.get(f"/playlist/{demo.playlist_id}/tracks").status_code == 404
    assert api.get("/stats").json()["tracks"] == 0
