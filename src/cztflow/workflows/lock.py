"""The protocol lock: locked tags change only through a declared deviation with a reason.

The lock covers the INCAR tags of the paper's stated settings (ENCUT, GGA, ISMEAR,
SIGMA, EDIFF, EDIFFG, IVDW, IMAGES, LCLIMB) plus the locked decisions (PREC, LASPH), and
the surface k-mesh under the pseudo-tag ``KPOINTS``.  Which other tags an INCAR may hold
is the allow-list of :mod:`cztflow.workflows.incar_policy`; a deviation may also admit a
tag that list refuses (e.g. ``LDAU``), with its value and a reason.  One decision can be declared off too:
``ISPIN = 1`` runs a cell that has initial moments without spin polarisation, where a
measurement has shown the spin does not matter for what the node computes.  Input sets, the campaign writer,
the validator and (later) the error handlers all ask this module, so there is one rule.
It imports nothing heavy: the validator uses it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "KPOINTS_TAG",
    "SPIN_TAG",
    "Deviation",
    "ProtocolLockError",
    "deviation_for",
    "lock_violations",
    "normalise",
    "parse_deviations",
    "same_value",
    "show_value",
]

#: Pseudo-tag under which a deviation from the protocol's surface k-mesh is declared.
KPOINTS_TAG = "KPOINTS"

#: The one protocol decision a deviation may change: ``ISPIN = 1`` for cells with initial moments.
SPIN_TAG = "ISPIN"

#: Tags whose value VASP reads by its first letter only.
_FIRST_LETTER = {"PREC", "ALGO"}


class ProtocolLockError(ValueError):
    """A locked tag was changed without a declared deviation."""


@dataclass(frozen=True)
class Deviation:
    """A declared, reasoned departure from a locked protocol value.

    Attributes
    ----------
    tag
        INCAR tag, or ``"KPOINTS"`` for the surface k-mesh (value ``[n1, n2, n3]``).
    value
        The value used instead of the protocol's.
    reason
        Why; stamped into the INCAR header and ``campaign.json``.
    nodes
        Glob patterns of the campaign nodes it applies to (default: all).
    """

    tag: str
    value: Any
    reason: str
    nodes: tuple[str, ...] = field(default=("*",))

    def applies_to(self, node: str) -> bool:
        """Whether this deviation covers campaign node ``node``."""
        return any(fnmatch.fnmatchcase(node, pattern) for pattern in self.nodes)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, as written to ``campaign.json``."""
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"tag": self.tag, "value": value, "reason": self.reason, "nodes": list(self.nodes)}

    def header_line(self) -> str:
        """The INCAR header comment that records this deviation."""
        return f"# deviation: {self.tag} = {show_value(self.value)} ({self.reason})"


def show_value(value: Any) -> str:
    """An INCAR value as VASP writes it: lists space-separated, logicals as .TRUE./.FALSE."""
    if isinstance(value, list | tuple):
        return " ".join(show_value(v) for v in value)
    if isinstance(value, bool):
        return ".TRUE." if value else ".FALSE."
    return str(value)


def parse_deviations(raw: Any, source: str, allowed: Collection[str] | None = None) -> tuple[Deviation, ...]:
    """Read the ``deviations:`` list of a campaign spec.

    Parameters
    ----------
    raw
        The spec's ``deviations`` entry (``None`` for none).
    source
        The spec file, named in errors.
    allowed
        The tags a deviation may name (:func:`cztflow.workflows.incar_policy.deviable_tags`);
        ``None`` accepts any.

    Raises
    ------
    ValueError
        Naming ``source`` and the entry, if an entry is not a mapping, lacks ``tag``,
        ``value`` or a ``reason`` of at least 10 characters, has unknown keys, names a tag
        outside ``allowed``, sets ISPIN to anything but 1, or repeats a tag for overlapping
        nodes.
    """
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{source}: 'deviations' must be a list, found {type(raw).__name__}")
    out: list[Deviation] = []
    for i, entry in enumerate(raw):
        where = f"{source}: deviations[{i}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: expected a mapping with tag, value and reason")
        unknown = sorted(set(entry) - {"tag", "value", "reason", "nodes"})
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; use tag, value, reason, nodes")
        for key in ("tag", "value"):
            if key not in entry:
                raise ValueError(f"{where}: missing {key!r}")
        if not isinstance(entry["tag"], str):
            raise ValueError(f"{where}: tag: expected an INCAR tag name, found {entry['tag']!r}")
        reason = entry.get("reason")
        if not isinstance(reason, str) or len(reason.strip()) < 10:
            raise ValueError(
                f"{where}: a deviation from the protocol needs a reason (10+ characters of text)"
            )
        reason = reason.strip()
        nodes = entry.get("nodes", ["*"])
        if not isinstance(nodes, str) and not (
            isinstance(nodes, list) and all(isinstance(n, str) for n in nodes)
        ):
            raise ValueError(f"{where}: nodes: expected a glob pattern or a list of them, found {nodes!r}")
        nodes = (nodes,) if isinstance(nodes, str) else tuple(str(n) for n in nodes)
        value = entry["value"]
        value = tuple(value) if isinstance(value, list) else value
        dev = Deviation(str(entry["tag"]).upper(), value, reason, nodes)
        if allowed is not None and dev.tag not in allowed:
            raise ValueError(
                f"{where}: {dev.tag} cannot be declared as a deviation: it is a free tag (set it "
                "under 'incar:'), a tag the protocol sets per cell (MAGMOM, LREAL, the dipole, the "
                "FFT grid), or not a VASP/VTST tag"
            )
        if dev.tag == SPIN_TAG and not same_value(SPIN_TAG, value, 1):
            raise ValueError(
                f"{where}: an ISPIN deviation can only be 1 (no spin polarisation for cells with "
                f"initial moments), found {value!r}"
            )
        for other in out:
            if other.tag == dev.tag and (set(other.nodes) & set(dev.nodes) or "*" in other.nodes + dev.nodes):
                raise ValueError(f"{where}: {dev.tag} is already declared by an earlier deviation")
        out.append(dev)
    return tuple(out)


def deviation_for(tag: str, node: str, deviations: Iterable[Deviation]) -> Deviation | None:
    """The declared deviation of ``tag`` that covers ``node``, if any."""
    for dev in deviations:
        if dev.tag == tag.upper() and dev.applies_to(node):
            return dev
    return None


def normalise(tag: str, value: Any) -> Any:
    """A comparable form of an INCAR value: booleans, floats, lower-case strings, tuples."""
    if isinstance(value, list | tuple):
        return tuple(normalise(tag, v) for v in value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    low = text.lower().strip(".")
    if low in {"true", "t"}:
        return True
    if low in {"false", "f"}:
        return False
    try:
        return float(text.lower().replace("d", "e"))
    except ValueError:
        pass
    if tag.upper() in _FIRST_LETTER:
        return low[:1]
    return low


def same_value(tag: str, a: Any, b: Any) -> bool:
    """Whether two INCAR values mean the same (``1e-6`` = ``1E-06``, ``.TRUE.`` = ``True``)."""
    x, y = normalise(tag, a), normalise(tag, b)
    if isinstance(x, float) and isinstance(y, float):
        return abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))
    if isinstance(x, tuple) and isinstance(y, tuple):
        return len(x) == len(y) and all(same_value(tag, u, v) for u, v in zip(x, y, strict=True))
    return x == y


def lock_violations(
    incar: Mapping[str, Any],
    locked: Mapping[str, Any],
    node: str = "",
    deviations: Sequence[Deviation] = (),
) -> list[tuple[str, Any, Any]]:
    """Locked tags whose value in ``incar`` is neither the protocol's nor a declared deviation.

    Returns
    -------
    list of (tag, expected, found)
        ``found`` is ``None`` for a missing tag; ``expected`` is the deviation's value
        where one is declared for ``node``.
    """
    out = []
    for tag, want in locked.items():
        dev = deviation_for(tag, node, deviations)
        expected = dev.value if dev else want
        found = incar.get(tag)
        if found is None or not same_value(tag, expected, found):
            out.append((tag, expected, found))
    return out
