"""POSCAR text that does not depend on the sign of zero."""

from __future__ import annotations

import re

from pymatgen.io.vasp import Poscar

__all__ = ["poscar_text"]

#: A number printed as -0.000…: numpy prints the sign of the -1e-17 that a symmetry
#: operation or a wrap leaves, so the text would change with the arithmetic's rounding.
_NEGATIVE_ZERO = re.compile(r"(?<![\w.])-(0\.0+)(?![\d.eE])")


def poscar_text(poscar: Poscar, significant_figures: int = 10) -> str:
    """``poscar`` as text, every number that prints as -0.000… written as 0.000….

    Each column keeps its width (the sign becomes a space).
    """
    return _NEGATIVE_ZERO.sub(r" \1", poscar.get_str(significant_figures=significant_figures))
