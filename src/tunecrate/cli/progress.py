"""Rich progress display for loads and syncs: one overall bar and a line per track in flight."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from tunecrate.library.pipeline import TrackEvent

_STAGES = {"resolving": "searching", "fetching": "downloading", "encoding": "encoding"}


class LoadProgress:
    """Feeds pipeline :class:`TrackEvent`s into a rich progress display on ``console``.

    Use as a context manager and pass :meth:`on_event` as the progress callback.
    The overall total grows as tracks are first seen.
    """

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=True, disable=not console.is_terminal,
        )
        self._lock = threading.Lock()
        self._overall: TaskID | None = None
        self._per_track: dict[str, TaskID] = {}
        self._seen: set[str] = set()

    def __enter__(self) -> "LoadProgress":
        self._progress.start()
        self._overall = self._progress.add_task("tracks", total=0)
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def set_total(self, total: int) -> None:
        with self._lock:
            self._progress.update(self._overall, total=total)

    def on_event(self, event: TrackEvent) -> None:
        track_id = event.track.track_id
        label = f"  {event.track.artist} - {event.track.title}"[:60]
        with self._lock:
            if track_id not in self._seen:
                self._seen.add(track_id)
                total = self._progress.tasks[self._overall].total or 0
                if len(self._seen) > total:
                    self._progress.update(self._overall, total=len(self._seen))
            if event.stage == "queued":
                return
            if event.stage == "done":
                task = self._per_track.pop(track_id, None)
                if task is not None:
                    self._progress.remove_task(task)
                self._progress.advance(self._overall)
                return
            description = f"{escape(label)} \\[{_STAGES.get(event.stage, event.stage)}]"
            task = self._per_track.get(track_id)
            if task is None:
                self._per_track[track_id] = self._progress.add_task(description, total=None)
            else:
                self._progress.update(task, description=description)
