"""Pushes and transfers: a library playlist into a media server, and songs between two services.

:class:`Transfers`, a component of :class:`~tunecrate.library.library.Library`, runs both over the
targets of :mod:`tunecrate.core.service`:

- :meth:`Transfers.push` makes a playlist on Plex or a Subsonic server equal to a library playlist
  (optionally after mirroring its files into a folder Plex watches, and a scan);
- :meth:`Transfers.plan_transfer` reads the FROM side through its source, compares it with the TO
  side's playlist (step 1: only on FROM, only on TO, on both) and finds candidates on TO for each
  song only on FROM (step 2); the caller may settle each song (:meth:`PlaylistPlan.choose`,
  :meth:`~PlaylistPlan.skip`); :meth:`Transfers.apply_transfer` then writes the confirmed songs in
  FROM's order (step 3) and remembers every decision per (target, song).

A *side* (:func:`parse_side`) is ``local:<library playlist id>`` or ``<target>:<playlist>`` for every
target whose class declares the ``transfer`` capability (:func:`~tunecrate.targets.targets_with`):
today ``spotify:<playlist URL, URI or id>`` (a bare Spotify URL or URI works too),
``plex:<playlist title>``, ``subsonic:<playlist name>`` and ``m3u:<path>``. ``push --to`` takes the
targets declaring ``push``, and ``--mirror`` those declaring ``scan``. The library's playlists follow
their Spotify playlists, so ``local:`` can only be read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecrate.core.errors import ConfigurationError, InvalidReference, StorageError, TunecrateError
from tunecrate.core.ids import Reference, parse_reference, stored_playlist_id
from tunecrate.storage.atomic import atomic_write
from tunecrate.targets import has_capability, target_class, targets_with
from tunecrate.core.service import PlaylistPlan, ProgressFn, PushReport, missing_report

if TYPE_CHECKING:
    from tunecrate.core.settings import Settings
    from tunecrate.core.types import TrackList
    from tunecrate.library.exporter import Exporter
    from tunecrate.library.services import ServiceStore
    from tunecrate.library.sync import SyncEngine
    from tunecrate.targets.mirror import MirrorResult

__all__ = ["LOCAL", "PushResult", "Side", "TransferPlan", "Transfers", "parse_side", "review_targets"]

#: The side naming a playlist of the library itself (read only).
LOCAL = "local"


def review_targets() -> list[str]:
    """The targets whose matches ``review --target`` decides: those a push or a transfer writes to."""
    return targets_with("push", "transfer")


def _spelled(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)


@dataclass(frozen=True)
class Side:
    """One side of a transfer: ``service`` (:data:`LOCAL` or a target with the ``transfer`` capability)
    and ``ref`` (what names the playlist there: a Spotify reference, a library playlist id, a title, a
    path)."""

    service: str
    ref: str

    def __str__(self) -> str:
        return f"{self.service}:{self.ref}"

    def reference(self) -> Reference:
        """The :class:`Reference` the source registry reads this side by."""
        if self.service == "spotify":
            return parse_reference(self.ref, "playlist")
        text = str(Path(self.ref).expanduser().absolute()) if self.service == "m3u" else self.ref
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
        return Reference("playlist", f"{self.service}-{digest}", self.service, text)


def parse_side(text: str) -> Side:
    """Parse a transfer side (see the module docstring). Raises :class:`InvalidReference`."""
    raw = (text or "").strip()
    try:
        parse_reference(raw, "playlist")
    except TunecrateError:
        pass
    else:
        return Side("spotify", raw)
    service, sep, ref = raw.partition(":")
    if not sep or not ref.strip() or not (service == LOCAL or has_capability(service, "transfer")):
        sides = [f"{LOCAL}:<id>", *(f"{name}:<playlist>" for name in targets_with("transfer"))]
        raise InvalidReference(f"not a playlist side: {raw!r}; use {_spelled(sides)}")
    return Side(service, ref.strip())


@dataclass
class PushResult:
    """What ``tunecrate push`` did, or would do with ``dry_run``.

    ``mirror`` is the mirror's result (its plan when dry-running) when the files were mirrored into a
    folder first; ``plan`` the playlist plan; ``report`` what was written (``None`` when dry-running);
    ``report_file`` the missing-tracks report written, if one was asked for.
    """

    target: str
    dry_run: bool
    plan: PlaylistPlan
    report: PushReport | None = None
    mirror: MirrorResult | None = None
    report_file: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "dry_run": self.dry_run,
                "mirror": self.mirror.to_json() if self.mirror is not None else None,
                "plan": self.plan.to_json(), "report": self.report.to_json() if self.report else None,
                "report_file": str(self.report_file) if self.report_file else None, "warnings": list(self.warnings)}


@dataclass
class TransferPlan:
    """Steps 1 and 2 of a transfer: ``source`` and ``dest`` sides, the FROM list, and the plan on TO.

    ``on_both`` are the FROM entries the TO playlist already has; ``only_on_from`` the others (each with
    its candidates on TO and the matcher's choice); ``only_on_to`` the TO playlist's tracks no FROM
    entry matched. ``target`` is the TO service's target, which :meth:`Transfers.apply_transfer` uses.
    """

    source: Side
    dest: Side
    tracks: TrackList
    plan: PlaylistPlan
    target: Any = field(repr=False)

    @property
    def on_both(self):
        return [e for e in self.plan.entries if e.present]

    @property
    def only_on_from(self):
        return [e for e in self.plan.entries if not e.present]

    @property
    def only_on_to(self):
        return list(self.plan.only_on_target)

    def unsettled(self):
        """The entries only on FROM that a user should settle: matched by the scorer, held for review,
        or missing with candidates (not those matched by path, remembered, skipped or duplicates)."""
        return [e for e in self.only_on_from
                if (e.status == "matched" and e.how in ("isrc", "score"))
                or (e.status in ("review", "missing") and e.candidates)]

    def to_json(self) -> dict[str, Any]:
        plan = self.plan.to_json()
        return {"from": str(self.source), "to": str(self.dest), "source_title": self.tracks.title,
                "on_both": len(self.on_both),
                "only_on_from": [e.to_json() for e in self.only_on_from],
                "only_on_to": [t.to_json() for t in self.only_on_to],
                "operations": plan["operations"], "writes": plan["writes"], "counts": plan["counts"],
                "warnings": plan["warnings"]}


class Transfers:
    """Pushes and transfers of one library (see the module docstring)."""

    def __init__(self, settings: Settings, exporter: Exporter, store: ServiceStore, sync_engine: SyncEngine,
                 writing: Callable[[], AbstractContextManager]) -> None:
        self.settings = settings
        self.exporter = exporter
        self.store = store
        self.sync_engine = sync_engine
        self._writing = writing

    # -- push ------------------------------------------------------------------------------

    def push(self, playlist_id: str, target: str, *, name: str | None = None, dry_run: bool = False,
             mirror: Path | None = None, report_file: Path | None = None,
             progress: ProgressFn | None = None) -> PushResult:
        """Make the playlist ``name`` (default: the playlist's title) on ``target`` (a target with the
        ``push`` capability) equal to the library playlist ``playlist_id``.

        With ``mirror`` (a target with the ``scan`` capability: Plex) the playlist's files are first mirrored into that folder (the
        ``mirror`` target), Plex is asked to scan it, and the playlist is built from those files. With
        ``dry_run`` nothing is written anywhere (the Plex index cache is refreshed) and the result
        holds the plans. ``report_file`` receives the missing-tracks report (see
        :func:`~tunecrate.core.service.missing_report`: the missing tracks, then those held for
        review), also when nothing is missing; its folder must
        exist (checked before anything is written). Raises :class:`NotFound`, :class:`ConfigurationError`,
        :class:`StorageError` and the service's errors.
        """
        if not has_capability(target, "push"):
            raise ConfigurationError(f"cannot push to {target!r}; push takes --to {_spelled(targets_with('push'))}")
        if mirror is not None and not has_capability(target, "scan"):
            raise ConfigurationError("--mirror needs a target that scans the mirrored folder: "
                                     f"--to {_spelled(targets_with('scan'))}")
        if report_file is not None and not dry_run:
            folder = Path(os.fspath(report_file)).expanduser().absolute().parent
            if not folder.is_dir():
                raise StorageError(f"cannot write the report into {folder}: no such folder (nothing was pushed)")
        tracks = self.exporter.tracklist(playlist_id)
        mirrored = None
        files: dict[str, Path] = {}
        with self._writing():
            if mirror is not None:
                mirrored = self.exporter.mirror([playlist_id], mirror, dry_run=dry_run)
                folder = Path(mirrored.dest)
                files = {item.key: folder / item.name for item in (*mirrored.copy, *mirrored.update, *mirrored.keep)
                         if item.kind == "track"}
            service = target_class(target).from_settings(self.settings, name=name, mode="mirror",
                                                         mirror_files=files, progress=progress)
            try:
                warnings = []
                if mirror is not None and not dry_run:
                    warnings = service.scan(Path(mirrored.dest), self.store)
                plan = service.plan([tracks], self.store)
                plan.warnings[:0] = warnings
                if dry_run:
                    result = PushResult(target, True, plan, mirror=mirrored)
                else:
                    report = service.apply(plan)
                    self.store.remember(target, plan.decisions)
                    result = PushResult(target, False, plan, report, mirror=mirrored)
            finally:
                service.close()
        if report_file is not None and not dry_run:
            result.report_file = write_report(report_file, plan)
            if result.report is not None:
                result.report.report_file = result.report_file
        return result

    # -- transfer ----------------------------------------------------------------------------

    def read(self, side: Side) -> TrackList:
        """The list a side names, read through its source (a library playlist from the catalogue)."""
        if side.service == LOCAL:
            return self.exporter.tracklist(stored_playlist_id(side.ref))
        return self.sync_engine.read(side.reference())

    def plan_transfer(self, source: str | Side, dest: str | Side, *, progress: ProgressFn | None = None
                      ) -> TransferPlan:
        """Steps 1 and 2: read FROM, match it against TO's playlist and TO's catalogue. Writes nothing
        (a Plex index cache is refreshed). Raises :class:`InvalidReference` for a bad side and the
        services' errors."""
        from_side = source if isinstance(source, Side) else parse_side(source)
        to_side = dest if isinstance(dest, Side) else parse_side(dest)
        if to_side.service == LOCAL:
            raise ConfigurationError(f"cannot transfer into {to_side}: library playlists follow their Spotify "
                                     "playlist; transfer into spotify:<playlist> and run `tunecrate sync`")
        tracks = self.read(from_side)
        name = to_side.ref if to_side.service != "m3u" else str(Path(to_side.ref).expanduser().absolute())
        target = target_class(to_side.service).from_settings(self.settings, name=name, mode="merge",
                                                             progress=progress)
        try:
            with self._writing():
                plan = target.plan([tracks], self.store)
        except BaseException:
            target.close()
            raise
        return TransferPlan(from_side, to_side, tracks, plan, target)

    def apply_transfer(self, transfer: TransferPlan, *, progress: ProgressFn | None = None) -> PushReport:
        """Step 3: add the songs matched or chosen to the TO playlist (read again first), in FROM's
        order; remember every decision per (target, song). Songs still held for review wait in
        ``tunecrate review --target``."""
        try:
            with self._writing():
                report = transfer.plan.apply(progress, fresh=True)
                self.store.remember(transfer.plan.target, transfer.plan.decisions)
        finally:
            transfer.target.close()
        return report

    def close_transfer(self, transfer: TransferPlan) -> None:
        """Release a planned transfer that will not be applied (a dry run); its decisions are not kept."""
        transfer.target.close()


def write_report(path: Path, plan: PlaylistPlan) -> Path:
    """Write the missing-tracks report of ``plan`` (with its songs held for review) to ``path``
    atomically; return the absolute path."""
    target = Path(os.fspath(path)).expanduser().absolute()
    with atomic_write(target) as tmp:
        tmp.write_text(missing_report(plan.missing, plan.review, plan.target), encoding="utf-8")
    return target

