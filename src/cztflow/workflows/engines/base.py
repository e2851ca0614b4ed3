"""The executor interface: one :class:`Engine` runs one campaign node (:class:`NodeTask`)."""

from __future__ import annotations

import abc
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cztflow.protocol import Protocol
from cztflow.workflows.config import RunConfig

__all__ = [
    "ENGINE_EXTRAS",
    "ENGINE_NAMES",
    "Engine",
    "EngineError",
    "NodeTask",
    "make_engine",
    "missing_extra",
    "require_engine",
]

#: Engines cztflow knows, in the order the docs list them.
ENGINE_NAMES = ("chgnet", "sevenn", "gpaw", "vasp")

#: The open engines are extras: engine -> (its name in messages, the extra, the modules it
#: imports).  VASP needs only the core dependencies (custodian, pymatgen).
ENGINE_EXTRAS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "chgnet": ("CHGNet", "mlip", ("torch", "chgnet", "dftd3")),
    "sevenn": ("SevenNet", "sevenn", ("torch", "sevenn", "dftd3")),
    "gpaw": ("GPAW", "gpaw", ("gpaw", "dftd3")),
}


class EngineError(RuntimeError):
    """An engine could not run a node; the message names the folder and the cause."""


@dataclass
class NodeTask:
    """What an engine needs to run one node.

    Attributes
    ----------
    root
        The campaign folder (holds ``campaign.json``).
    node
        The node's record from ``campaign.json`` (id, kind, calc, deps, seed, ...).
    protocol
        The protocol the campaign was written with.
    config
        Machine settings (VASP command, ranks, engine options).
    workdir
        Run here instead of the node's folder (a pre-relaxation).
    resume_from
        The archived outputs of this node's interrupted attempt (``attempts/NN``): the ASE
        engines continue from the last complete step of its trajectory.
    """

    root: Path
    node: dict[str, Any]
    protocol: Protocol
    config: RunConfig
    workdir: Path | None = None
    resume_from: Path | None = None

    @property
    def folder(self) -> Path:
        """Where the engine runs: the node's folder, or ``workdir`` (a pre-relaxation)."""
        return self.workdir or self.root / self.node["folder"]

    @property
    def kind(self) -> str:
        """Node kind: relax, static, workfunction, chgdiff, bands, dos or neb."""
        return str(self.node["kind"])

    def parent_folder(self, role: str = "from") -> Path:
        """Folder of the parent named by ``seed[role]`` (``from``, ``initial`` or ``final``)."""
        parent = (self.node.get("seed") or {}).get(role)
        if not parent:
            raise EngineError(f"{self.folder}: node {self.node['id']} has no '{role}' parent in its seed")
        return self.root / parent


class Engine(abc.ABC):
    """Runs nodes of the kinds in :attr:`kinds` and describes its settings."""

    name: str = ""
    kinds: tuple[str, ...] = ()

    def __init__(self, config: RunConfig) -> None:
        self.config = config

    def check(self, task: NodeTask) -> None:
        """Raise :class:`EngineError` if this engine cannot run ``task`` (before anything runs)."""
        if task.kind not in self.kinds:
            raise EngineError(
                f"{task.folder}: engine {self.name} cannot run {task.kind} nodes ({task.node['id']}); "
                f"it runs {', '.join(self.kinds)}. Choose another with --engine {task.kind}=ENGINE"
            )

    @abc.abstractmethod
    def settings(self, task: NodeTask) -> dict[str, Any]:
        """The engine, its version and every setting that changes the result, for the record."""

    @abc.abstractmethod
    def run(self, task: NodeTask) -> dict[str, Any]:
        """Run ``task`` in its folder; return a short summary (energy, steps, converged)."""


def _importable(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (torch takes seconds)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_extra(name: str) -> str | None:
    """The one-line error for an engine whose optional packages are not installed.

    Parameters
    ----------
    name
        An engine name (:data:`ENGINE_NAMES`).

    Returns
    -------
    str or None
        For example ``"the CHGNet engine needs the 'mlip' extra (chgnet, dftd3 missing): pip
        install 'cztflow[mlip]'"``; None when every package is there, or for VASP.
    """
    if name not in ENGINE_EXTRAS:
        return None
    label, extra, modules = ENGINE_EXTRAS[name]
    missing = [m for m in modules if not _importable(m)]
    if not missing:
        return None
    return (
        f"the {label} engine needs the '{extra}' extra ({', '.join(missing)} missing): "
        f"pip install 'cztflow[{extra}]'"
    )


def require_engine(name: str) -> None:
    """Stop with the one-line 'install the extra' error if engine ``name`` cannot be imported.

    Raises
    ------
    EngineError
        The message of :func:`missing_extra`.
    """
    problem = missing_extra(name)
    if problem:
        raise EngineError(problem)


def make_engine(name: str, config: RunConfig) -> Engine:
    """The engine called ``name``.

    Raises
    ------
    EngineError
        For an unknown name (the message lists the known ones), or an engine whose
        package is not installed (the message says what to install).
    """
    if name not in ENGINE_NAMES:
        raise EngineError(f"unknown engine {name!r}; cztflow knows {', '.join(ENGINE_NAMES)}")
    require_engine(name)
    if name in ("chgnet", "sevenn"):
        from cztflow.workflows.engines.mlip import MlipEngine

        return MlipEngine(name, config)
    if name == "gpaw":
        from cztflow.workflows.engines.gpaw_engine import GpawEngine

        return GpawEngine(config)
    from cztflow.workflows.engines.vasp import VaspEngine

    return VaspEngine(config)
