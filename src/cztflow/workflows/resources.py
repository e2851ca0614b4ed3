"""Job resources per node kind: MPI ranks, cores, walltime and queue, from the machine configuration.

A 5-image CI-NEB needs a rank count divisible by IMAGES, a relaxation of 400 atoms wants
many nodes for a day, and a CHGNet relaxation needs one core for minutes: one rank count for
every node fits none of them.  The configuration's ``resources:`` section sets each kind:

.. code-block:: yaml

    resources:
      default: {ranks: 128, cores: 128, walltime_seconds: 86400}
      neb:     {ranks: 130, cores: 130, walltime_seconds: 172800}   # 26 ranks per image
      bands:   {ranks: 64, cores: 64, walltime_seconds: 7200}
      mlip:    {ranks: 1, cores: 1, walltime_seconds: 3600}

Every key is optional.  A kind falls back to ``default``, which falls back to
``vasp.ranks`` and ``vasp.walltime_seconds``; the open engines (``mlip``, ``gpaw``) fall
back to one rank.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["RESOURCE_KEYS", "RESOURCE_KINDS", "neb_ranks_problem", "parse_resources", "resolve"]

#: Node kinds that may have their own resources (``mlip``/``gpaw``: nodes run by the open engines).
RESOURCE_KINDS = (
    "default",
    "relax",
    "static",
    "workfunction",
    "chgdiff",
    "bands",
    "dos",
    "neb",
    "mlip",
    "gpaw",
)

#: Keys of one kind's resources and their meaning.
RESOURCE_KEYS = {
    "ranks": "MPI ranks of the VASP command ({ranks} in vasp.command)",
    "cores": "cores the job asks the scheduler for (ntasks)",
    "nodes": "compute nodes the job asks for",
    "walltime_seconds": "the job's walltime; custodian stops VASP cleanly before it",
    "queue": "the scheduler's partition or queue",
}

_OPEN_ENGINES = ("mlip", "gpaw")


def parse_resources(raw: Any, source: str) -> dict[str, dict[str, Any]]:
    """Check a configuration's ``resources:`` section.

    Raises
    ------
    ValueError
        Naming ``source`` and the key: an unknown kind or key, a count that is not a
        positive integer, a queue that is not a name.
    """
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"{source}: resources must map node kinds ({', '.join(RESOURCE_KINDS)}) to settings")
    out: dict[str, dict[str, Any]] = {}
    for kind, values in raw.items():
        if kind not in RESOURCE_KINDS:
            raise ValueError(
                f"{source}: resources.{kind}: unknown node kind; known: {', '.join(RESOURCE_KINDS)}"
            )
        if not isinstance(values, Mapping):
            raise ValueError(f"{source}: resources.{kind} must be a mapping of {', '.join(RESOURCE_KEYS)}")
        for key, value in values.items():
            where = f"{source}: resources.{kind}.{key}"
            if key not in RESOURCE_KEYS:
                raise ValueError(f"{where}: unknown key; known: {', '.join(RESOURCE_KEYS)}")
            if key == "queue":
                if not isinstance(value, str):
                    raise ValueError(f"{where} = {value!r}: expected a queue name")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{where} = {value!r}: expected a positive whole number")
        out[str(kind)] = dict(values)
    return out


def resolve(table: Mapping[str, Mapping[str, Any]], kind: str, vasp: Mapping[str, Any]) -> dict[str, Any]:
    """The resources of node kind ``kind``: its own, then ``default``, then the VASP section.

    ``kind`` is a campaign kind (relax, neb, ...) or an open engine (mlip, gpaw).  The
    result always has ``ranks``, ``cores`` and ``nodes`` (``ranks`` may be ``None`` when
    nothing sets it) and ``walltime_seconds`` and ``queue`` (possibly ``None``).
    """
    if kind not in RESOURCE_KINDS:
        raise KeyError(f"unknown node kind {kind!r}; known: {', '.join(RESOURCE_KINDS)}")
    if kind in _OPEN_ENGINES:
        base: dict[str, Any] = {"ranks": 1, "cores": 1, "nodes": 1, "walltime_seconds": None, "queue": None}
    else:
        base = {
            "ranks": vasp.get("ranks"),
            "cores": None,
            "nodes": 1,
            "walltime_seconds": vasp.get("walltime_seconds"),
            "queue": None,
        }
        base.update(table.get("default", {}))
    base.update(table.get(kind, {}))
    if base["cores"] is None:
        base["cores"] = base["ranks"] or 1
    return base


def neb_ranks_problem(ranks: int | None, images: int) -> str | None:
    """Why ``ranks`` cannot run a NEB of ``images`` images (VASP splits ranks evenly over images)."""
    if ranks is None or ranks % images == 0:
        return None
    lower, upper = (ranks // images) * images, (ranks // images + 1) * images
    near = f"{lower} or {upper}" if lower else str(upper)
    return f"{ranks} ranks do not divide over IMAGES = {images}; use a multiple of {images}, e.g. {near}"
