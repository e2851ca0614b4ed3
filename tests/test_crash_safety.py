"""Crash safety: kills at random points, runs released together, a broken database, clear errors.

The campaigns run with the fake engine of :mod:`crash_helpers` (milliseconds a node), so
what is tested is the runner, the database and the report, not an engine.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from crash_helpers import NODES, REPORT_FILES, SPEC, run_fake
from running_helpers import CLI, cli, small_campaign

from cztflow.workflows.engines.base import EngineError
from cztflow.workflows.node_files import LOCK, MARKER, claim_node

DRIVER = Path(__file__).resolve().parent / "crash_driver.py"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four-node campaign, written once (copy it before running)."""
    return small_campaign(tmp_path_factory.mktemp("crash"), SPEC)


@pytest.fixture
def campaign(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the four-node campaign."""
    return Path(shutil.copytree(template, tmp_path / "camp"))


def _rows(root: Path) -> dict[str, list]:
    import ase.db

    rows: dict[str, list] = {}
    for row in ase.db.connect(root / "results.db", use_lock_file=False).select():
        rows.setdefault(row.node, []).append(row)
    return rows


def _energy(root: Path, node: str) -> float:
    return json.loads((root / node / MARKER).read_text())["summary"]["energy"]


def _files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (the empty lock files aside), by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(LOCK)
    }


# --- temporary files ------------------------------------------------------------------------


def test_temporaries_are_unique_per_process_and_a_killed_writers_go(tmp_path: Path) -> None:
    from cztflow.atomic_files import remove_stale_temps, temp_path, write_text_atomic

    target = tmp_path / "fig1.png"
    first, second = temp_path(target), temp_path(target)
    assert first != second and first.name.startswith(f".fig1.png.{os.getpid()}.")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f".fig1.png.{int(gone.stdout)}.0123abcd.tmp"  # its writer was killed
    live = tmp_path / f".fig1.png.{os.getpid()}.0123abcd.tmp"  # being written now
    for path in (stale, live):
        path.write_bytes(b"cut short")
    assert remove_stale_temps(tmp_path, ["fig1.png"]) == [stale]
    assert live.exists()
    write_text_atomic(tmp_path / "fig1.md", "whole\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "fig1.md"]


# --- the results database ----------------------------------------------------------------


def test_half_built_database_is_moved_aside_and_rebuilt(campaign: Path) -> None:
    """What a kill during ASE's schema build left (only its first table): the next run moves
    it aside and rebuilds every row from the node folders, instead of failing forever with
    'no such table: information'."""
    from ase.db.sqlite import init_statements

    assert sorted(run_fake(campaign).finished) == sorted(NODES)
    db = campaign / "results.db"
    db.unlink()
    con = sqlite3.connect(db)
    con.execute(init_statements[0])
    con.commit()
    con.close()
    broken = db.read_bytes()
    again = run_fake(campaign)
    assert sorted(again.skipped) == sorted(NODES) and again.finished == []
    assert again.notes == [
        f"{db}: half-built schema (no table information, keys, number_key_values, species, "
        "text_key_values); moved to results.db.broken-1, rebuilt from the node folders"
    ]
    assert (campaign / "results.db.broken-1").read_bytes() == broken  # kept, not deleted
    rows = _rows(campaign)
    assert {node: len(found) for node, found in rows.items()} == dict.fromkeys(NODES, 1)
    for node in NODES:
        assert rows[node][0].energy == _energy(campaign, node)


def test_database_schema_is_built_beside_and_renamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A schema build that stops half-way leaves no results.db (and no temporary file)."""
    import ase.db.sqlite as backend

    from cztflow.workflows.results_db import open_results, schema_problem

    monkeypatch.setattr(backend, "init_statements", [*backend.init_statements[:3], "CREATE TABLE ("])
    with pytest.raises(EngineError, match=r"results\.db: cannot open the results database \(.*syntax error"):
        open_results(tmp_path, None)
    assert [p.name for p in tmp_path.iterdir()] == ["results.db.cztflow-lock"]
    monkeypatch.undo()
    db, note = open_results(tmp_path, None)
    assert note is None and len(db) == 0
    assert schema_problem(tmp_path / "results.db") is None


def test_a_redone_node_replaces_its_row_and_an_unfinished_one_has_none(
    campaign: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_fake(campaign)
    before = _energy(campaign, "relax/k-bcc")
    (campaign / "relax/k-bcc" / MARKER).unlink()  # redo it: another energy this time
    monkeypatch.setenv("CZTFLOW_FAKE_SHIFT", "0.5")
    assert run_fake(campaign).finished == ["relax/k-bcc"]
    rows = _rows(campaign)
    assert len(rows["relax/k-bcc"]) == 1
    assert rows["relax/k-bcc"][0].energy == _energy(campaign, "relax/k-bcc") == pytest.approx(before + 0.5)
    (campaign / "static/k-atom" / MARKER).unlink()  # no longer finished, and not run now
    run_fake(campaign, only=lambda node: node["id"] != "static/k-atom")
    assert sorted(_rows(campaign)) == sorted(set(NODES) - {"static/k-atom"})


def test_duplicate_rows_of_a_node_become_one(campaign: Path) -> None:
    """Two launchers of an older cztflow each wrote relax/k-bcc: the next run keeps one row."""
    import ase.db

    run_fake(campaign)
    db = ase.db.connect(campaign / "results.db", use_lock_file=False)
    row = next(db.select(node="relax/k-bcc"))
    db.write(row.toatoms(), key_value_pairs={"node": "relax/k-bcc", "kind": "relax"})
    assert len(_rows(campaign)["relax/k-bcc"]) == 2
    run_fake(campaign)
    rows = _rows(campaign)
    assert len(rows["relax/k-bcc"]) == 1 and rows["relax/k-bcc"][0].energy == _energy(campaign, "relax/k-bcc")


# --- claims --------------------------------------------------------------------------------


def test_a_claimed_node_is_busy_and_left_untouched(campaign: Path) -> None:
    folder = campaign / "relax/znte-111"
    before = _files(folder)
    with claim_node(folder):  # as another run holding it would
        report = run_fake(campaign)
    said = f"{folder}: is being run by another cztflow process; wait for it, or stop it and run again"
    assert report.busy == {"relax/znte-111": said}
    assert report.blocked == ["relax/znte-111-K-hollow-1"]
    assert sorted(report.finished) == ["relax/k-bcc", "static/k-atom"] and report.failed == {}
    assert _files(folder) == before
    assert sorted(run_fake(campaign).finished) == ["relax/znte-111", "relax/znte-111-K-hollow-1"]


def _driver(*args: str, timeout: int) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "CZTFLOW_FAKE_SECONDS": "0.03"}
    out = subprocess.run(
        [sys.executable, str(DRIVER), *args], capture_output=True, text=True, env=env, timeout=timeout
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.slow
def test_random_kills_then_a_rerun_give_the_same_report_and_database(template: Path, tmp_path: Path) -> None:
    """SIGKILL at random points (database creation and report writing included), 1-3 times a
    trial, then a run to the end, then a kill during a rerun (see crash_driver.py)."""
    result = _driver("kill", str(template), str(tmp_path), "8", "2026", timeout=400)
    assert result["problems"] == [], "\n".join(result["problems"])
    assert result.get("kills", 0) >= 8  # kills that landed while the run was going


@pytest.mark.slow
def test_runs_released_together_never_run_a_node_twice(template: Path, tmp_path: Path) -> None:
    """Three runs of one campaign released through one pipe, 30 times: no node starts twice,
    no run ends in an exception, the database holds one row per finished node."""
    result = _driver("race", str(template), str(tmp_path), "30", "2026", "3", timeout=400)
    assert result["problems"] == [], "\n".join(result["problems"])
    assert result["busy"] > 0  # the runs did meet on nodes


# --- clear errors through the CLI -------------------------------------------------------------


def _one_error_line(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    return lines[0]


def test_run_after_a_node_folder_was_deleted(campaign: Path) -> None:
    run_fake(campaign)
    gone = campaign / "relax/znte-111-K-hollow-1"
    shutil.rmtree(gone)
    before = _files(campaign)
    line = _one_error_line(cli("run", str(campaign)))
    assert line == (
        f"error: {gone}: node folder missing (deleted?); write the campaign again "
        "(cztflow campaign write SPEC -o CAMPAIGN) to restore its inputs"
    )
    assert _files(campaign) == before


def _other_user() -> list[str] | None:
    """A command prefix under which chmod a-w stops writes: none needed unless we are root,
    then ``setpriv`` to user nobody; None if neither works here."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        return None
    if setpriv is None:
        return None
    prefix = [setpriv, f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import cztflow.cli"], capture_output=True)
    return prefix if probe.returncode == 0 else None


@pytest.fixture
def read_only_place() -> Iterator[tuple[Path, list[str]]]:
    """A folder other users can read, and the command prefix of a user who cannot write in
    what we make read-only (we may be root, whom chmod does not stop)."""
    prefix = _other_user()
    if prefix is None:
        pytest.skip("running as root without setpriv and user nobody: chmod cannot make a folder read-only")
    place = Path(tempfile.mkdtemp(prefix="cztflow-ro-", dir="/tmp"))
    place.chmod(0o755)
    (place / "home").mkdir(mode=0o777)
    (place / "home").chmod(0o777)
    try:
        yield place, prefix
    finally:
        for path in [place, *place.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(place)


def _as_other(prefix: list[str], place: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "HOME": str(place / "home")}
    env["MPLCONFIGDIR"] = str(place / "home")
    return subprocess.run(
        [*prefix, *CLI, *args], capture_output=True, text=True, env=env, cwd=place, timeout=300
    )


def _read_only(folder: Path) -> None:
    """Readable for everyone, writable for nobody else (and for no one if we are not root)."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)


def test_run_on_a_read_only_campaign(template: Path, read_only_place: tuple[Path, list[str]]) -> None:
    place, prefix = read_only_place
    root = Path(shutil.copytree(template, place / "camp"))
    run_fake(root)
    (root / "static/k-atom" / MARKER).unlink()  # one node left to run
    _read_only(root)
    before = _files(root)
    line = _one_error_line(_as_other(prefix, place, "run", str(root)))
    assert line == (
        f"error: {root}: not writable (Permission denied); cztflow run keeps results.db there "
        "(give --db elsewhere, or make the folder writable)"
    )
    assert _files(root) == before


def test_fig1_from_into_a_read_only_folder(template: Path, read_only_place: tuple[Path, list[str]]) -> None:
    place, prefix = read_only_place
    root = Path(shutil.copytree(template, place / "camp"))
    run_fake(root)
    out = place / "fig1"
    first = cli("fig1", "--from", str(root), "-o", str(out))
    assert first.returncode == 0, first.stderr
    _read_only(out)
    before = _files(out)
    assert sorted(before) == sorted(REPORT_FILES)
    line = _one_error_line(_as_other(prefix, place, "fig1", "--from", str(root), "-o", str(out)))
    assert line == f"error: {out}: not writable (Permission denied); the report (fig1.md, .csv, …) goes there"
    assert _files(out) == before
