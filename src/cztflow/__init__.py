"""cztflow: the DFT part of Pan et al., Nano-Micro Lett. 15:225 (2023), as a workflow.

Data flows one way: ``structures`` (pure builders) → ``workflows`` (inputs, campaign,
execution) → ``analysis`` (parsers and Fig. 1 quantities).  The paper's settings live in
``cztflow.protocol``.
"""

from importlib.metadata import PackageNotFoundError, version


def _version() -> str:
    """The installed distribution's version (``pyproject.toml`` is its one source).

    Returns
    -------
    str
        For example ``"0.1.0"``; ``"0+unknown"`` when the package runs from a source tree
        that was never installed (``PYTHONPATH=src``).
    """
    try:
        return version("cztflow")
    except PackageNotFoundError:
        return "0+unknown"


__version__ = _version()
