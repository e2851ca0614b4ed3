"""The files through which a node folder records its state, and the claim on it.

``cztflow-run.json`` (finished or failed) and ``.cztflow-running`` (started, not ended) give
the node's state (:func:`node_state`).  Two runs of one campaign never run the same node: a
run holds an exclusive ``flock`` on ``NODE/.cztflow-lock`` from the moment it decides to run
the node until its marker is written.  The kernel grants it to one process only, and
drops it when that process ends in any way, SIGKILL included, so no stale claim is ever
left behind to be broken by hand.  Under the claim the run looks at the folder again (the
node may have finished meanwhile) and then creates ``.cztflow-running`` with an exclusive
create (``O_CREAT | O_EXCL``), which names the process for ``cztflow status`` and for a
second run's message.

``flock`` works across hosts on NFS (Linux emulates it with POSIX locks).  A marker that
names a live Python process on this host but whose process holds no claim (one written by
an older cztflow) still refuses the node.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cztflow.workflows.engines.base import EngineError

__all__ = [
    "LOCK",
    "MARKER",
    "RUNNING",
    "NodeBusy",
    "busy",
    "claim_node",
    "live_owner",
    "mark_running",
    "node_state",
    "owner_of",
    "read_marker",
]

#: The node's record: ``status`` finished or failed, the engine, its settings and summary.
MARKER = "cztflow-run.json"
#: Present while a run works on the node, and after a run that did not end.
RUNNING = ".cztflow-running"
#: The file the claim is held on; it stays in the folder (removing it would reopen the race).
LOCK = ".cztflow-lock"


class NodeBusy(EngineError):
    """Another live process is running this node; its folder was not touched."""


def read_marker(folder: Path) -> tuple[str, dict[str, Any]] | None:
    """The text and content of ``folder/cztflow-run.json``; None if it is absent or not JSON."""
    try:
        text = (folder / MARKER).read_text(encoding="utf-8")
        record = json.loads(text)
    except (OSError, ValueError):
        return None
    return (text, record) if isinstance(record, dict) else None


def node_state(folder: Path) -> str:
    """``finished``, ``failed``, ``interrupted`` or ``pending``, from the folder's marker files."""
    if (folder / MARKER).is_file():
        marker = read_marker(folder)
        if marker is None:
            return "interrupted"
        return str(marker[1].get("status", "failed"))
    if (folder / RUNNING).exists():
        return "interrupted"
    return "pending"


def owner_of(folder: Path) -> str:
    """The process named by ``folder/.cztflow-running``, in words, without checking it."""
    try:
        owner = json.loads((folder / RUNNING).read_text(encoding="utf-8"))
        return f"process {int(owner['pid'])} on {owner['host']} (started {owner.get('started', '?')})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another cztflow process"


def live_owner(folder: Path) -> str | None:
    """Who is running ``folder`` now: the marker's process, if it is alive on this host.

    A marker written on another host (a shared cluster file system) or by a process that is
    gone, or one that cannot be read, names no owner: the attempt counts as interrupted.
    """
    try:
        owner = json.loads((folder / RUNNING).read_text(encoding="utf-8"))
        pid = int(owner["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if owner.get("host") != socket.gethostname() or pid == os.getpid():
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None  # gone (a reused pid of another program is no Python process, below)
    if b"python" not in cmdline and b"cztflow" not in cmdline:
        return None
    return owner_of(folder)


def busy(folder: Path, owner: str) -> NodeBusy:
    """The error a run gets for a node another process is running."""
    return NodeBusy(f"{folder}: is being run by {owner}; wait for it, or stop it and run again")


@contextmanager
def claim_node(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s claim for the block; the lock goes when the block ends or the process dies.

    Raises
    ------
    NodeBusy
        If another process holds the claim (nothing in the folder is touched).
    EngineError
        If the lock file cannot be created (a read-only or missing folder).
    """
    try:
        fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise EngineError(f"{folder}: cannot claim the node ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy(folder, owner_of(folder)) from None
        yield
    finally:
        os.close(fd)


def mark_running(folder: Path, engine: str) -> None:
    """Create ``.cztflow-running`` (exclusive create) naming this process; call under the claim.

    Raises
    ------
    NodeBusy
        If the file exists: a process that does not take claims wrote it.
    """
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    record = {"pid": os.getpid(), "host": socket.gethostname(), "engine": engine, "started": started}
    try:
        fd = os.open(folder / RUNNING, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        raise busy(folder, owner_of(folder)) from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(record))
