"""The one way tunecrate writes a file: complete or not at all.

Every file tunecrate writes, in the library or outside it (an export, a
mirror, the login token, a settings file), goes through :func:`atomic_write`
(journals, below, aside):

1. a fresh temporary file is created, with ``O_EXCL``, in the given folder
   (the library's ``tmp/``, or next to the destination);
2. the caller fills it;
3. it is flushed and fsynced, then ``os.replace``\\ d onto the destination
   (or hard-linked to it, when the destination must not be replaced);
4. the destination's folder is fsynced, so that the rename survives a crash.

On any failure the temporary file is removed and the destination is as it
was. A reader sees the old file or the new one, never part of one.

Modes: files are created ``0o666`` less the process umask, as any program's
files are, so that a media server running as another user can read the
music; secrets (the login token) pass ``mode=0o600`` and never exist with
wider permissions, not even as a temporary file.

One kind of file grows instead of being replaced: a journal, one record a
line (:func:`append_line`). A record is appended and fsynced in one write;
a crash can leave at most a partial last line, which readers skip and the
next append closes with a line break, so that it never merges with the
next record.

Errors: :class:`~tunecrate.core.errors.StorageError` for every ``OSError``
(disk full, permissions, a read-only folder), naming the path.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tunecrate.core.errors import StorageError

__all__ = ["DEFAULT_MODE", "SECRET_MODE", "TMP_PREFIX", "TMP_SUFFIX", "append_line", "atomic_write", "create_temp",
           "current_umask", "file_mode", "fsync_dir", "install", "read_lines", "write_bytes", "write_json"]

#: Mode asked for new files; the umask takes its bits away.
DEFAULT_MODE = 0o666
#: Mode of secrets (tokens): the owner only.
SECRET_MODE = 0o600
#: Temporary files are ``.tunecrate-tmp-<hex>.part``, so that leftovers are recognisable.
TMP_PREFIX = ".tunecrate-tmp-"
TMP_SUFFIX = ".part"


def current_umask() -> int:
    """The process umask. Read from ``/proc/self/status`` where Linux offers it (changing the umask
    to read it would race with other threads), else set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The permission bits a new file gets: :data:`DEFAULT_MODE` less the umask (``0o644`` under ``022``)."""
    return DEFAULT_MODE & ~current_umask()


def fsync_dir(path: Path) -> None:
    """fsync a directory so that a rename inside it is durable (a no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def create_temp(folder: Path, *, suffix: str = TMP_SUFFIX, mode: int = DEFAULT_MODE, create: bool = False,
                for_: Path | None = None) -> Path:
    """Create a fresh, empty, uniquely named file in ``folder`` (``O_EXCL``, ``mode`` less the umask).

    With ``create`` the folder is created if needed. Raises :class:`StorageError`
    naming ``for_`` (the file the temporary one will become), else the folder.
    """
    folder = Path(folder)
    try:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        while True:
            path = folder / f"{TMP_PREFIX}{secrets.token_hex(8)}{suffix}"
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
            except FileExistsError:
                continue
            os.close(fd)
            return path
    except OSError as exc:
        what = f"write {for_}" if for_ is not None else f"create a file in {folder}"
        raise StorageError(f"cannot {what}: {_reason(exc)}; check free space and permissions") from exc


def install(tmp: Path, dest: Path, *, replace: bool = True, sync_dir: bool = True) -> int:
    """Move the complete file ``tmp`` onto ``dest`` durably; return its size in bytes.

    ``tmp`` must be on the same filesystem as ``dest``. It is fsynced, then
    renamed (``replace``) or hard-linked (``replace=False``: raises
    ``FileExistsError`` if ``dest`` exists, leaving ``tmp`` in place so that
    the caller can try another name; where the filesystem has no hard links,
    a rename after a last existence check), then the folder is fsynced
    (unless ``sync_dir`` is False: a caller placing many files fsyncs the
    folder once, with :func:`fsync_dir`). Otherwise ``tmp`` is gone
    afterwards, whatever happened. Raises :class:`StorageError` for other
    failures.
    """
    tmp, dest = Path(tmp), Path(dest)
    try:
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        size = os.stat(tmp).st_size
        dest.parent.mkdir(parents=True, exist_ok=True)
        if replace:
            os.replace(tmp, dest)
        else:
            try:
                os.link(tmp, dest)
            except FileExistsError:
                raise
            except OSError:  # FAT, exFAT, some network shares: no hard links
                if os.path.lexists(dest):
                    raise FileExistsError(dest) from None
                os.replace(tmp, dest)
            else:
                os.unlink(tmp)
        if sync_dir:
            fsync_dir(dest.parent)
        return size
    except FileExistsError:
        raise
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise StorageError(f"cannot write {dest}: {_reason(exc)}; check free space and permissions") from exc


@contextmanager
def atomic_write(dest: Path, *, tmp_dir: Path | None = None, mode: int = DEFAULT_MODE,
                 sync_dir: bool = True) -> Iterator[Path]:
    """Yield a fresh temporary path; when the block ends without error it becomes ``dest``.

    The temporary file is created (empty, ``mode`` less the umask) in
    ``tmp_dir``, which must be on ``dest``'s filesystem, or next to ``dest``;
    the caller writes it (by path). See the module docstring for the rest.
    Raises :class:`StorageError`.
    """
    dest = Path(dest)
    tmp = create_temp(tmp_dir if tmp_dir is not None else dest.parent, mode=mode, create=tmp_dir is not None,
                      for_=dest)
    try:
        yield tmp
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    install(tmp, dest, sync_dir=sync_dir)


def write_bytes(dest: Path, data: bytes, *, tmp_dir: Path | None = None, mode: int = DEFAULT_MODE) -> None:
    """Write ``data`` to ``dest`` atomically. Raises :class:`StorageError`."""
    with atomic_write(dest, tmp_dir=tmp_dir, mode=mode) as tmp:
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise StorageError(f"cannot write {dest}: {_reason(exc)}; check free space and permissions") from exc


def write_json(dest: Path, obj: Any, *, tmp_dir: Path | None = None, mode: int = DEFAULT_MODE) -> None:
    """Write ``obj`` as UTF-8 JSON to ``dest`` atomically. Raises :class:`StorageError`."""
    write_bytes(dest, json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8"), tmp_dir=tmp_dir, mode=mode)


def append_line(path: Path, record: bytes, *, mode: int = DEFAULT_MODE) -> int:
    """Append ``record`` (one line, without its line break) to the journal ``path`` durably.

    The file is created (``mode`` less the umask, its folder fsynced) when
    missing; a partial last line left by a crash is closed first. Returns the
    journal's size in bytes afterwards. Raises ``ValueError`` for a record
    holding a line break, :class:`StorageError` for filesystem failures.
    """
    if b"\n" in record or b"\r" in record:
        raise ValueError("a journal record is one line")
    path = Path(path)
    try:
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
        try:
            size = os.fstat(fd).st_size
            torn = size > 0 and _last_byte(path, size) != b"\n"
            data = (b"\n" if torn else b"") + record + b"\n"
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if created:
            fsync_dir(path.parent)
        return size
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {_reason(exc)}; check free space and permissions") from exc


def _last_byte(path: Path, size: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(size - 1)
        return fh.read(1)


def read_lines(path: Path) -> list[bytes]:
    """The complete records of the journal ``path``, in order (``[]`` when it does not exist).

    A last line without its line break (a crash during an append) is not a
    record and is left out. Raises :class:`StorageError` when the file cannot be read.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {_reason(exc)}") from exc
    lines = data.split(b"\n")
    return [line for line in lines[:-1] if line]
