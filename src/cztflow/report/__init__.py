"""Fig. 1 of the paper from a finished campaign: the table, the figure, the comparison.

:func:`~cztflow.report.collect.collect_fig1` reads a campaign folder (any engine, VASP
included) through :mod:`cztflow.analysis` and returns every Fig. 1 quantity with its
provenance; :mod:`.table` writes it as Markdown, CSV and JSON, :mod:`.figure` draws the
panels.  Nothing here runs a calculation.
"""

from __future__ import annotations

from cztflow.report.collect import Fig1Data, Row, collect_fig1

__all__ = ["Fig1Data", "Row", "collect_fig1"]
