"""Where a campaign's nodes run: in this process one at a time, or in worker processes side by side.

:func:`cztflow.workflows.runner.run_campaign` hands each node whose parents have finished to a
*submitter* and waits for the returned future.  With ``jobs=1`` the node runs in this process
before ``submit`` returns.  With ``jobs > 1`` it runs in one of ``jobs`` worker processes
(``spawn``, so no forked torch or BLAS state).  Each worker runs one node at a time with one
BLAS/OpenMP/torch thread: on an N-core machine, N independent nodes fill the cores better than
one node threaded N ways, because GPAW without MPI and small-cell MLIP runs barely thread.

Which ready node goes first is the one with the longest chain of expected work below it
(:func:`critical_path`), so a GPAW band structure waiting on its static run does not end up
alone at the end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from cztflow.workflows.config import RunConfig

__all__ = ["Outcome", "Submit", "critical_path", "submitter"]

#: What running one node gives: its marker record and whether it ran here (False: it was finished).
Outcome = tuple[dict[str, Any], bool]

#: Runs one node and returns a future of its outcome.
Submit = Callable[[dict[str, Any]], "Future[Outcome]"]

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def critical_path(nodes: list[dict[str, Any]], cost: dict[str, float]) -> dict[str, float]:
    """Each node's cost plus the most expensive chain of nodes that wait on it.

    Parameters
    ----------
    nodes
        Campaign nodes in dependency order (parents first), as in ``campaign.json``.
    cost
        Expected cost per node id (:func:`cztflow.workflows.plan.node_cost`).

    Returns
    -------
    dict
        Node id to the length of the longest path from it to the end of the campaign.
    """
    below: dict[str, float] = {n["id"]: 0.0 for n in nodes}
    total: dict[str, float] = {}
    for node in reversed(nodes):
        total[node["id"]] = cost.get(node["id"], 0.0) + below[node["id"]]
        for dep in node.get("deps", []):
            if dep in below:
                below[dep] = max(below[dep], total[node["id"]])
    return total


def _inline(run: Callable[[dict[str, Any]], Outcome]) -> Submit:
    def submit(node: dict[str, Any]) -> Future[Outcome]:
        future: Future[Outcome] = Future()
        try:
            future.set_result(run(node))
        except Exception as exc:  # the caller reads it from the future, as from a worker
            future.set_exception(exc)
        return future

    return submit


_WORKER_ENGINES: dict[str, Any] = {}
_WORKER_PROTOCOLS: dict[str, Any] = {}


def _run_in_worker(
    root: str, node: dict[str, Any], engine: str, prerelax: str | None, config: RunConfig
) -> Outcome:
    """Worker side: run one node (engines are built once per worker process)."""
    from cztflow.workflows.engines.base import make_engine
    from cztflow.workflows.plan import read_campaign
    from cztflow.workflows.runner import campaign_protocol, run_node_outcome

    def built(name: str) -> Any:
        if name not in _WORKER_ENGINES:
            _WORKER_ENGINES[name] = make_engine(name, config)
        return _WORKER_ENGINES[name]

    path = Path(root)
    if root not in _WORKER_PROTOCOLS:  # campaign.json read once per worker, not once per node
        _WORKER_PROTOCOLS[root] = campaign_protocol(read_campaign(path), path)
    protocol = _WORKER_PROTOCOLS[root]
    pre = built(prerelax) if prerelax else None
    return run_node_outcome(path, node, built(engine), protocol=protocol, config=config, prerelax=pre)


@contextmanager
def _one_thread_each() -> Iterator[None]:
    """Workers inherit the environment: one BLAS/OpenMP thread each unless the user set one."""
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    for name in _THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def submitter(
    jobs: int,
    run_here: Callable[[dict[str, Any]], Outcome],
    *,
    root: Path,
    engine_of: dict[str, str],
    prerelax: str | None,
    config: RunConfig,
) -> Iterator[Submit]:
    """A function that starts a node and returns the future of its outcome (marker, ran here).

    Parameters
    ----------
    jobs
        Nodes at a time: 1 runs each node in this process with ``run_here``; more start
        that many worker processes.
    run_here
        Runs one node in this process (``jobs=1``).
    root, engine_of, prerelax, config
        What a worker needs to run a node by itself: the campaign folder, the engine name
        per node id, the pre-relaxation MLIP and the machine settings.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if jobs == 1:
        yield _inline(run_here)
        return
    with _one_thread_each(), ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:

        def submit(node: dict[str, Any]) -> Future[Outcome]:
            return pool.submit(_run_in_worker, str(root), node, engine_of[node["id"]], prerelax, config)

        yield submit
