"""Text cut to fit a terminal's width: the live progress rows of `generate` and `batch` at 70 columns."""

from __future__ import annotations


def cell_len_of(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def fit_middle(text: str, cells: int) -> str:
    """``text`` in at most ``cells`` terminal cells, cut in the middle (the start says what, the end which file)."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) <= cells:
        return text
    if cells <= 1:
        return "…"[:max(cells, 0)]
    tail_cells = (cells - 1) * 2 // 5
    head = set_cell_size(text, cells - 1 - tail_cells).rstrip()
    tail, taken = "", 0
    for char in reversed(text):
        taken += cell_len(char)
        if taken > tail_cells:
            break
        tail = char + tail
    return head + "…" + tail
