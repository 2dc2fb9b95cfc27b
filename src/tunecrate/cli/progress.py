"""Rich progress display for loads and syncs: one overall bar and a line per track in flight."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

if TYPE_CHECKING:
    from tunecrate.library.pipeline import TrackEvent

_STAGES = {"resolving": "searching", "fetching": "downloading", "encoding": "encoding"}


class _Counts(ProgressColumn):
    """``done/total`` on the overall line; on a track's line, its place among the tracks: ``3/6``."""

    def __init__(self, owner: "LoadProgress") -> None:
        super().__init__()
        self._owner = owner

    def render(self, task: Task) -> Text:
        number = task.fields.get("number")
        if number is None:
            return Text(f"{int(task.completed)}/{int(task.total or 0)}", style="progress.download")
        return Text(f"{number}/{self._owner.total}", style="progress.download")


class LoadProgress:
    """Feeds pipeline :class:`TrackEvent`s into a rich progress display on ``console``.

    Use as a context manager and pass :meth:`on_event` as the progress callback.
    The overall total grows as tracks are first seen (the pipeline announces
    every track as ``queued`` before work starts); each track in flight gets
    a line with its stage and its place among them.
    """

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), _Counts(self), TimeElapsedColumn(),
            console=console, transient=True, disable=not console.is_terminal,
        )
        self._lock = threading.Lock()
        self._overall: TaskID | None = None
        self._per_track: dict[str, TaskID] = {}
        self._seen: dict[str, int] = {}

    def __enter__(self) -> "LoadProgress":
        self._progress.start()
        self._overall = self._progress.add_task("tracks", total=0)
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    @property
    def total(self) -> int:
        """How many tracks this load or sync handles, as known so far."""
        return int(self._progress.tasks[self._overall].total or 0) if self._overall is not None else 0

    def on_event(self, event: TrackEvent) -> None:
        track_id = event.track.track_id
        label = f"  {event.track.artist} - {event.track.title}"[:60]
        with self._lock:
            if track_id not in self._seen:
                self._seen[track_id] = len(self._seen) + 1
                if len(self._seen) > self.total:
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
                self._per_track[track_id] = self._progress.add_task(description, total=None,
                                                                    number=self._seen[track_id])
            else:
                self._progress.update(task, description=description)
