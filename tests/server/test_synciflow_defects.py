"""synciflow's server, whose routes this one keeps, had these defects (reproduced); none of them is here."""

from __future__ import annotations

import http.client
from pathlib import Path

from tunecrate.sources.spotify_login import PrivateTokenCache


def _files(roots) -> list[str]:
    return sorted(p.stem for p in (roots["storage_root"] / "tracks").glob("*/*.mp3"))


def test_job_routes_answer_202_with_an_object_not_a_200_with_a_list(api, demo):
    """synciflow returned ``({"job_id": …}, 202)`` from FastAPI routes: HTTP 200 with ``[{"job_id": …}, 202]``."""
    for route, body in (("/track/load", {"url": demo.track_ids[0]}), ("/playlist/load", {"url": demo.playlist_url}),
                        ("/playlist/sync", {"url": demo.playlist_id}), ("/likes/load", None), ("/likes/sync", None)):
        response = api.post(route, json=body)
        assert response.status_code == 202, route
        payload = response.json()
        assert isinstance(payload, dict) and list(payload) == ["job_id"], route
        assert api.get(response.headers["location"]).json()["job_id"] == payload["job_id"]


def test_no_catch_all_route_serves_files_outside_the_assets(pinned, make_live):
    """synciflow's ``/{full_path:path}`` served ``GET /..%2F..%2Fetc%2Fhostname`` (the request line as sent)."""
    server = make_live(pinned)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("GET", "/..%2F..%2Fetc%2Fhostname", skip_host=True)
    conn.putheader("Host", f"127.0.0.1:{server.port}")
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert response.status == 404
    hostname = Path("/etc/hostname")
    if hostname.is_file() and hostname.read_bytes().strip():
        assert hostname.read_bytes().strip() not in body


def test_jobs_can_be_cancelled_do_not_stay_running_after_a_restart_and_cors_is_closed(pinned, demo, make_api):
    """synciflow had no cancel, left jobs "running" forever after a restart, and answered CORS ``*`` with
    credentials."""
    api = make_api(pinned)
    job = api.post("/playlist/load", json={"url": demo.playlist_url}).json()["job_id"]
    assert api.delete(f"/jobs/{job}").status_code in (200, 202)
    assert api.wait_job(job)["status"] == "cancelled"
    stale = pinned.jobs.start("playlist_sync", demo.playlist_id)  # a process that died mid-job
    restarted = make_api(pinned)
    assert restarted.get(f"/jobs/{stale}").json()["status"] == "failed"
    response = restarted.get("/tracks", headers={"Origin": "https://anywhere.example"})
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers
    configured = make_api(pinned, cors_origins=("https://player.example",))
    allowed = configured.request("OPTIONS", "/tracks", headers={"Origin": "https://player.example",
                                                                 "Access-Control-Request-Method": "GET"})
    assert allowed.headers["access-control-allow-origin"] == "https://player.example" != "*"
    assert "access-control-allow-credentials" not in allowed.headers


def test_a_liked_songs_sync_that_cannot_read_them_deletes_nothing(pinned, demo, world, roots, make_api):
    """synciflow's Liked Songs sync read an empty list (no user login) and deleted every liked track's file."""
    tracks = [world.spotify._tracks[t] for t in demo.track_ids]
    world.spotify.set_saved_tracks(tracks[:3])
    token = roots["data_root"] / "spotify-token.json"
    PrivateTokenCache(token).save_token_to_cache(world.spotify.issue_user_token())
    api = make_api(pinned)
    loaded = api.wait_job(api.post("/likes/load").json()["job_id"])
    assert loaded["status"] == "completed" and loaded["result"]["counts"]["downloaded"] == 3
    before = _files(roots)
    assert len(before) == 3
    entries = [e["track"]["track_id"] for e in api.get("/playlist/likes/tracks").json()]

    world.spotify.set_saved_tracks(tracks[:4])  # so that the snapshot changes and a full read is needed
    world.spotify.fail_next(r"^/v1/me/tracks", 503, times=50)
    outage = api.wait_job(api.post("/likes/sync").json()["job_id"])
    assert outage["status"] == "failed" and outage["result"] is None
    assert _files(roots) == before
    assert [e["track"]["track_id"] for e in api.get("/playlist/likes/tracks").json()] == entries

    token.unlink()  # the login is gone: Liked Songs cannot be read at all
    world.spotify.set_saved_tracks([])
    signed_out = api.wait_job(api.post("/likes/sync").json()["job_id"])
    assert signed_out["status"] == "failed" and "tunecrate login" in signed_out["message"]
    assert _files(roots) == before
    assert [e["track"]["track_id"] for e in api.get("/playlist/likes/tracks").json()] == entries
