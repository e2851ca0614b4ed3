"""What may appear in an INCAR: one allow-list shared by the writer, the validator and the runner.

Every INCAR tag falls in exactly one class for a given calculation kind:

``locked``
    The paper's stated settings and the locked decisions (ENCUT, GGA, PREC, ...;
    :meth:`cztflow.protocol.Protocol.locked_vasp_tags`).  They change only through a
    declared deviation.
``derived``
    Tags the protocol computes for this kind and cell: the kind's own tags
    (``calculations:`` in the protocol, e.g. IBRION, ISIF, NSW), the spin, LREAL and
    dipole decisions, the NEB optimiser, the DOS points and the pinned FFT grid of a
    charge difference.  They must carry the protocol's value.
``free``
    Machine and convergence-neutral tags (:data:`FREE_TAGS`, each with its reason):
    parallelisation, mixing, output switches.  Any value, except that a few have values
    that would change the physics (:data:`FREE_VALUES`), and that output switches a later
    node needs keep the protocol's value on the kinds that write it.
``refused``
    Everything else, including tags VASP knows and cztflow never writes (METAGGA, LDAU,
    LHFCALC, NELECT, VDW_S6, KSPACING, ...).  Allowed only when a declared deviation
    names the tag and its value.

This is an allow-list: a tag nobody thought of is refused, not accepted.  Tag names are
matched as VASP matches them: case-insensitively, with surrounding blanks ignored, and
with VASP's alternative names mapped to one tag (:data:`SYNONYMS`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cztflow.workflows.lock import KPOINTS_TAG, SPIN_TAG, Deviation, deviation_for, normalise, same_value
from cztflow.workflows.lock import show_value as _show

if TYPE_CHECKING:
    from cztflow.protocol import Protocol

__all__ = [
    "CELL_DERIVED",
    "FREE_TAGS",
    "FREE_VALUES",
    "PINNED_FREE",
    "SYNONYMS",
    "canonical",
    "classify",
    "derived_tags",
    "deviable_tags",
    "free_settings_problems",
    "free_tag_problem",
    "policy_violations",
]

#: Alternative names VASP reads for one quantity.  ``ENMAX`` is the name under which VASP
#: itself reports the plane-wave cutoff (vasprun.xml ``<i name="ENMAX">``, OUTCAR
#: ``ENMAX  =``), so an INCAR ``ENMAX`` is checked as the cutoff.
SYNONYMS: dict[str, str] = {"ENMAX": "ENCUT"}

#: Tags the protocol derives for each cell (spin, projection, dipole): checked by the
#: validator's decision rules and never set by hand.
CELL_DERIVED = frozenset({"ISPIN", "MAGMOM", "LREAL", "LDIPOL", "IDIPOL", "DIPOL"})

#: The pinned FFT grid of a charge-difference triplet.
FFT_GRID = ("NGX", "NGY", "NGZ", "NGXF", "NGYF", "NGZF")

#: Free tags and why each leaves the result alone.
FREE_TAGS: dict[str, str] = {
    "SYSTEM": "a title for the run, printed in the outputs",
    "NCORE": "parallelisation over bands/plane waves: speed only",
    "NPAR": "parallelisation over bands (older name of the same split as NCORE): speed only",
    "KPAR": "parallelisation over k-points: speed only",
    "NSIM": "bands optimised at once in RMM-DIIS blocks: speed only",
    "LPLANE": "plane-wise data distribution: speed only",
    "LSCALU": "parallel LU decomposition: speed only",
    "LSCALAPACK": "ScaLAPACK use: speed only",
    "LSCAAWARE": "ScaLAPACK-aware distribution: speed only",
    "NBLOCK": "blocking of the Davidson/orthogonalisation steps: speed only",
    "KBLOCK": "how often averages are written (MD only): output only",
    "NWRITE": "verbosity of OUTCAR: output only",
    "LWAVE": "whether WAVECAR is written: output only",
    "LCHARG": "whether CHGCAR is written: output only (kept where a later node reads it)",
    "LVHAR": "whether LOCPOT holds the Hartree+ionic potential: output only (kept for work functions)",
    "LVTOT": "whether LOCPOT is written: output only",
    "LORBIT": "projection of the DOS: output only (kept for DOS and bands)",
    "LELF": "whether ELFCAR is written: output only",
    "LAECHG": "whether the all-electron charge files are written: output only",
    "ALGO": "electronic minimiser: the converged ground state is the same (see FREE_VALUES)",
    "NELM": "most electronic steps: a run that hits it is flagged unconverged, not changed",
    "NELMIN": "fewest electronic steps per ionic step: convergence path only",
    "NELMDL": "non-self-consistent steps at the start: convergence path only",
    "ISTART": "whether WAVECAR is read as a starting guess: convergence path only",
    "INIWAV": "random or jellium starting wavefunctions: convergence path only",
    "AMIX": "density mixing: convergence path only",
    "BMIX": "density mixing: convergence path only",
    "AMIX_MAG": "magnetisation mixing: convergence path only",
    "BMIX_MAG": "magnetisation mixing: convergence path only",
    "AMIN": "density mixing: convergence path only",
    "IMIX": "density mixer type: convergence path only",
    "INIMIX": "initial mixing matrix: convergence path only",
    "MAXMIX": "Broyden history length: convergence path only",
    "MIXPRE": "mixer preconditioning: convergence path only",
    "WC": "Broyden step weight: convergence path only",
    "TIME": "trial step of damped/RMM minimisers: convergence path only",
    "LMAXMIX": "l cutoff of mixed one-centre densities: convergence path only",
    "ISYM": "use of symmetry: same result, other k-point reduction",
    "SYMPREC": "tolerance of the symmetry search: same result",
    "NBANDS": "number of bands: VASP refuses too few; extra empty bands leave the ground state unchanged",
    "ICHARG": "how the starting density is made: convergence path only (see FREE_VALUES; 11 for bands/DOS)",
    "ISEARCH": "line search of the ALGO = All minimiser (custodian sets it for ZHEGV failures): path only",
    "POTIM": "step of the ionic optimiser: the relaxed minimum is the same (0 for the VTST NEB optimiser)",
}

#: The values of free tags that leave the physics alone (ALGO by its whole name or its
#: one-letter form, ICHARG by number); any other value is refused.
FREE_VALUES: dict[str, tuple[frozenset[Any], str]] = {
    "ALGO": (
        frozenset({"normal", "fast", "veryfast", "all", "damped", "conjugate", "n", "f", "v", "a", "d", "c"}),
        "Normal, Fast, VeryFast, All, Damped or Conjugate (other ALGOs run GW, RPA, exact "
        "exchange or no electronic update at all)",
    ),
    "ICHARG": (
        frozenset({0.0, 1.0, 2.0}),
        "0, 1 or 2 (11 and 12 freeze the density; 11 only for bands and DOS)",
    ),
}

#: Free tags that keep the protocol's value on some kinds: outputs a later node reads, and
#: POTIM = 0, which hands a NEB's ionic steps to the VTST optimiser.
PINNED_FREE: dict[str, frozenset[str]] = {
    "neb": frozenset({"POTIM"}),
    "static": frozenset({"LCHARG", "LORBIT"}),
    "chgdiff": frozenset({"LCHARG"}),
    "workfunction": frozenset({"LVHAR"}),
    "bands": frozenset({"ICHARG", "LORBIT"}),
    "dos": frozenset({"ICHARG", "LORBIT"}),
}


def canonical(tag: str) -> str:
    """The tag VASP reads: upper case, blanks stripped, synonyms mapped (``enmax`` -> ``ENCUT``)."""
    name = str(tag).strip().upper()
    return SYNONYMS.get(name, name)


def derived_tags(protocol: Protocol, calc: str) -> dict[str, Any]:
    """Tags with a single protocol value for kind ``calc`` (cell-dependent ones excluded).

    The kind's own tags, the NEB optimiser for ``neb`` and the DOS points for ``dos``.
    """
    tags = dict(protocol.calculation(calc).vasp)
    if calc == "neb":
        tags.update(protocol.decision("neb_optimiser").vasp)
    if calc == "dos":
        tags.update(protocol.decision("dos_points").vasp)
    return tags


def classify(tag: str, protocol: Protocol, calc: str) -> str:
    """``"locked"``, ``"derived"``, ``"free"`` or ``"refused"`` for ``tag`` on kind ``calc``."""
    name = canonical(tag)
    if name in protocol.locked_vasp_tags() or name in (KPOINTS_TAG,):
        return "locked"
    if name in FREE_TAGS:
        return "free"
    if name in derived_tags(protocol, calc) or name in CELL_DERIVED:
        return "derived"
    if calc == "chgdiff" and name in FFT_GRID:
        return "derived"
    return "refused"


def free_tag_problem(tag: str, value: Any) -> str | None:
    """Why ``value`` may not be given to free tag ``tag``; ``None`` when it may."""
    name = canonical(tag)
    if name not in FREE_TAGS:
        return f"{name} is not a free tag"
    if name in FREE_VALUES:
        allowed, words = FREE_VALUES[name]
        value_key = normalise(name, value)
        if name == "ALGO":  # whole names: "None" and "Normal" share a first letter
            value_key = str(value).strip().strip(".").lower()
        if value_key not in allowed:
            return f"{name} = {value} changes the physics; free values are {words}"
    return None


def policy_violations(
    incar: Mapping[str, Any],
    protocol: Protocol,
    calc: str,
    node: str = "",
    deviations: Sequence[Deviation] = (),
) -> list[tuple[str, str, str, str]]:
    """Tags of ``incar`` that the allow-list does not admit on kind ``calc``.

    Locked tags and the cell-derived ones (spin, LREAL, dipole) have their own checks and
    are skipped here.  A declared deviation that names a tag for ``node`` admits exactly
    its value.

    Returns
    -------
    list of (check, tag, expected, found)
        ``check`` is ``"derived"``, ``"free"``, ``"refused"`` or ``"synonym"``.
    """
    out: list[tuple[str, str, str, str]] = []
    present = {canonical(t): (t, v) for t, v in incar.items()}
    for raw in incar:
        if canonical(raw) != str(raw).strip().upper():
            out.append(
                ("synonym", str(raw), f"{canonical(raw)} (VASP reads {raw} as {canonical(raw)})", str(raw))
            )
    derived = derived_tags(protocol, calc)
    needed = PINNED_FREE.get(calc, frozenset())
    for tag, want in derived.items():
        if tag in FREE_TAGS and tag not in needed:
            continue
        dev = deviation_for(tag, node, deviations)
        expected = dev.value if dev else want
        found = present.get(tag, (None, None))[1]
        if found is None or not same_value(tag, expected, found):
            what = "declared deviation" if dev else f"the protocol's {calc} value"
            out.append(
                ("derived", tag, f"{_show(expected)} ({what})", "missing" if found is None else _show(found))
            )
    for tag, (_raw, value) in present.items():
        kind = classify(tag, protocol, calc)
        if kind in ("locked", "derived") or (tag in needed and tag in derived):
            continue
        dev = deviation_for(tag, node, deviations)
        if dev is not None:
            if not same_value(tag, dev.value, value):
                out.append(("refused", tag, f"{_show(dev.value)} (declared deviation)", _show(value)))
            continue
        if kind == "free":
            why = free_tag_problem(tag, value)
            if why:
                out.append(("free", tag, why.split("; ")[-1], _show(value)))
            continue
        out.append(
            (
                "refused",
                tag,
                "absent: neither locked, derived nor free (a deviation may declare it)",
                _show(value),
            )
        )
    return out


def deviable_tags(protocol: Protocol, known: Collection[str]) -> set[str]:
    """Tags a declared deviation may name: every known tag that is neither free nor set per cell.

    ``known`` is VASP's tag list (:func:`cztflow.workflows.vaspfiles.incar_tag_types`).
    ``KPOINTS`` (the surface mesh) and ``ISPIN`` (= 1 only) are included.
    """
    tags = {str(t).upper() for t in known} | set(protocol.locked_vasp_tags())
    tags -= set(FREE_TAGS) | CELL_DERIVED | set(FFT_GRID)
    return tags | {KPOINTS_TAG, SPIN_TAG}


def _type_problem(tag: str, value: Any) -> str | None:
    """Why VASP could not read ``value`` as ``tag`` (its type from VASP's tag list)."""
    from cztflow.workflows.vaspfiles import incar_tag_types, parse_value

    kind = incar_tag_types().get(tag, {}).get("type", "str")
    if isinstance(value, list | tuple | dict) and kind != "list":
        return f"{tag} = {value!r}: expected one {kind} value"
    try:
        parse_value(_show(value), kind)
    except ValueError as exc:
        return f"{tag} = {value!r}: {exc}"
    return None


def free_settings_problems(tags: Mapping[str, Any], protocol: Protocol | None = None) -> list[str]:
    """Why each of ``tags`` may not be set as a free setting (``incar:`` or ``vasp.incar``).

    Names are matched as VASP reads them, so ``images`` is IMAGES and ``enmax`` is ENCUT.
    With ``protocol``, a locked tag's message gives its locked value and the protocol file.
    """
    out = []
    locked = protocol.locked_vasp_tags() if protocol is not None else {}
    for raw, value in tags.items():
        name = canonical(raw)
        alias = f"{raw} (read by VASP as {name})" if name != str(raw).strip().upper() else name
        if name in FREE_TAGS:
            why = free_tag_problem(name, value) or _type_problem(name, value)
            if why:
                out.append(why)
        elif name == SPIN_TAG:
            out.append(
                "ISPIN follows the protocol decision 'spin_polarisation'; running a cell with initial "
                "moments with ISPIN = 1 needs a 'deviations:' entry (tag ISPIN, value 1) and a reason"
            )
        elif name in locked:
            where = f" ({protocol.source_file})" if protocol is not None else ""
            out.append(
                f"{alias} is locked by the protocol at {locked[name]!r}{where}; changing it to {value!r} "
                "needs a 'deviations:' entry with that value and a reason"
            )
        else:
            out.append(
                f"{alias} is not a free tag (free tags are machine or convergence settings: "
                f"{', '.join(sorted(FREE_TAGS))}); any other tag changes only through a "
                "'deviations:' entry with its value and a reason"
            )
    return out


def check_deviation_values(deviations: Sequence[Deviation], source: str) -> None:
    """Refuse deviations whose tag is a synonym or whose value VASP could not read as that tag.

    Raises
    ------
    ValueError
        Naming ``source``, the entry and the cause (``ENCUT = abc`` is not a number).
    """
    from cztflow.workflows.vaspfiles import incar_tag_types, parse_value

    known = incar_tag_types()
    for i, dev in enumerate(deviations):
        where = f"{source}: deviations[{i}]"
        if dev.tag in SYNONYMS:
            raise ValueError(f"{where}: {dev.tag} is VASP's other name for {SYNONYMS[dev.tag]}; declare that")
        if dev.tag == KPOINTS_TAG:
            values = dev.value if isinstance(dev.value, tuple) else (dev.value,)
            if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values) or len(
                values
            ) not in (1, 3):
                raise ValueError(
                    f"{where}: a KPOINTS deviation is a mesh of three positive integers (or, for bands, "
                    f"the points per segment), found {dev.value!r}"
                )
            continue
        kind = known.get(dev.tag, {}).get("type", "str")
        try:
            parse_value(_show(dev.value), "list" if isinstance(dev.value, tuple) else kind)
        except ValueError as exc:
            raise ValueError(f"{where}: {dev.tag} = {dev.value!r}: {exc}") from None
