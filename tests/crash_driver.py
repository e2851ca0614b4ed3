"""Kill runs at random points, or release several runs together, and report what went wrong.

Run by ``tests/test_crash_safety.py`` in a fresh interpreter::

    python crash_driver.py kill TEMPLATE WORK TRIALS SEED
    python crash_driver.py race TEMPLATE WORK TRIALS SEED RUNS

``TEMPLATE`` is a campaign written from :data:`crash_helpers.SPEC`; each trial works on a
copy.  Runs are forked from this process after everything is imported, so a run starts in
milliseconds and the kill lands where the delay says.  The driver prints one JSON object:
what it did and a list of ``problems`` (empty when every check held).  It checks only files
and plain SQLite/ASE reads, never cztflow's own checks, so it judges any version of cztflow.

*kill*: each trial kills a run (campaign, then the Fig. 1 report) with SIGKILL one to three
times at random delays (40 % of them inside the window where the uninterrupted run created
its database, the rest anywhere), then lets a run finish, then kills one rerun of the
finished campaign.  After every kill a database that exists must have the whole schema and every
report file that exists must equal the uninterrupted run's bytes (the PDF: whole, same
size); after the finishing run all five report files equal them, the database holds one
row per node with the energy of the node's own records, and no temporary file is left.

*race*: each trial releases ``RUNS`` runs of one campaign through one pipe; no node may
start twice, no run may end in an exception, and the database may hold one row per
finished node only.  A last run then finishes the campaign.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("SOURCE_DATE_EPOCH", "0")  # a reproducible PDF

import json
import random
import shutil
import signal
import sqlite3
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ase.db
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot  # imported before forking: runs start at once
from crash_helpers import NODES, REPORT_FILES, run_fake

from cztflow.report import collect_fig1
from cztflow.report.figure import write_figure
from cztflow.report.table import write_tables

SCHEMA = {"systems", "species", "keys", "text_key_values", "number_key_values", "information"}


def _job(root: Path, out: Path | None) -> int:
    """Run the campaign (and write the report into ``out``); the exit status says how it went."""
    try:
        report = run_fake(root)
        busy = list(getattr(report, "busy", {}))  # an older cztflow has no busy nodes
        summary = {"finished": report.finished, "busy": busy, "failed": report.failed}
        (root / f"report-{os.getpid()}.json").write_text(json.dumps(summary))
        if report.failed:
            return 4
        if getattr(report, "busy", None) or report.blocked:
            return 1  # left to the run that holds them
        if out is not None:
            data = collect_fig1(root)
            write_tables(data, out)
            write_figure(data, out)
    except BaseException:
        (root / f"crash-{os.getpid()}.txt").write_text(traceback.format_exc())
        return 3
    return 0


def _fork(root: Path, out: Path | None, gate: int | None = None) -> int:
    """Start :func:`_job` in a child (after one byte arrives on ``gate``, if given); return its pid."""
    pid = os.fork()
    if pid == 0:
        if gate is not None:
            os.read(gate, 1)
        os._exit(_job(root, out))
    return pid


def _wait(pid: int) -> int:
    status = os.waitpid(pid, 0)[1]
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _schema_problem(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        con = sqlite3.connect(str(path), timeout=30)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            version = con.execute("SELECT value FROM information WHERE name='version'").fetchone()
        finally:
            con.close()
    except sqlite3.Error as exc:
        return f"{path}: {exc}"
    if SCHEMA - tables or version is None:
        return f"{path}: half-built schema, tables {sorted(tables)}"
    return None


def _rows(root: Path) -> dict[str, list[Any]]:
    rows: dict[str, list[Any]] = {}
    for row in ase.db.connect(root / "results.db", use_lock_file=False).select():
        rows.setdefault(row.get("node"), []).append(row)
    return rows


def _marker(root: Path, node: str) -> dict[str, Any] | None:
    try:
        return json.loads((root / node / "cztflow-run.json").read_text())
    except (OSError, ValueError):
        return None


def _db_problems(root: Path, *, all_finished: bool) -> list[str]:
    """One row per finished node (none for the others), its energy that of the node's records."""
    problems = []
    rows = _rows(root)
    for node in NODES:
        marker = _marker(root, node)
        finished = marker is not None and marker.get("status") == "finished"
        mine = rows.get(node, [])
        if all_finished and not finished:
            problems.append(f"{node}: not finished after the last run")
        if len(mine) != (1 if finished else 0):
            problems.append(f"{node}: {len(mine)} rows, finished={finished}")
            continue
        if finished:
            result = json.loads((root / node / "cztflow-result.json").read_text())
            energy = marker["summary"]["energy"]
            if not (mine[0].energy == energy == result["energy"]) or mine[0].get("converged") != 1:
                problems.append(
                    f"{node}: row energy {mine[0].energy}, record {energy}, result {result['energy']}"
                )
    return problems


def _same(name: str, data: bytes, reference: bytes) -> bool:
    """Equal bytes; for the PDF, whole and of the reference's size (matplotlib's constrained
    layout moves a coordinate by 1e-6 from one drawing to the next, in the PDF's text only)."""
    if not name.endswith(".pdf"):
        return data == reference
    whole = data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    return whole and abs(len(data) - len(reference)) <= 16


def _report_problems(out: Path, reference: dict[str, bytes], *, complete: bool) -> list[str]:
    problems = []
    for name in REPORT_FILES:
        path = out / name
        if not path.exists():
            if complete:
                problems.append(f"{path}: missing")
        elif not _same(name, path.read_bytes(), reference[name]):
            problems.append(
                f"{path}: {path.stat().st_size} bytes, not the reference's {len(reference[name])}"
            )
    return problems


def _leftovers(root: Path, out: Path) -> list[str]:
    found = [p for p in out.iterdir() if p.name.endswith(".tmp")] if out.is_dir() else []
    found += [p for p in root.iterdir() if p.name.startswith(".results.db")]
    return [f"{p}: temporary file left" for p in found]


def _fresh(template: Path, work: Path) -> tuple[Path, Path]:
    """A fresh copy of the campaign, always at the same path (the report names its folder)."""
    root, out = work / "campaign", work / "out"
    for folder in (root, out):
        shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(template, root)
    return root, out


def _watch(root: Path, pid: int) -> tuple[float, float]:
    """Poll every millisecond until ``pid`` ends: when the database (or its temporary) first
    appeared, and when ``results.db`` was there (seconds from now)."""
    start = time.perf_counter()
    first = whole = None
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        now = time.perf_counter() - start
        if first is None and (any(root.glob(".results.db.*")) or (root / "results.db").exists()):
            first = now
        if whole is None and (root / "results.db").exists():
            whole = now
        time.sleep(0.001)
    return first or 0.0, whole or 0.0


def _reference(template: Path, work: Path) -> tuple[dict[str, bytes], float, tuple[float, float]]:
    """The uninterrupted run's report, its duration, and when the database was being created."""
    root, out = _fresh(template, work)
    start = time.perf_counter()
    first, whole = _watch(root, _fork(root, out))
    took = time.perf_counter() - start
    if any(root.glob("crash-*.txt")) or not (out / "fig1.png").exists():
        raise SystemExit("the uninterrupted reference run failed")
    creation = (max(0.0, first - 0.01), whole + 0.03)  # ASE builds the schema in about 15 ms
    return {name: (out / name).read_bytes() for name in REPORT_FILES}, took, creation


def _kill_after(root: Path, out: Path, delay: float) -> bool:
    """Start a run, SIGKILL it after ``delay`` seconds; True if it was still running."""
    pid = _fork(root, out)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    return _wait(pid) == -signal.SIGKILL


def _caught(root: Path, out: Path) -> Counter:
    """Where the last kill landed, from the temporaries it left: database creation, report."""
    return Counter(
        {
            "in_db_creation": any(root.glob(".results.db.*.tmp*")),
            "in_report": out.is_dir() and any(out.glob(".fig1.*.tmp")),
        }
    )


def _kill_trial(root: Path, out: Path, rng: random.Random, timing: tuple, ref: dict[str, bytes]) -> dict:
    """Kill 1-3 runs, finish, kill a rerun; the counts and the problems found."""
    span, creation = timing
    problems, seen = [], Counter()
    for _ in range(rng.randint(1, 3)):
        window = creation if rng.random() < 0.4 else (0.0, span * 1.1)  # 40 %: database creation
        seen["kills"] += _kill_after(root, out, rng.uniform(*window))
        seen += _caught(root, out)
        problems += [p for p in [_schema_problem(root / "results.db")] if p]
        problems += _report_problems(out, ref, complete=False)
    status = _wait(_fork(root, out))
    if status != 0:
        crash = "".join(p.read_text() for p in root.glob("crash-*.txt"))
        return {**seen, "problems": [f"{root}: the run after the kills ended with {status}\n{crash}"]}
    problems += _db_problems(root, all_finished=True) + _report_problems(out, ref, complete=True)
    seen["kills"] += _kill_after(root, out, rng.uniform(0, span))  # a rerun: the report is rewritten
    seen += _caught(root, out)
    problems += _report_problems(out, ref, complete=True)
    _wait(_fork(root, out))
    problems += _report_problems(out, ref, complete=True) + _leftovers(root, out)
    return {**seen, "problems": problems}


def kill(template: Path, work: Path, trials: int, seed: int) -> dict:
    """The *kill* mode (see the module docstring)."""
    reference, span, creation = _reference(template, work)
    rng = random.Random(seed)
    seen, problems = Counter(), []
    for _ in range(trials):
        root, out = _fresh(template, work)
        found = _kill_trial(root, out, rng, (span, creation), reference)
        problems += found.pop("problems")
        seen.update(found)
    window = [round(t, 3) for t in creation]
    return {
        "mode": "kill",
        "trials": trials,
        "span": round(span, 3),
        "creation": window,
        **seen,
        "problems": problems,
    }


def _release(root: Path, runs: int) -> list[int]:
    """Fork ``runs`` runs of ``root`` waiting on one pipe, release them together; their statuses."""
    gate, go = os.pipe()
    pids = [_fork(root, None, gate) for _ in range(runs)]
    os.close(gate)
    os.write(go, b"x" * runs)
    os.close(go)
    return [_wait(pid) for pid in pids]


def _race_trial(root: Path, runs: int) -> dict:
    log = root / "engine.log"
    statuses = _release(root, runs)
    problems = [f"{root}: a run ended with {s}" for s in statuses if s not in (0, 1)]
    problems += [f"{p}: {p.read_text()}" for p in root.glob("crash-*.txt")]
    starts = Counter(line.split()[0] for line in log.read_text().splitlines()) if log.exists() else Counter()
    problems += [f"{root}: {node} started {n} times" for node, n in starts.items() if n > 1]
    problems += _db_problems(root, all_finished=False)
    reports = [json.loads(p.read_text()) for p in root.glob("report-*.json")]
    busy = sum(len(r["busy"]) for r in reports)
    if _wait(_fork(root, None)) != 0:
        problems.append(f"{root}: the last run failed")
    starts = Counter(line.split()[0] for line in log.read_text().splitlines())
    problems += [f"{root}: {node} started {starts[node]} times in all" for node in NODES if starts[node] != 1]
    problems += _db_problems(root, all_finished=True)
    return {"busy": busy, "problems": problems}


def race(template: Path, work: Path, trials: int, seed: int, runs: int) -> dict:
    """The *race* mode (see the module docstring)."""
    busy, problems = 0, []
    for trial in range(trials):
        root = work / f"race-{trial}"
        shutil.copytree(template, root)
        os.environ["CZTFLOW_FAKE_LOG"] = str(root / "engine.log")
        found = _race_trial(root, runs)
        busy += found["busy"]
        problems += found["problems"]
    return {"mode": "race", "trials": trials, "runs": runs, "busy": busy, "problems": problems}


def main(argv: list[str]) -> None:
    """Parse the command line, run the mode, print its JSON."""
    mode, template, work, trials, seed = argv[0], Path(argv[1]), Path(argv[2]), int(argv[3]), int(argv[4])
    if mode == "kill":
        result = kill(template, work, trials, seed)
    else:
        result = race(template, work, trials, seed, int(argv[5]))
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
