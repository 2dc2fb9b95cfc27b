"""Jobs: one worker, live events on the WebSocket, cancel, restarts, the schedule, the write lock."""

from __future__ import annotations

import json
import threading
import time

import pytest
from filelock import FileLock
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tunecrate.core.types import Candidate
from tunecrate.db.models import JobStatus
from tunecrate.library.library import Library


class GatedProvider:
    """Finds each demo track's own audio (an exact match), but only once ``gate`` is open."""

    name = "youtube"

    def __init__(self, demo) -> None:
        self.demo = demo
        self.gate = threading.Event()
        self.waiting = threading.Semaphore(0)

    def search(self, track):
        self.waiting.release()
        assert self.gate.wait(60), "the test never opened the gate"
        return [Candidate(self.demo.sources[track.track_id], track.title, track.artist, track.duration_ms, "youtube")]


@pytest.fixture
def gated(settings, demo):
    provider = GatedProvider(demo)
    with Library(settings, providers=[provider]) as library:
        yield library, provider
    provider.gate.set()


def _events(ws, job_id: int, until: str, timeout: float = 60) -> list[dict]:
    """Messages of ``job_id`` until one whose ``event_type`` is ``until``."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = json.loads(ws.recv(timeout=deadline - time.monotonic()))
        if event["job_id"] == job_id:
            seen.append(event)
            if event["event_type"] == until:
                return seen
    raise AssertionError(f"no {until} for job {job_id}: {[e['event_type'] for e in seen]}")


def _post(server, path: str, body: dict | None = None) -> int:
    import httpx

    response = httpx.post(server.base + path, json=body)
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def test_events_come_from_the_pipeline_as_it_goes(pinned, demo, make_live):
    server = make_live(pinned)
    with connect(server.ws_url("/ws/notifications")) as ws:
        job_id = _post(server, "/playlist/load", {"url": demo.playlist_url})
        events = _events(ws, job_id, "PLAYLIST_COMPLETED")
    kinds = [e["event_type"] for e in events]
    assert kinds[0] == "PLAYLIST_PROGRESS" and events[0]["status"] == "pending" and events[0]["payload"]["snapshot"]
    assert kinds.count("TRACK_DOWNLOAD_STARTED") == 6 and kinds.count("TRACK_DOWNLOAD_COMPLETED") == 6
    for event in events:
        assert {"event_type", "job_id", "job_type", "status", "progress", "message", "payload"} <= set(event)
        for key, value in event["payload"].items():  # synciflow's clients read plain values at the top level
            if not isinstance(value, (dict, list)):
                assert event[key] == value
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress) and progress[-1] == 1.0
    done = [e for e in events if e["event_type"] == "TRACK_DOWNLOAD_COMPLETED"]
    assert sorted(e["track_id"] for e in done) == sorted(demo.track_ids)
    assert {e["outcome"] for e in done} == {"downloaded"} and [e["current"] for e in done] == [1, 2, 3, 4, 5, 6]
    assert all(e["total"] == 6 for e in done)
    ticks = [e for e in events if e["event_type"] == "PLAYLIST_PROGRESS" and e["payload"].get("stage") == "done"]
    assert [round(e["progress"], 3) for e in ticks] == [round(i / 6, 3) for i in range(1, 7)]
    final = events[-1]
    assert final["status"] == "completed" and final["payload"]["result"]["counts"]["downloaded"] == 6
    assert "result" not in final  # objects stay in the payload
    assert final["job_type"] == "playlist_load"


def test_filter_by_job_and_late_clients_get_the_current_state(pinned, demo, make_live):
    server = make_live(pinned)
    with connect(server.ws_url("/ws/notifications")) as everything:
        first = _post(server, "/playlist/load", {"url": demo.playlist_url})
        _events(everything, first, "PLAYLIST_COMPLETED")
        with connect(server.ws_url(f"/ws/notifications?job_id={first}")) as late:
            snapshot = json.loads(late.recv(timeout=10))
            second = _post(server, "/playlist/sync", {"url": demo.playlist_id})
            _events(everything, second, "SYNC_COMPLETED")
            with pytest.raises(TimeoutError):
                late.recv(timeout=0.5)  # nothing of the second job reaches a client of the first
    assert snapshot["event_type"] == "PLAYLIST_COMPLETED" and snapshot["payload"]["snapshot"] is True
    import httpx

    assert snapshot["payload"]["job"] == httpx.get(f"{server.base}/jobs/{first}").json()
    assert sorted(t["track_id"] for t in snapshot["payload"]["tracks"]) == sorted(demo.track_ids)
    assert {t["stage"] for t in snapshot["payload"]["tracks"]} == {"done"}
    with connect(server.ws_url("/ws/notifications?job_id=424242")) as unknown:
        message = json.loads(unknown.recv(timeout=10))
        assert (message["event_type"], message["message"]) == ("ERROR", "no job 424242")
        with pytest.raises(ConnectionClosed) as closed:
            unknown.recv(timeout=10)
    assert closed.value.rcvd.code == 4404


def test_a_client_joining_a_running_job_sees_its_tracks_so_far(gated, demo, make_live):
    library, provider = gated
    server = make_live(library)
    job_id = _post(server, "/playlist/load", {"url": demo.playlist_url})
    threads = 2 * library.settings.workers  # the pipeline's threads, each now searching
    for _ in range(threads):
        assert provider.waiting.acquire(timeout=30)
    with connect(server.ws_url(f"/ws/notifications?job_id={job_id}")) as ws:
        snapshot = json.loads(ws.recv(timeout=10))
        assert snapshot["event_type"] == "PLAYLIST_PROGRESS" and snapshot["status"] == "running"
        stages = sorted(t["stage"] for t in snapshot["payload"]["tracks"])
        assert stages == ["queued"] * (6 - threads) + ["resolving"] * threads
        provider.gate.set()
        events = _events(ws, job_id, "PLAYLIST_COMPLETED")
    assert events[-1]["progress"] == 1.0 and events[-1]["status"] == "completed"


def test_cancel_pending_running_and_finished_jobs(gated, demo, make_api):
    library, provider = gated
    api = make_api(library)
    running = api.post("/playlist/load", json={"url": demo.playlist_url}).json()["job_id"]
    pending = api.post("/track/load", json={"url": demo.track_ids[0]}).json()["job_id"]
    assert provider.waiting.acquire(timeout=30)
    assert api.get(f"/jobs/{pending}").json()["status"] == "pending"  # one worker: it waits its turn
    cancelled = api.delete(f"/jobs/{pending}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    stopping = api.delete(f"/jobs/{running}")
    assert stopping.status_code == 202 and stopping.json()["status"] == "running"
    provider.gate.set()
    job = api.wait_job(running)
    assert job["status"] == "cancelled" and job["result"]["cancelled"] is True
    in_flight = 2 * library.settings.workers
    assert job["result"]["counts"]["downloaded"] == in_flight  # those in flight finished, no other started
    assert api.delete(f"/jobs/{running}").status_code == 409
    assert api.delete(f"/jobs/{pending}").status_code == 409
    assert api.delete("/jobs/999").status_code == 404
    time.sleep(0.2)
    assert api.get(f"/jobs/{pending}").json()["started_at"] is None  # never ran
    assert api.get("/tracks", params={"status": "downloaded"}).headers["x-total-count"] == str(in_flight)


def test_jobs_run_one_at_a_time_and_reads_never_wait(gated, demo, make_api):
    library, provider = gated
    api = make_api(library)
    first = api.post("/playlist/load", json={"url": demo.playlist_url}).json()["job_id"]
    second = api.post("/playlist/sync", json={"url": demo.playlist_id}).json()["job_id"]
    assert provider.waiting.acquire(timeout=30)
    started = time.monotonic()
    for path in ("/tracks", "/playlists", "/jobs", f"/jobs/{first}", "/review", "/stats"):
        assert api.get(path).status_code == 200, path
    assert time.monotonic() - started < 5  # the job holds the write lock; reads take none
    assert api.get(f"/jobs/{first}").json()["status"] == "running"
    assert api.get(f"/jobs/{second}").json()["status"] == "pending"
    provider.gate.set()
    one, two = api.wait_job(first), api.wait_job(second)
    assert one["status"] == two["status"] == "completed"
    assert two["started_at"] >= one["finished_at"]
    assert two["result"]["up_to_date"] is True


def test_another_process_writing_fails_the_job_in_one_line(pinned, demo, settings, make_api):
    api = make_api(pinned)
    with FileLock(str(settings.data_root / "tunecrate.lock")):
        job = api.wait_job(api.post("/playlist/load", json={"url": demo.playlist_url}).json()["job_id"])
        decision = api.post(f"/review/{demo.track_ids[0]}", json={"action": "skip"})
    assert job["status"] == "failed" and "another tunecrate process is changing the library" in job["message"]
    assert decision.status_code == 409
    assert api.get("/tracks").json() == []


def test_jobs_left_by_a_dead_server_are_interrupted_and_not_resumed(pinned, demo, make_api, world):
    crashed = pinned.jobs.start("playlist_load", demo.playlist_url)  # running: its process died
    queued = pinned.jobs.create("playlist_sync", demo.playlist_id).job_id  # pending in a dead server
    requests_before = len(world.spotify.requests)
    api = make_api(pinned)
    for job_id in (crashed, queued):
        job = api.get(f"/jobs/{job_id}").json()
        assert (job["status"], job["message"]) == ("failed", "interrupted"), job
    time.sleep(0.3)
    assert len(world.spotify.requests) == requests_before  # nothing resumed on its own
    assert api.get("/tracks").json() == []


def test_stopping_the_server_interrupts_the_running_job(gated, demo, make_api):
    library, provider = gated
    api = make_api(library)
    running = api.post("/playlist/load", json={"url": demo.playlist_url}).json()["job_id"]
    pending = api.post("/playlist/sync", json={"url": demo.playlist_id}).json()["job_id"]
    assert provider.waiting.acquire(timeout=30)
    threading.Timer(0.3, provider.gate.set).start()
    api.close()
    for job_id in (running, pending):
        job = library.jobs.get(job_id)
        assert (job.status, job.message) == (JobStatus.FAILED, "interrupted")


def test_sync_every_schedules_syncs_of_every_playlist(pinned, demo, make_api):
    api = make_api(pinned, sync_every=1)
    loaded = api.wait_job(api.post("/playlist/load", json={"url": demo.playlist_url}).json()["job_id"])
    assert loaded["status"] == "completed"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        scheduled = [j for j in api.get("/jobs").json() if j["job_type"] == "sync_all"]
        if scheduled and scheduled[-1]["status"] in JobStatus.FINISHED:
            break
        time.sleep(0.1)
    job = scheduled[-1]
    assert job["status"] == "completed" and job["target"] == "all"
    assert [(r["id"], r["up_to_date"]) for r in job["result"]] == [(demo.playlist_id, True)]
    assert api.get("/server").json()["sync_every_s"] == 1


def test_a_failing_job_reports_error_and_keeps_serving(library, demo, make_live):
    server = make_live(library)
    with connect(server.ws_url("/ws/notifications")) as ws:
        job_id = _post(server, "/playlist/load", {"url": "https://open.spotify.com/playlist/" + "0" * 22})
        events = _events(ws, job_id, "ERROR")
    assert events[-1]["status"] == "failed" and events[-1]["message"] == f"Spotify has no playlist {'0' * 22}"
    import httpx

    assert httpx.get(server.base + "/tracks").status_code == 200
