"""Files that hold either the old version or the new one, never half of either.

Every file that a kill could leave half-written (results, markers, the results database,
the Fig. 1 report) is written to a temporary file in the same folder and renamed over its
target with :func:`os.replace`, which is atomic on POSIX file systems.  The temporary name
carries the writer's pid and a random part, so two processes never share one, and a
temporary file left by a killed writer can be told apart from one being written now
(:func:`remove_stale_temps`).

Renaming protects against a killed process, not against a power cut: nothing here calls
``fsync``.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = [
    "remove_stale_temps",
    "replacing",
    "temp_path",
    "writable_problem",
    "write_bytes_atomic",
    "write_text_atomic",
]

#: A temporary of :func:`temp_path`, or a side file SQLite keeps beside one (``-journal``).
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp(-journal|-wal|-shm)?$")


def temp_path(path: Path) -> Path:
    """A temporary name beside ``path``, unique to this process: ``.NAME.PID.RANDOM.tmp``."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` when the block succeeds.

    If the block raises, the temporary file is removed and ``path`` keeps its old content.
    """
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def remove_stale_temps(folder: Path, names: Iterable[str] | None = None) -> list[Path]:
    """Remove the temporary files of writers on this host that are gone; return them.

    Parameters
    ----------
    folder
        Where to look (not recursive).
    names
        Only temporaries of these target names (``fig1.png``); all of them by default.
    """
    wanted = None if names is None else set(names)
    removed = []
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        match = _TEMP.match(path.name)
        if match is None or (wanted is not None and match["name"] not in wanted):
            continue
        if not _alive(int(match["pid"])):
            with suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def writable_problem(folder: Path) -> str | None:
    """Why a file cannot be created in ``folder`` (the system's words), or None if it can.

    It tries: a permission check alone is wrong for root, for read-only mounts and for
    access control lists.
    """
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".cztflow-probe.")
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    os.unlink(name)
    return None
