"""The results database: one row per finished node, kept in step with the node folders.

The node folders are the truth (``cztflow-run.json`` and the final structure); the ASE
database is an index of them.  Each row carries ``marker_sha``, a digest of the node's
``cztflow-run.json`` (``sha256:`` and 16 hex digits), so a row that no longer describes
its folder (the node was redone) is recognised and replaced.  Three rules keep it whole:

* **Created whole.**  ASE builds its SQLite schema one committed statement at a time, so a
  kill while ``results.db`` is first created used to leave a half-built schema on which
  every later run failed (``no such table: information``).  The schema is now built in a
  temporary file and renamed into place.
* **Rebuilt when broken.**  A database that is unreadable, empty or lacks part of the schema
  is moved aside (``results.db.broken-N``, nothing is deleted) and built again from the node
  folders.
* **One row per node.**  Writing a node's row is check-and-write under an exclusive lock on
  ``results.db.cztflow-lock`` (``flock``, dropped by the kernel when a writer is killed),
  inside one transaction: an existing row of the node is overwritten in place (ASE's
  ``write(..., id=...)``), so concurrent runs never add a second row.

Other database URLs (PostgreSQL) get the same rows and transactions, but no lock between
runs: give each concurrent launcher a campaign of its own, or use the SQLite default.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Any

from cztflow.atomic_files import remove_stale_temps, replacing
from cztflow.workflows.engines.base import EngineError
from cztflow.workflows.node_files import read_marker

__all__ = [
    "DB_NAME",
    "open_database",
    "open_results",
    "prepare_database",
    "record_node",
    "rows_by_node",
    "schema_problem",
    "sqlite_file",
    "sync_database",
]

DB_NAME = "results.db"
_LOCK_SUFFIX = ".cztflow-lock"


def sqlite_file(root: Path, url: str | None) -> Path | None:
    """The SQLite file behind ``url`` (default ``root/results.db``); None for a server URL."""
    if url is None:
        return root / DB_NAME
    if "://" in url or not url.endswith(".db"):
        return None
    return Path(url)


@contextmanager
def _locked(path: Path | None) -> Iterator[None]:
    """Hold the exclusive lock of the SQLite file ``path`` (waits for other writers)."""
    if path is None:
        yield
        return
    fd = os.open(path.with_name(path.name + _LOCK_SUFFIX), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@lru_cache(maxsize=1)
def _schema_tables() -> frozenset[str]:
    """The tables of a complete ASE SQLite database, as this ASE builds it."""
    from ase.db.sqlite import init_statements

    con = sqlite3.connect(":memory:")
    try:
        for statement in init_statements:
            con.execute(statement)
        return frozenset(row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='table'"))
    finally:
        con.close()


def schema_problem(path: Path) -> str | None:
    """What is wrong with the SQLite database ``path`` (None if it is whole or absent)."""
    if not path.exists():
        return None
    if path.stat().st_size == 0:
        return "empty file"
    try:
        con = sqlite3.connect(str(path), timeout=20)
        try:
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            missing = sorted(_schema_tables() - tables)
            if missing:
                return f"half-built schema (no table {', '.join(missing)})"
            if con.execute("SELECT value FROM information WHERE name='version'").fetchone() is None:
                return "no schema version"
            check = con.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return f"unreadable ({exc})"
    return None if check == "ok" else f"corrupt ({check})"


def _create(path: Path) -> None:
    """Build an empty ASE database in a temporary file and rename it to ``path``."""
    import ase.db

    with replacing(path) as tmp:
        db = ase.db.connect(str(tmp), type="db", use_lock_file=False)
        db.count()  # builds the schema (one commit per statement, in the temporary file)


def _move_aside(path: Path) -> Path:
    number = 1
    while path.with_name(f"{path.name}.broken-{number}").exists():
        number += 1
    aside = path.with_name(f"{path.name}.broken-{number}")
    os.replace(path, aside)
    journal = path.with_name(path.name + "-journal")
    if journal.exists():
        os.replace(journal, aside.with_name(aside.name + "-journal"))
    return aside


def prepare_database(path: Path) -> str | None:
    """Make ``path`` a whole ASE database: create it whole, or move a broken one aside.

    Returns
    -------
    str or None
        What was wrong and where the broken file went, if it was broken.
    """
    with _locked(path):
        remove_stale_temps(path.parent, [path.name])
        problem = schema_problem(path)
        note = None
        if problem is not None:
            aside = _move_aside(path)
            note = f"{path}: {problem}; moved to {aside.name}, rebuilt from the node folders"
        if not path.exists():
            _create(path)
    return note


def open_results(root: Path, url: str | None) -> tuple[Any, str | None]:
    """The campaign's database, ready to write, and what was repaired (or None).

    Raises
    ------
    EngineError
        If the database cannot be created or opened (the message names it and the cause).
    """
    import ase.db

    path = sqlite_file(root, url)
    try:
        note = prepare_database(path) if path is not None else None
        db = ase.db.connect(str(path) if path is not None else url, use_lock_file=False)
    except (OSError, sqlite3.Error) as exc:
        where = path if path is not None else url
        raise EngineError(f"{where}: cannot open the results database ({exc})") from None
    return db, note


def open_database(root: Path, url: str | None) -> Any:
    """The campaign's database (:func:`open_results` without the repair note)."""
    return open_results(root, url)[0]


def _db_file(db: Any) -> Path | None:
    name = getattr(db, "filename", None)
    if isinstance(name, str) and "://" not in name and name.endswith(".db"):
        return Path(name)
    return None


@contextmanager
def _writing(db: Any) -> Iterator[None]:
    """Hold the database's lock and one transaction (committed at the end, rolled back on error)."""
    path = _db_file(db)
    transaction = db if hasattr(type(db), "__enter__") else nullcontext()
    try:
        with _locked(path), transaction:
            yield
    except (OSError, sqlite3.Error) as exc:
        raise EngineError(f"{path or db}: cannot write the results database ({exc})") from None


def rows_by_node(db: Any) -> dict[str, list[Any]]:
    """The database's rows (without data) grouped by their ``node`` key."""
    rows: dict[str, list[Any]] = {}
    for row in db.select(include_data=False):
        node = row.get("node")
        if node is not None:
            rows.setdefault(str(node), []).append(row)
    return rows


def _row_content(root: Path, node: dict[str, Any], marker: dict[str, Any]) -> tuple[Any, dict, dict]:
    """The atoms, key-value pairs and data of a finished node's row, from its folder."""
    import ase.io
    from ase.calculators.singlepoint import SinglePointCalculator

    folder = root / node["folder"]
    geometry = folder / "CONTCAR"
    if not geometry.is_file() or node["kind"] == "neb":
        geometry = folder / ("00/POSCAR" if node["kind"] == "neb" else "POSCAR")
    try:
        atoms = ase.io.read(geometry, format="vasp")
    except (OSError, ValueError, IndexError) as exc:
        raise EngineError(f"{geometry}: unreadable structure for the results database ({exc})") from None
    summary = marker.get("summary") or {}
    pairs = {
        "node": node["id"],
        "kind": node["kind"],
        "system": node.get("system", ""),
        "engine": (marker.get("engine") or {}).get("engine", ""),
        "converged": bool(summary.get("converged", False)),
    }
    for key in ("barrier", "ionic_steps"):
        if isinstance(summary.get(key), int | float):
            pairs[key] = summary[key]
    if isinstance(summary.get("energy"), int | float):
        atoms.calc = SinglePointCalculator(atoms, energy=float(summary["energy"]))
    return atoms, pairs, {"summary": summary, "engine": marker.get("engine")}


def _sync_node(db: Any, root: Path, node: dict[str, Any], rows: list[Any]) -> bool:
    """Make the node's rows match its folder: one current row if finished, none otherwise."""
    found = read_marker(root / node["folder"])
    finished = found is not None and found[1].get("status") == "finished"
    if not finished:
        if rows:
            db.delete([row.id for row in rows])
        return bool(rows)
    text, marker = found  # type: ignore[misc]
    # a bare hex digest may read as a number ("6975e574…"), which ASE refuses as a text value
    digest = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    if len(rows) == 1 and rows[0].get("marker_sha") == digest:
        return False
    atoms, pairs, data = _row_content(root, node, marker)
    pairs["marker_sha"] = digest
    db.write(atoms, key_value_pairs=pairs, data=data, id=rows[0].id if rows else None)
    if len(rows) > 1:
        db.delete([row.id for row in rows[1:]])
    return True


def record_node(db: Any, root: Path, node: dict[str, Any]) -> bool:
    """Write or replace the node's row from its folder (remove it if unfinished); True if changed."""
    with _writing(db):
        return _sync_node(db, root, node, list(db.select(node=node["id"], include_data=False)))


def sync_database(db: Any, root: Path, nodes: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """Bring the rows of ``nodes`` in step with their folders.

    Returns
    -------
    tuple
        How many nodes' rows changed, and the finished nodes whose row could not be written
        (an unreadable structure), each as a message naming the file.
    """
    changed, problems = 0, []
    with _writing(db):
        rows = rows_by_node(db)
        for node in nodes:
            try:
                changed += _sync_node(db, root, node, rows.get(node["id"], []))
            except EngineError as exc:
                problems.append(str(exc))
    return changed, problems
