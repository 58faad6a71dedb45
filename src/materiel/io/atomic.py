"""Atomic file writes: a temporary file in the target's folder, fsync, then ``os.replace``.

A crash at any moment leaves the target either absent or a complete earlier version, never a
half-written file. Temporary files are named ``.<target name>.<pid>-<random>.tmp<suffix>``;
one whose process is gone (a crash) is removed the next time that target is written.

    with atomic_path(Path("out/result.nc")) as tmp:
        dataset.to_netcdf(tmp)          # any writer that takes a path
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_MARK = ".tmp"


def temp_path(target: Path) -> Path:
    """A fresh temporary path beside ``target`` (same folder, so the rename is atomic)."""
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    return target.with_name(f".{target.name}.{token}{TMP_MARK}{target.suffix}")


def _owner_alive(tmp: Path) -> bool:
    """Whether the process that created ``tmp`` (pid in its name) still runs on this host."""
    try:
        pid = int(tmp.name.rsplit(TMP_MARK, 1)[0].rsplit(".", 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale(folder: Path, name: str = "*") -> list[Path]:
    """Delete temporary files left in ``folder`` by crashed writes (of target ``name``, or of
    any target). Files of writers still running are kept. Returns the paths removed."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for tmp in folder.glob(f".{name}.*{TMP_MARK}*"):
        if tmp.is_file() and not _owner_alive(tmp):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_writable(target: Path) -> None:
    """Refuse, before any work, a target that is a folder or whose folder cannot be written.

    Creates the folder if needed, then creates and removes a probe file in it. Raises
    ValueError for a folder target and OSError naming the path otherwise.
    """
    if target.is_dir():
        raise ValueError(f"'{target}' is a folder: give the path of a file to write")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        probe = temp_path(target)
        probe.open("xb").close()
        probe.unlink()
    except OSError as e:
        raise OSError(f"cannot write '{target}': {e.strerror or e}") from None


@contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target`` atomically.

    The folder is created if needed and stale temporary files of ``target`` are removed
    first. On an exception the temporary file is deleted and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target.parent, target.name)
    tmp = temp_path(target)
    try:
        yield tmp
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


def write_text(target: Path | str, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``target`` atomically; returns the target path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(target)


def write_bytes(target: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically; returns the target path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)
