"""VASP under custodian, with the protocol lock enforced on every correction.

custodian's handlers fix common VASP failures by editing INCAR, KPOINTS or POSCAR and
restarting.  Here each handler is wrapped in :class:`LockedHandler`: after a correction
it compares INCAR and KPOINTS with what they were, and if a locked tag (ENCUT, ISMEAR,
SIGMA, EDIFF, EDIFFG, IVDW, PREC, LASPH, GGA, IMAGES, LCLIMB) or the k-point mesh changed,
it puts the files back and stops the job with a report instead of silently changing the
physics.  Every correction, applied or refused, is appended to ``corrections.json`` in the
calculation folder; custodian's own log is ``custodian.json``.

A node stopped by the scheduler (scancel, walltime, a dead node) continues in the next job:
the runner moves the stopped attempt into ``attempts/NN`` and restores the inputs, and
:meth:`VaspEngine.run` starts from the attempt's CONTCAR (each intermediate image's for a
NEB), writing ``vasp-resumed.json`` (where it came from, the ionic steps done before) and
counting those steps in the record.

The VASP command and the MPI ranks come from the machine configuration
(:mod:`cztflow.workflows.config`), never from code; so do machine INCAR tags (NCORE, KPAR).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from cztflow.workflows.engines.base import Engine, EngineError, NodeTask
from cztflow.workflows.engines.folder_io import incar_values, write_atomic
from cztflow.workflows.engines.vasp_record import vasp_summary
from cztflow.workflows.incar_policy import canonical, classify, free_settings_problems
from cztflow.workflows.lock import same_value
from cztflow.workflows.resources import neb_ranks_problem

__all__ = ["CORRECTIONS_FILE", "RESUMED_FILE", "LockedHandler", "VaspEngine", "default_handlers", "resume"]

CORRECTIONS_FILE = "corrections.json"
#: Written by a run that continues a stopped attempt: ``from``, ``steps_before``, ``images``.
RESUMED_FILE = "vasp-resumed.json"
_IONIC = re.compile(r"^\s*\d+\s+F=", re.MULTILINE)


def _ionic_steps(folder: Path) -> int:
    """Ionic steps completed in ``folder``: the ``F=`` lines of its OSZICAR (0 without one)."""
    try:
        return len(_IONIC.findall((folder / "OSZICAR").read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return 0


def _images(folder: Path) -> list[Path]:
    """A NEB's intermediate image folders (``01`` … ``0N``, end points left out)."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit())[1:-1]


def _usable_contcar(path: Path) -> bool:
    """A CONTCAR VASP finished writing: it has at least the header and one position line."""
    try:
        return len(path.read_text(encoding="utf-8", errors="replace").split("\n")) > 8
    except OSError:
        return False


def resume(folder: Path, previous: Path, neb: bool) -> dict[str, Any]:
    """Continue the stopped attempt archived in ``previous``: its CONTCARs become the POSCARs.

    Parameters
    ----------
    folder
        The node folder, inputs restored.
    previous
        The stopped attempt's outputs (``attempts/NN``).
    neb
        A NEB: each intermediate image ``NN/CONTCAR`` replaces ``NN/POSCAR`` (end points stay).

    Returns
    -------
    dict
        ``from`` (the attempt, relative to the node folder), ``steps_before`` (ionic steps
        of that attempt and of those it continued), ``images`` (the geometries taken from it;
        empty when it stopped before its first ionic step, so the run starts from POSCAR).
        Also written to ``vasp-resumed.json``.
    """
    from cztflow.workflows.seeding import replace_geometry

    earlier = 0
    chain = previous / RESUMED_FILE
    if chain.is_file():
        earlier = int(json.loads(chain.read_text(encoding="utf-8")).get("steps_before") or 0)
    if neb:
        images = [p.name for p in _images(folder)]
        taken = [i for i in images if _usable_contcar(previous / i / "CONTCAR")]
        for image in taken:
            replace_geometry(folder / image / "POSCAR", previous / image / "CONTCAR")
        steps = max((_ionic_steps(previous / i) for i in images), default=0)
    else:
        taken = ["."] if _usable_contcar(previous / "CONTCAR") else []
        if taken:
            replace_geometry(folder / "POSCAR", previous / "CONTCAR")
        steps = _ionic_steps(previous)
    record = {
        "from": previous.relative_to(folder).as_posix(),
        "steps_before": earlier + steps,
        "images": taken,
    }
    write_atomic(folder / RESUMED_FILE, json.dumps(record, indent=1) + "\n")
    return record


def _append_correction(folder: Path, entry: dict[str, Any]) -> None:
    path = folder / CORRECTIONS_FILE
    log = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    log.append(entry)
    write_atomic(path, json.dumps(log, indent=1, default=str) + "\n")


class LockedHandler:
    """A custodian error handler that may not change locked tags or the k-point mesh.

    Parameters
    ----------
    inner
        The custodian handler doing the real work.
    locked
        The locked INCAR tags (their values are those in the INCAR when the job starts,
        declared deviations included).
    admits
        Whether a correction may add or change a tag outside ``locked``; default: any.
        The engine passes the allow-list (:mod:`cztflow.workflows.incar_policy`), so a
        handler can tune ALGO or POTIM but not switch on, say, LDAU.
    """

    raises_runtime_error = True

    def __init__(self, inner: Any, locked: list[str], admits: Callable[[str], bool] | None = None) -> None:
        self.inner = inner
        self.locked = list(locked)
        self.admits = admits
        self.is_monitor = getattr(inner, "is_monitor", False)
        self.is_terminating = getattr(inner, "is_terminating", True)
        self.max_num_corrections = getattr(inner, "max_num_corrections", None)
        self.raise_on_max = getattr(inner, "raise_on_max", False)
        self.n_applied_corrections = 0

    def __repr__(self) -> str:
        return f"LockedHandler({type(self.inner).__name__})"

    def as_dict(self) -> dict[str, Any]:
        """custodian logs handlers by their dict form."""
        return {"@class": "LockedHandler", "handler": type(self.inner).__name__, "locked": self.locked}

    def check(self, directory: str = "./") -> bool:
        """Delegate to the wrapped handler."""
        return bool(self.inner.check(directory=directory))

    def _read(self, folder: Path) -> tuple[dict[str, Any], dict[str, str]]:
        texts = {
            n: (folder / n).read_text(encoding="utf-8")
            for n in ("INCAR", "KPOINTS")
            if (folder / n).is_file()
        }
        return incar_values(folder), texts

    def correct(self, directory: str = "./") -> dict[str, Any]:
        """Let the wrapped handler correct, then undo and refuse if it touched the lock."""
        folder = Path(directory)
        before, texts = self._read(folder)
        result = self.inner.correct(directory=directory)
        after, new_texts = self._read(folder)
        changed = [
            (tag, before.get(tag), after.get(tag))
            for tag in self.locked
            if not (before.get(tag) is None and after.get(tag) is None)
            and (
                before.get(tag) is None
                or after.get(tag) is None
                or not same_value(tag, before[tag], after[tag])
            )
        ]
        if self.admits is not None:
            changed += [
                (tag, before.get(tag), value)
                for tag, value in after.items()
                if tag not in self.locked
                and not self.admits(tag)
                and (tag not in before or not same_value(tag, before[tag], value))
            ]
        if texts.get("KPOINTS") != new_texts.get("KPOINTS"):
            changed.append(("KPOINTS", "the written k-point mesh", "a different KPOINTS file"))
        entry = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "handler": type(self.inner).__name__,
            "errors": list(result.get("errors") or []),
            "actions": result.get("actions"),
        }
        if changed:
            for name, text in texts.items():  # put the protocol's inputs back
                write_atomic(folder / name, text)
            entry["refused"] = [{"tag": t, "protocol": a, "correction": b} for t, a, b in changed]
            entry["actions"] = None
            _append_correction(folder, entry)
            tags = ", ".join(f"{t} {a!r} -> {b!r}" for t, a, b in changed)
            return {
                "errors": [
                    *entry["errors"],
                    f"refused: the correction would change locked or refused {tags}",
                ],
                "actions": None,
            }
        _append_correction(folder, entry)
        return result


def default_handlers(neb: bool, walltime: float | None, output: str) -> list[Any]:
    """custodian's usual VASP handlers (NEB runs get the ones that read per-image output)."""
    from custodian.vasp.handlers import (
        FrozenJobErrorHandler,
        MeshSymmetryErrorHandler,
        NonConvergingErrorHandler,
        PositiveEnergyErrorHandler,
        PotimErrorHandler,
        UnconvergedErrorHandler,
        VaspErrorHandler,
        WalltimeHandler,
    )

    handlers: list[Any] = [
        VaspErrorHandler(output_filename=output),
        FrozenJobErrorHandler(output_filename=output),
    ]
    if not neb:
        handlers += [
            MeshSymmetryErrorHandler(output_filename=output),
            UnconvergedErrorHandler(),
            NonConvergingErrorHandler(),
            PotimErrorHandler(),
            PositiveEnergyErrorHandler(),
        ]
    if walltime:
        handlers.append(WalltimeHandler(wall_time=int(walltime)))
    return handlers


class VaspEngine(Engine):
    """VASP run by custodian with the protocol lock on corrections."""

    name = "vasp"
    kinds = ("relax", "static", "workfunction", "chgdiff", "bands", "dos", "neb")

    def check(self, task: NodeTask) -> None:
        super().check(task)
        self.config.vasp_command(kind=task.kind)  # a missing command fails before anything runs
        problems = free_settings_problems(self.config.vasp.get("incar") or {}, task.protocol)
        if problems:
            raise EngineError(f"{self.config.source}: vasp.incar: {problems[0]}")
        if task.kind == "neb":
            images = int(incar_values(task.folder).get("IMAGES") or task.protocol.neb_images)
            problem = neb_ranks_problem(self.config.resources("neb")["ranks"], images)
            if problem:
                raise EngineError(f"{self.config.source}: resources.neb.ranks: {problem}")

    def settings(self, task: NodeTask) -> dict[str, Any]:
        try:
            custodian_version = version("custodian")
        except PackageNotFoundError:
            custodian_version = "not installed"
        return {
            "engine": "vasp",
            "custodian": custodian_version,
            "command": self.config.vasp_command(kind=task.kind),
            "resources": self.config.resources(task.kind),
            "machine_incar": dict(self.config.vasp.get("incar") or {}),
            "max_errors": int(self.config.vasp["max_errors"]),
        }

    def run(self, task: NodeTask) -> dict[str, Any]:
        from custodian import Custodian
        from custodian.custodian import CustodianError
        from custodian.vasp.jobs import VaspJob, VaspNEBJob
        from custodian.vasp.validators import VasprunXMLValidator

        folder = task.folder
        self._machine_tags(folder)
        neb = task.kind == "neb"
        resumed = resume(folder, task.resume_from, neb) if task.resume_from is not None else None
        command = self.config.vasp_command(kind=task.kind)
        gamma = self.config.vasp.get("gamma_command")
        if neb:
            job: Any = VaspNEBJob(command, auto_npar=False, final=True, backup=True, gamma_vasp_cmd=None)
            output = "neb_vasp.out"
        else:
            job = VaspJob(
                command,
                auto_npar=False,
                final=True,
                backup=True,
                auto_gamma=bool(gamma),
                gamma_vasp_cmd=self.config.vasp_command(gamma=True, kind=task.kind) if gamma else None,
            )
            output = "vasp.out"
        calc = task.node.get("calc") or task.kind
        locked = [*task.protocol.locked_vasp_tags(calc)]
        handlers = [
            LockedHandler(h, locked, lambda tag: classify(tag, task.protocol, calc) != "refused")
            for h in default_handlers(neb, self.config.vasp.get("walltime_seconds"), output)
        ]
        poll = float(self.config.vasp["polling_seconds"])
        runner = Custodian(
            handlers,
            [job],
            validators=[] if neb else [VasprunXMLValidator()],
            max_errors=int(self.config.vasp["max_errors"]),
            polling_time_step=poll,
            monitor_freq=max(1, int(3 * poll)),
            directory=str(folder),
        )
        try:
            runner.run()
        except CustodianError as exc:
            log = folder / CORRECTIONS_FILE
            entries = json.loads(log.read_text(encoding="utf-8")) if log.is_file() else []
            refused = [e for e in entries if e.get("refused")]
            if refused:
                tags = ", ".join(
                    f"{r['tag']} {r['protocol']!r} -> {r['correction']!r}" for r in refused[-1]["refused"]
                )
                raise EngineError(
                    f"{folder}: {refused[-1]['handler']} wanted to fix {', '.join(refused[-1]['errors'])} by "
                    f"changing locked or refused {tags}; refused by the protocol lock; see {CORRECTIONS_FILE}"
                ) from None
            raise EngineError(f"{folder}: custodian stopped: {exc}; see {CORRECTIONS_FILE}") from None
        log = folder / CORRECTIONS_FILE
        corrections = json.loads(log.read_text(encoding="utf-8")) if log.is_file() else []
        summary = {**vasp_summary(folder, neb), "corrections": len(corrections)}
        if resumed is not None:
            summary["resumed"] = resumed
            here = (
                _ionic_steps(folder)
                if not neb
                else max((_ionic_steps(p) for p in _images(folder)), default=0)
            )
            summary["ionic_steps_total"] = resumed["steps_before"] + here
        return summary

    def _machine_tags(self, folder: Path) -> None:
        """Append the configuration's machine tags (NCORE, KPAR, …) to the INCAR once."""
        tags = dict(self.config.vasp.get("incar") or {})
        if not tags:
            return
        incar = folder / "INCAR"
        present = incar_values(folder)
        extra = [f"{canonical(k)} = {v}" for k, v in tags.items() if canonical(k) not in present]
        if extra:
            text = incar.read_text(encoding="utf-8").rstrip("\n")
            write_atomic(
                incar,
                text
                + "\n# machine settings from "
                + str(self.config.source)
                + "\n"
                + "\n".join(extra)
                + "\n",
            )
