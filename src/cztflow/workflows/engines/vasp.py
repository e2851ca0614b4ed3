"""VASP under custodian, with the protocol lock enforced on every correction.

custodian's handlers fix common VASP failures by editing INCAR, KPOINTS or POSCAR and
restarting.  Here each handler is wrapped in :class:`LockedHandler`: after a correction
it compares INCAR and KPOINTS with what they were, and if a locked tag (ENCUT, ISMEAR,
SIGMA, EDIFF, EDIFFG, IVDW, PREC, LASPH, GGA, IMAGES, LCLIMB) or the k-point mesh changed,
it puts the files back and stops the job with a report instead of silently changing the
physics.  Every correction, applied or refused, is appended to ``corrections.json`` in the
calculation folder; custodian's own log is ``custodian.json``.

The VASP command and the MPI ranks come from the machine configuration
(:mod:`cztflow.workflows.config`), never from code; so do machine INCAR tags (NCORE, KPAR).
"""

from __future__ import annotations

import json
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

__all__ = ["CORRECTIONS_FILE", "LockedHandler", "VaspEngine", "default_handlers"]

CORRECTIONS_FILE = "corrections.json"


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
        return {**vasp_summary(folder, neb), "corrections": len(corrections)}

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
