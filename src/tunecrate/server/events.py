"""Live events for ``WS /ws/notifications``: what the jobs' pipelines report, fanned out to clients.

Every message is one JSON object (synciflow's wire format, so that its
clients work)::

    {"event_type": "PLAYLIST_PROGRESS", "job_id": 7, "job_type": "playlist_load",
     "status": "running", "progress": 0.5, "message": "3/6 Artist - Title: downloaded",
     "payload": {"track_id": "…", "title": "…", "artist": "…", "stage": "done", …},
     "track_id": "…", "title": "…", …}

``progress`` is the job's, from 0 to 1. The payload's plain values (not its
lists and objects) are repeated at the top level, where synciflow's clients
read them. Event types:

==========================  ==============================================================
``TRACK_DOWNLOAD_STARTED``  a track's recording is being fetched (payload: the track)
``TRACK_DOWNLOAD_COMPLETED``  a track reached its final status (payload: ``outcome``, ``reason``)
``PLAYLIST_PROGRESS``       a load moved on: a track was queued, changed stage or finished
                            (payload: the track, ``stage``, ``current``/``total`` tracks)
``PLAYLIST_COMPLETED``      a load ended (payload: ``result``, the report)
``SYNC_PROGRESS``, ``SYNC_COMPLETED``  the same for syncs
``ERROR``                   a job failed as a whole (``message`` says why)
==========================  ==============================================================

A client that connects first receives the current state of the job it asks
for (``?job_id=``), or of every unfinished job, as one message with
``payload.snapshot`` true, ``payload.job`` (the ``GET /jobs/{id}`` object)
and ``payload.tracks`` (each track's latest stage). Events are pushed from
the pipeline's own progress callbacks (:class:`~tunecrate.library.pipeline.TrackEvent`),
never polled.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ERROR", "PLAYLIST_COMPLETED", "PLAYLIST_PROGRESS", "SYNC_COMPLETED", "SYNC_PROGRESS",
    "TRACK_DOWNLOAD_COMPLETED", "TRACK_DOWNLOAD_STARTED", "Event", "EventBus", "Subscription",
]

TRACK_DOWNLOAD_STARTED = "TRACK_DOWNLOAD_STARTED"
TRACK_DOWNLOAD_COMPLETED = "TRACK_DOWNLOAD_COMPLETED"
PLAYLIST_PROGRESS = "PLAYLIST_PROGRESS"
PLAYLIST_COMPLETED = "PLAYLIST_COMPLETED"
SYNC_PROGRESS = "SYNC_PROGRESS"
SYNC_COMPLETED = "SYNC_COMPLETED"
ERROR = "ERROR"

#: Messages a slow client may fall behind by before it is disconnected.
QUEUE_LIMIT = 2000


@dataclass(frozen=True)
class Event:
    """One message of the notification stream (see the module docstring)."""

    event_type: str
    job_id: int
    job_type: str
    status: str
    progress: float
    message: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc = {"event_type": self.event_type, "job_id": self.job_id, "job_type": self.job_type,
               "status": self.status, "progress": round(self.progress, 4), "message": self.message,
               "payload": self.payload}
        for key, value in self.payload.items():
            if value is None or isinstance(value, (str, int, float)):
                doc.setdefault(key, value)
        return doc


class Subscription:
    """One client's queue of encoded messages; ``job_id`` keeps one job's only. ``lagging`` is set
    when the client fell too far behind: its connection is to be closed."""

    def __init__(self, job_id: int | None) -> None:
        self.job_id = job_id
        self.queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_LIMIT)
        self.lagging = False

    def offer(self, event: Event, text: str) -> bool:
        """Queue ``text`` if the client wants ``event``; False when the client fell too far behind."""
        if self.job_id is not None and event.job_id != self.job_id:
            return True
        try:
            self.queue.put_nowait(text)
            return True
        except asyncio.QueueFull:
            return False


class EventBus:
    """Carries events from worker threads to the clients' queues on the event loop.

    :meth:`publish` may be called from any thread; delivery happens on the
    loop given to :meth:`bind`. A client that falls :data:`QUEUE_LIMIT`
    messages behind is marked ``lagging`` and dropped (its connection is then
    closed) rather than slowing the jobs down.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscriptions: set[Subscription] = set()
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Deliver on ``loop`` from now on (``None``: drop events, the server is stopping)."""
        self._loop = loop

    def subscribe(self, job_id: int | None = None) -> Subscription:
        """A new subscription (call on the event loop)."""
        subscription = Subscription(job_id)
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    def publish(self, event: Event) -> None:
        """Send ``event`` to every interested client (thread-safe, never blocks)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._deliver, event)
        except RuntimeError:  # the loop closed meanwhile
            pass

    def _deliver(self, event: Event) -> None:
        text = json.dumps(event.to_json(), ensure_ascii=False)
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            if not subscription.offer(event, text):
                subscription.lagging = True
                self.unsubscribe(subscription)
