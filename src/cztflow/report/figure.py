"""The Fig. 1 panels: a–c bands and DOS, d adsorption bars, e NEB profiles, f potential and Δρ(z)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cztflow.atomic_files import remove_stale_temps, replacing
from cztflow.report.collect import Fig1Data
from cztflow.report.materials import LABELS

__all__ = ["draw_fig1", "write_figure"]

_COLORS = {
    "cote2": "tab:blue",
    "znte": "tab:orange",
    "cote2-znte": "tab:green",
    "cote2-znte/ti3c2tx": "tab:purple",
    "cote2/ti3c2tx": "tab:brown",
}
_WINDOW = (-3.0, 3.0)  # eV around E_F


def _empty(ax: Any, letter: str, what: str) -> None:
    ax.text(0.5, 0.5, f"{what}\nnot computed", ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(letter, loc="left", fontweight="bold")


def _bands(fig: Any, spec: Any, letter: str, material: str, entry: dict[str, Any] | None) -> None:
    inner = spec.subgridspec(1, 2, width_ratios=[3, 1], wspace=0.05)
    ax, dax = fig.add_subplot(inner[0]), fig.add_subplot(inner[1])
    title = f"{letter}  {LABELS[material]}"
    if not entry or "bands" not in entry:
        _empty(ax, title, "bands")
        dax.axis("off")
        return
    k = np.asarray(entry["k"])
    bands = np.asarray(entry["bands"])  # (spin, k, band), relative to E_F
    for spin, style in zip(range(bands.shape[0]), ("-", "--"), strict=False):
        ax.plot(k, bands[spin], style, color=_COLORS[material], lw=0.8)
    ax.axhline(0.0, color="k", lw=0.6, ls=":")
    ax.set_xlim(k[0], k[-1])
    ax.set_ylim(*_WINDOW)
    ax.set_xticks([])
    ax.set_ylabel("E − E_F (eV)")
    gap = entry.get("gap", 0.0)
    ax.set_title(f"{title}: " + ("metal" if gap == 0 else f"gap {gap:.2f} eV"), loc="left", fontsize=9)
    if "dos" in entry:
        e, d = np.asarray(entry["dos_energies"]), np.asarray(entry["dos"])
        keep = (e >= _WINDOW[0]) & (e <= _WINDOW[1])
        dax.fill_betweenx(e[keep], 0, d[keep], color=_COLORS[material], alpha=0.5)
        dax.set_xlim(0, max(d[keep].max() * 1.1, 1e-6) if keep.any() else 1)
    dax.axhline(0.0, color="k", lw=0.6, ls=":")
    dax.set_ylim(*_WINDOW)
    dax.set_yticks([])
    dax.set_xticks([])
    dax.set_xlabel("DOS")


def _adsorption(ax: Any, panel: dict[str, Any]) -> None:
    if not panel:
        _empty(ax, "d", "adsorption energies")
        return
    names = list(panel)
    x = np.arange(len(names))
    ax.bar(
        x, [panel[m]["energy"] for m in names], color=[_COLORS[m] for m in names], label="computed (vs bcc K)"
    )
    marks = [(i, panel[m]["paper"]) for i, m in enumerate(names) if panel[m].get("paper") is not None]
    if marks:
        ax.scatter(*zip(*marks, strict=True), marker="_", s=600, color="k", lw=2, label="paper", zorder=3)
    ax.set_xticks(x, [LABELS[m] for m in names], rotation=15, fontsize=8)
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set_ylabel("E_ads (eV)")
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("d  K adsorption", loc="left", fontsize=9)


def _neb(ax: Any, panel: dict[str, Any]) -> None:
    if not panel:
        _empty(ax, "e", "NEB profiles")
        return
    for material, entry in panel.items():
        s, e = np.asarray(entry["distances"]), np.asarray(entry["energies"])
        span = s[-1] if s[-1] > 0 else 1.0
        ax.plot(np.asarray(entry["spline_s"]) / span, entry["spline_energies"], color=_COLORS[material], lw=1)
        ax.plot(s / span, e, "o", color=_COLORS[material], ms=3, label=LABELS[material])
        if entry.get("paper") is not None:
            ax.axhline(entry["paper"], color=_COLORS[material], lw=0.8, ls="--")
    ax.set_xlabel("reaction coordinate")
    ax.set_ylabel("E − E_initial (eV)")
    ax.legend(fontsize=7)
    ax.set_title("e  K migration (dashed: paper maxima)", loc="left", fontsize=9)


def _potential(
    ax: Any, potential: dict[str, Any] | None, chgdiff: dict[str, Any] | None, slabs: dict[str, Any]
) -> None:
    if not potential and not chgdiff and not slabs:
        _empty(ax, "f", "potential and Δρ")
        return
    if slabs and not potential:
        for material, entry in slabs.items():
            label = f"{LABELS[material]}: Φ = {entry['phi']:.2f} eV"
            ax.plot(entry["z"], entry["profile"], color=_COLORS[material], lw=0.8, label=label)
        ax.axhline(0.0, color="k", lw=0.6, ls=":")
        ax.set_ylabel("V(z) − E_F (eV)")
        ax.legend(fontsize=7)
        ax.set_title("f  planar-averaged potential of the slabs", loc="left", fontsize=9)
    if potential:
        z, v = np.asarray(potential["z"]), np.asarray(potential["profile"])
        ax.plot(z, v, color="k", lw=0.8, label="V(z) − E_F")
        text = ", ".join(f"Φ {side} {phi:.2f} eV" for side, phi in potential["work_functions"].items())
        ax.set_title(f"f  CoTe2/ZnTe: {text}", loc="left", fontsize=9)
        ax.set_ylabel("planar potential (eV)")
    ax.set_xlabel("z (Å)")
    if chgdiff:
        twin = ax.twinx()
        z = np.asarray(chgdiff["z"])
        c = potential["c"] if potential else z[-1] - z[0]
        zz = np.mod(z, c)
        order = np.argsort(zz)
        twin.plot(zz[order], np.asarray(chgdiff["planar"])[order], color="tab:red", lw=0.8)
        twin.axvline(float(np.mod(chgdiff["interface_z"], c)), color="tab:red", ls=":", lw=0.8)
        twin.set_ylabel("Δρ(z) (e/Å)", color="tab:red")


def draw_fig1(data: Fig1Data) -> Any:
    """A matplotlib figure with the six panels of Fig. 1 from ``data.panels``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(13, 8.5), layout="constrained")
    grid = fig.add_gridspec(2, 3)
    electronic = data.panels.get("electronic", {})
    for i, (letter, material) in enumerate((("a", "cote2"), ("b", "znte"), ("c", "cote2-znte"))):
        _bands(fig, grid[0, i], letter, material, electronic.get(material))
    _adsorption(fig.add_subplot(grid[1, 0]), data.panels.get("adsorption", {}))
    _neb(fig.add_subplot(grid[1, 1]), data.panels.get("neb", {}))
    _potential(
        fig.add_subplot(grid[1, 2]),
        data.panels.get("potential"),
        data.panels.get("chgdiff"),
        data.panels.get("slab_potentials", {}),
    )
    fig.suptitle(f"Fig. 1 recomputed — campaign {data.campaign}", fontsize=11)
    return fig


def write_figure(data: Fig1Data, outdir: str | Path) -> list[Path]:
    """Write ``fig1.png`` and ``fig1.pdf`` into ``outdir``; return the paths.

    Each file is drawn into a temporary file and renamed (:mod:`cztflow.atomic_files`): a
    kill leaves the previous figure whole, never a truncated one.
    """
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = [outdir / "fig1.png", outdir / "fig1.pdf"]
    remove_stale_temps(outdir, [p.name for p in paths])
    fig = draw_fig1(data)
    try:
        for path in paths:
            with replacing(path) as tmp:
                fig.savefig(tmp, dpi=150, format=path.suffix[1:])
    finally:
        plt.close(fig)
    return paths
