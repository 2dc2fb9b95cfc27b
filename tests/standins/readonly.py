"""A folder made read-only for a test, the way a user meets it (a read-only mount, a folder they cannot write).

As a normal user, ``chmod 0555`` is enough. Root ignores modes, so as root the folder is bind-mounted
read-only over itself; where mounting is not allowed either, the file operations tunecrate uses are made
to fail with ``EROFS`` for paths inside the folder.
"""

from __future__ import annotations

import errno
import os
import pathlib
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _inside(path, folder: Path) -> bool:
    try:
        Path(os.fsdecode(path)).absolute().relative_to(folder)
    except (TypeError, ValueError):
        return False
    return True


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextmanager
def read_only(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make ``folder`` (and everything under it) refuse writes while the block runs."""
    folder = Path(folder).absolute()
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")] if p.is_dir()}
        for path in modes:
            path.chmod(0o555)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    if _mount("--bind", str(folder), str(folder)):
        if _mount("-o", "remount,bind,ro", str(folder), str(folder)):
            try:
                yield
            finally:
                _mount("-o", "remount,bind,rw", str(folder), str(folder))
                subprocess.run(["umount", str(folder)], check=True)
            return
        subprocess.run(["umount", str(folder)], check=True)

    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))

    def guard(original, *paths_at):
        def wrapper(*args, **kwargs):
            for i in paths_at:
                if i < len(args) and _inside(args[i], folder):
                    refuse(args[i])
            return original(*args, **kwargs)
        return wrapper

    real_open = os.open

    def guarded_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and _inside(path, folder):
            refuse(path)
        return real_open(path, flags, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(os, "open", guarded_open)
        for name in ("unlink", "remove", "rmdir", "mkdir"):
            patch.setattr(os, name, guard(getattr(os, name), 0))
        for name in ("replace", "rename", "link"):
            patch.setattr(os, name, guard(getattr(os, name), 0, 1))
        patch.setattr(pathlib.Path, "unlink", guard(pathlib.Path.unlink, 0))
        patch.setattr(pathlib.Path, "mkdir", guard(pathlib.Path.mkdir, 0))
        yield
