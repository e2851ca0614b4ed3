"""Machine configuration for running a campaign: the VASP command, MPI ranks, engine options.

Physics lives in the protocol; this file holds only what depends on the machine.  A campaign
spec's ``engine_options`` (its ``gpaw``/``mlip`` choices that go with its cells, e.g. which
cells GPAW runs in LCAO) are stored in ``campaign.json`` and laid over this configuration when
that campaign runs.  It is
read from the first of: the ``path`` given, ``$CZTFLOW_CONFIG``, ``<campaign>/cztflow.yaml``,
``~/.config/cztflow/config.yaml``.  Every key is optional; an unknown key is an error that
names the file, so a typo never silently falls back to a default.

.. code-block:: yaml

    vasp:
      command: "srun -n {ranks} vasp_std"   # {ranks}: the node kind's ranks (resources:)
      gamma_command: "srun -n {ranks} vasp_gam"
      ranks: 128
      max_errors: 5                  # custodian corrections per job before giving up
      walltime_seconds: 172800       # adds custodian's WalltimeHandler
      polling_seconds: 10            # how often custodian's monitors look
      incar: {NCORE: 16, KPAR: 2}    # free tags only (incar_policy.FREE_TAGS)
    gpaw:
      lcao_above_atoms: 40           # larger cells use LCAO (dzp) instead of plane waves
      basis: dzp
      grid_spacing: 0.18             # Å, real-space grid of the density and potential
    mlip:
      device: cpu
      optimizer: BFGS                # ASE optimiser of the relaxations run by MLIPs and GPAW
      neb_optimizer: FIRE            # ASE optimiser of their CI-NEB bands
    resources:                       # per node kind (cztflow.workflows.resources)
      default: {ranks: 128, cores: 128, walltime_seconds: 86400}
      neb: {ranks: 130, cores: 130}  # a multiple of IMAGES = 5
      mlip: {ranks: 1, cores: 1, walltime_seconds: 3600}
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cztflow.workflows.incar_policy import free_settings_problems
from cztflow.workflows.resources import parse_resources, resolve

__all__ = ["ConfigError", "RunConfig", "load_config", "parse_engine_options", "with_engine_options"]

#: Sections a campaign spec may set under ``engine_options`` (the VASP section is the machine's).
_SPEC_SECTIONS = ("gpaw", "mlip")

_DEFAULTS: dict[str, dict[str, Any]] = {
    "vasp": {
        "command": None,
        "gamma_command": None,
        "ranks": None,
        "max_errors": 5,
        "walltime_seconds": None,
        "polling_seconds": 10,
        "incar": {},
    },
    "gpaw": {"lcao_above_atoms": 40, "basis": "dzp", "grid_spacing": 0.18},
    "mlip": {"device": "cpu", "optimizer": "BFGS", "neb_optimizer": "FIRE"},
}


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and key."""


@dataclass
class RunConfig:
    """Machine settings, with where they came from."""

    vasp: dict[str, Any] = field(default_factory=lambda: dict(_DEFAULTS["vasp"]))
    gpaw: dict[str, Any] = field(default_factory=lambda: dict(_DEFAULTS["gpaw"]))
    mlip: dict[str, Any] = field(default_factory=lambda: dict(_DEFAULTS["mlip"]))
    source: Path | None = None
    resource_table: dict[str, dict[str, Any]] = field(default_factory=dict)

    def resources(self, kind: str) -> dict[str, Any]:
        """Ranks, cores, nodes, walltime and queue of node kind ``kind`` (see :mod:`.resources`)."""
        return resolve(self.resource_table, kind, self.vasp)

    def vasp_command(self, gamma: bool = False, kind: str = "default") -> list[str]:
        """The VASP command as an argument list, ``{ranks}`` filled in with the kind's ranks.

        Raises
        ------
        ConfigError
            If no command is configured (the message says where to put one).
        """
        raw = (self.vasp.get("gamma_command") if gamma else None) or self.vasp.get("command")
        if not raw:
            where = self.source or "~/.config/cztflow/config.yaml (or $CZTFLOW_CONFIG)"
            raise ConfigError(
                f"{where}: no VASP command configured; set vasp.command, e.g. "
                "'srun -n {ranks} vasp_std', and vasp.ranks"
            )
        words = shlex.split(raw) if isinstance(raw, str) else [str(w) for w in raw]
        if any("{ranks}" in w for w in words):
            ranks = self.resources(kind)["ranks"]
            if not ranks:
                where = "resources.default" if kind == "default" else f"resources.{kind} or resources.default"
                raise ConfigError(
                    f"{self.source}: vasp.command uses {{ranks}} but vasp.ranks is not set "
                    f"(nor ranks in {where})"
                )
            words = [w.replace("{ranks}", str(int(ranks))) for w in words]
        return words


def _candidates(path: str | Path | None, campaign: Path | None) -> list[Path]:
    if path is not None:
        return [Path(path)]
    out = []
    if os.environ.get("CZTFLOW_CONFIG"):
        out.append(Path(os.environ["CZTFLOW_CONFIG"]))
    if campaign is not None:
        out.append(campaign / "cztflow.yaml")
    out.append(Path.home() / ".config" / "cztflow" / "config.yaml")
    return out


def load_config(path: str | Path | None = None, campaign: str | Path | None = None) -> RunConfig:
    """Read the machine configuration (see the module docstring for where it is looked for).

    Raises
    ------
    ConfigError
        For an explicit path that does not exist, unreadable YAML, or an unknown section or key.
    """
    if path is not None and not Path(path).is_file():
        raise ConfigError(f"{path}: no such configuration file")
    for candidate in _candidates(path, Path(campaign) if campaign else None):
        if candidate.is_file():
            break
    else:
        return RunConfig()
    try:
        raw = yaml.safe_load(candidate.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{candidate}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{candidate}: expected sections vasp/gpaw/mlip at top level")
    config = RunConfig(source=candidate)
    try:
        config.resource_table = parse_resources(raw.pop("resources", None), str(candidate))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    for section, values in raw.items():
        if section not in _DEFAULTS:
            known = ", ".join([*_DEFAULTS, "resources"])
            raise ConfigError(f"{candidate}: unknown section {section!r}; known: {known}")
        if not isinstance(values, dict):
            raise ConfigError(f"{candidate}: section {section!r} must be a mapping")
        unknown = sorted(set(values) - set(_DEFAULTS[section]))
        if unknown:
            known = ", ".join(_DEFAULTS[section])
            raise ConfigError(f"{candidate}: unknown key(s) {section}.{', '.join(unknown)}; known: {known}")
        for key, value in values.items():
            problem = _type_problem(section, key, value)
            if problem:
                raise ConfigError(f"{candidate}: {section}.{key} = {value!r}: {problem}")
        getattr(config, section).update(values)
    _check_machine_incar(config.vasp.get("incar"), candidate)
    return config


def _check_machine_incar(tags: Any, source: Path) -> None:
    """``vasp.incar`` holds free tags only, matched as VASP reads names (``images`` is IMAGES)."""
    if tags is None:
        return
    if not isinstance(tags, dict):
        raise ConfigError(f"{source}: vasp.incar must map INCAR tags to values, e.g. {{NCORE: 16}}")
    problems = free_settings_problems(tags)
    if problems:
        raise ConfigError(f"{source}: vasp.incar: {problems[0]}")


def parse_engine_options(raw: Any, source: str) -> dict[str, dict[str, Any]]:
    """Check a campaign spec's ``engine_options`` (open-engine choices that go with its cells).

    A spec may set the ``gpaw`` and ``mlip`` keys of this configuration, e.g. which cells
    GPAW runs in LCAO.  They are stored in ``campaign.json``, recorded with every result,
    and override the machine configuration for that campaign's nodes.

    Raises
    ------
    ValueError
        Naming ``source``, for a section other than gpaw/mlip or an unknown key.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: 'engine_options' must map gpaw/mlip to settings")
    out: dict[str, dict[str, Any]] = {}
    for section, values in raw.items():
        if section not in _SPEC_SECTIONS:
            raise ValueError(
                f"{source}: engine_options.{section}: a spec may set {', '.join(_SPEC_SECTIONS)} "
                "(the VASP command and ranks belong to the machine configuration)"
            )
        if not isinstance(values, dict):
            raise ValueError(f"{source}: engine_options.{section} must be a mapping")
        unknown = sorted(set(values) - set(_DEFAULTS[section]))
        if unknown:
            known = ", ".join(_DEFAULTS[section])
            raise ValueError(
                f"{source}: unknown key(s) engine_options.{section}.{', '.join(unknown)}; known: {known}"
            )
        for key, value in values.items():
            problem = _type_problem(section, key, value)
            if problem:
                raise ValueError(f"{source}: engine_options.{section}.{key} = {value!r}: {problem}")
        out[section] = dict(values)
    return out


#: Keys whose default is None that take a positive whole number when set.
_WHOLE_NUMBERS = {("vasp", "ranks"), ("vasp", "walltime_seconds")}


def _type_problem(section: str, key: str, value: Any) -> str | None:
    """Why ``value`` cannot be ``section.key`` (its default's type sets the expected one)."""
    default = _DEFAULTS[section].get(key)
    if (section, key) in _WHOLE_NUMBERS:
        ok = value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1)
        return None if ok else "expected a positive whole number"
    if key in ("command", "gamma_command"):
        ok = (
            value is None
            or isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(w, str) for w in value))
        )
        return None if ok else "expected a command line or a list of its words"
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "expected true or false"
    if isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "expected a number"
        return None if value > 0 else "must be positive"
    if isinstance(default, str):
        return None if isinstance(value, str) else "expected a string"
    return None


def with_engine_options(config: RunConfig, options: dict[str, dict[str, Any]]) -> RunConfig:
    """A copy of ``config`` with a campaign's ``engine_options`` laid over it."""
    merged = RunConfig(
        vasp=dict(config.vasp),
        gpaw=dict(config.gpaw),
        mlip=dict(config.mlip),
        source=config.source,
        resource_table={k: dict(v) for k, v in config.resource_table.items()},
    )
    for section, values in options.items():
        getattr(merged, section).update(values)
    return merged
