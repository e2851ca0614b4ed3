"""``python -m cztflow.workflows.rlaunch``: FireWorks' ``rlaunch``, with its offline mode working.

FireWorks 2.1.4's offline rocket opens ``FW_offline.json`` with ``monty.io.zopen(path)``;
monty 2024.12 and later require the mode argument, so ``rlaunch singleshot --offline``
stops with ``TypeError: zopen() missing 1 required positional argument: 'mode'`` before
the Firework runs (measured with monty 2026.10.21).  This entry point gives FireWorks'
rocket a ``zopen`` whose mode defaults to text reading, as older monty did, and then runs
``rlaunch`` with the same arguments.  The queue adapters shipped with cztflow call it.
"""

from __future__ import annotations

from typing import IO, Any

from monty.io import zopen as _monty_zopen

__all__ = ["main", "zopen"]


def zopen(filename: Any, mode: str = "rt", **kwargs: Any) -> IO[Any]:
    """``monty.io.zopen`` with ``mode`` optional (text reading), as FireWorks' rocket calls it."""
    return _monty_zopen(filename, mode, **kwargs)


def main() -> int:
    """Run FireWorks' ``rlaunch`` command line with the patched rocket."""
    import fireworks.core.rocket as rocket
    from fireworks.scripts.rlaunch_run import rlaunch

    rocket.zopen = zopen
    return int(rlaunch() or 0)


if __name__ == "__main__":
    raise SystemExit(main())
