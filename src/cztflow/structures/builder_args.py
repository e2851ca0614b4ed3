"""Check a builder's keyword arguments against its type hints and ranges before it runs.

A spec's ``args`` come from YAML, so ``supercell: 2`` or ``vacuum: -5`` reach a builder
as they are; without this check the first raises a bare ``TypeError`` deep inside
pymatgen and the second builds a 3 Å cell that is then treated as bulk.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["check_builder_args"]

#: Integer arguments that count something, and their smallest value.
_AT_LEAST = {"layers": 1, "cote2_layers": 1, "znte_layers": 1, "fixed_layers": 0, "cote2_fixed_layers": 0}
#: Lengths (Å) and other quantities that must be positive.
_POSITIVE = ("a", "b", "c", "cote2_a", "cote2_c", "znte_a", "mxene_a", "max_area", "box", "gap")


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, h) for h in typing.get_args(hint))
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in (bool, str):
        return isinstance(value, hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list | tuple) or len(value) != len(args):
            return False
        return all(_matches(v, h) for v, h in zip(value, args, strict=True))
    if origin in (collections.abc.Mapping, dict):
        key, val = typing.get_args(hint)
        return isinstance(value, Mapping) and all(
            _matches(k, key) and _matches(v, val) for k, v in value.items()
        )
    return True  # a hint this check does not model: the builder decides


def _show(hint: Any) -> str:
    return str(hint).replace("collections.abc.", "").replace("<class '", "").replace("'>", "")


def check_builder_args(
    func: Callable[..., Any], args: Mapping[str, Any], where: str, min_vacuum: float | None = None
) -> None:
    """Refuse an argument of the wrong type or out of range, naming ``where`` and the key.

    Parameters
    ----------
    func
        The builder.
    args
        Its keyword arguments.
    where
        Prefix of the message (system and builder).
    min_vacuum
        Smallest ``vacuum`` (Å) that still makes a slab (the protocol's slab-detection gap).

    Raises
    ------
    ValueError
        ``"<where>: args.<key> = <value>: expected <type>"`` or the range it must lie in.
    """
    hints = typing.get_type_hints(func)
    params = inspect.signature(func).parameters
    for key, value in args.items():
        if key not in params:
            continue  # unknown keys are reported by the caller, with the accepted list
        hint = hints.get(key, Any)
        if not _matches(value, hint):
            raise ValueError(f"{where}: args.{key} = {value!r}: expected {_show(hint)}")
        if key in _AT_LEAST and value is not None and value < _AT_LEAST[key]:
            raise ValueError(f"{where}: args.{key} = {value!r}: must be at least {_AT_LEAST[key]}")
        if key == "supercell" and isinstance(value, list | tuple) and any(v < 1 for v in value):
            raise ValueError(f"{where}: args.supercell = {value!r}: each repeat must be at least 1")
        numbers = value if isinstance(value, list | tuple) else [value]
        if key in _POSITIVE and any(isinstance(v, int | float) and v <= 0 for v in numbers):
            raise ValueError(f"{where}: args.{key} = {value!r}: must be positive")
        if key == "vacuum" and value is not None and min_vacuum is not None and value < min_vacuum:
            raise ValueError(
                f"{where}: args.vacuum = {value!r} Å: below {min_vacuum:g} Å the cell is not "
                "detected as a slab, so the protocol's 20 Å vacuum rule could not be checked"
            )
