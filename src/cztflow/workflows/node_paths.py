"""Node folders stay inside their campaign: one check for the spec loader, writer and validator."""

from __future__ import annotations

__all__ = ["unsafe_node_id"]


def unsafe_node_id(node_id: str) -> str | None:
    """Why ``node_id`` cannot be a folder inside the campaign; ``None`` when it can.

    Node ids are folders relative to the campaign root: no absolute paths, no ``..``,
    no empty parts, no backslashes or control characters, and no leading dot.
    """
    if not node_id or node_id.startswith("/") or "\\" in node_id:
        return "a node folder must be a relative path inside the campaign"
    if any(ord(ch) < 32 for ch in node_id):
        return "a node folder may not hold control characters"
    parts = node_id.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return (
            "a node folder may not hold '..', '.', hidden or empty parts (it would leave the campaign folder)"
        )
    return None
