"""What a run looks like on a real terminal (a pseudo-terminal of 70 or 120 columns): every line fits the width,
the last rows of `generate` keep what tells the images apart, the batch bar stays on one line, and saved paths
piped back onto the same terminal (`batch … | cat`) are never overwritten by a redrawn display."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.fake_bigmodel import SYNC_ROUTE
from tests.terminal import Terminal
from tests.test_console_script import child_env, console_script

SGR = re.compile(r"\x1b\[[0-9;]*m")  # colours: take no cells
# Cursor movement and erasing: what a display redrawn in place writes (and what erases lines printed by others)
MOVING = re.compile(r"\x1b\[[0-9]*[ABKJ]|\r(?!\n)")
BREAKS = re.compile(r"\r\n|\n|\r|\x1b\[[0-9;?]*[A-La-ln-z]")  # a new line, a carriage return, a cursor command


def terminal_env(fake, columns: int) -> dict[str, str]:
    env = child_env(fake)
    env.pop("NO_COLOR", None)  # a colour terminal: the live displays are drawn
    return {**env, "TERM": "xterm-256color", "COLUMNS": str(columns)}


def pieces(output: str) -> list[str]:
    """The text written between line breaks and cursor commands: each lands on one row, unless wider than it."""
    return [SGR.sub("", piece) for piece in BREAKS.split(output) if SGR.sub("", piece).strip()]


def run_on_terminal(args: list[str], env: dict[str, str]) -> tuple[str, int]:
    return Terminal(args, env).run(lambda _terminal: None)


def prompts(count: int) -> None:
    Path("p.txt").write_text("".join(f"第{n}张：山间小路，秋天的落叶，清晨薄雾\n" for n in range(1, count + 1)),
                             encoding="utf-8")


@pytest.mark.parametrize(("columns", "lang"), [(70, "en"), (120, "en"), (70, "zh")])
def test_generate_rows_fit_the_terminal_and_keep_the_file_names_apart(fake, columns: int, lang: str) -> None:
    """Before: at 70 columns each final row ended `ima… ✓ saved gen1/…水彩…`, the label, the path and the image
    number all cut.  Now the label is whole, the clock short, and a long path is cut in its middle."""
    fake.latency = 0.3
    prompt = "一只橘猫坐在窗台上看着外面的雨，水彩风格，柔和的光线"
    output, code = run_on_terminal([*console_script(), "generate", prompt, "-n", "3", "-o", "gen", "-y",
                                    "--no-preview", "--lang", lang], terminal_env(fake, columns))
    assert code == 0, output
    label, saved_word = ("image", "saved") if lang == "en" else ("图片", "已保存")
    rows = pieces(output)
    saved = sorted(str(path) for path in Path("gen").glob("*.png"))
    assert len(saved) == 3 and all(path in rows for path in saved)  # the paths themselves are never cut
    drawn = [row for row in rows if row not in saved]
    assert all(cell_len(row) <= columns for row in drawn), [row for row in drawn if cell_len(row) > columns]
    for index in (1, 2, 3):
        [last, *_] = [row for row in reversed(rows) if f"{label} {index}/3" in row]
        assert f"✓ {saved_word} gen/" in last and last.endswith(f"-{index}.png")  # which file, even when cut
        assert "0:00:0" not in last  # the label whole, the clock short
    assert ("…" in output) is (columns == 70)


@pytest.mark.parametrize(("columns", "lang"), [(70, "en"), (120, "en"), (70, "zh")])
def test_the_batch_bar_stays_on_one_line(fake, columns: int, lang: str) -> None:
    fake.latency = 0.4
    prompts(6)
    output, code = run_on_terminal([*console_script(), "batch", "p.txt", "-o", "out", "-y", "-j", "2",
                                    "--lang", lang], terminal_env(fake, columns))
    assert code == 0, output
    rows = pieces(output)
    assert all(cell_len(row) <= columns - 4 for row in rows if "━" in row), [r for r in rows if "━" in r]
    bars = [row for row in rows if "━" in row and "•" in row]
    assert bars  # figures after the bar, as many as fit
    assert any(("in flight" if lang == "en" else "进行中") in bar for bar in bars)
    if columns == 120:
        assert any("/min" in bar for bar in bars)


def test_saved_paths_piped_back_onto_the_terminal_are_all_readable(fake) -> None:
    """`glm-image batch p.txt | cat`: cat prints the paths on the terminal the progress is drawn on.  Before, the
    live display redrew over them (`… 0:02pipe1/0001-一只橘猫.png`, two paths gone).  Now nothing is redrawn in
    place: progress comes as whole lines, and each path is a line of its own."""
    fake.latency = 0.3
    prompts(5)
    command = " ".join([*console_script(), "batch", "p.txt", "-o", "pipe1", "-y", "-j", "2", "|", "cat"])
    output, code = run_on_terminal(["/bin/sh", "-c", command], terminal_env(fake, 70))
    assert code == 0, output
    assert not MOVING.search(output), output
    lines = [SGR.sub("", line) for line in output.split("\r\n")]
    saved = sorted(str(path) for path in Path("pipe1").glob("*.png"))
    assert len(saved) == 5 and all(lines.count(path) == 1 for path in saved), lines
    assert sum(line.startswith(("[", "✓")) and "✓" in line for line in lines) == 5  # progress, one line each
    assert fake.count(SYNC_ROUTE) == 5


def test_a_pipe_on_stdout_is_a_terminal_fact(tmp_path: Path) -> None:
    from glm_image_cli.cli.terminal import Terminal as Facts

    read, write = os.pipe()
    with os.fdopen(write, "w") as pipe, open(tmp_path / "file.txt", "w") as file:
        assert Facts.detect({}, {"stdout": pipe}).stdout_pipe is True
        assert Facts.detect({}, {"stdout": file}).stdout_pipe is False  # `> out.txt`: nobody prints it here
    os.close(read)
    assert Facts(stderr_tty=True, stdout_pipe=True).stdout_may_share_terminal()
    assert not Facts(stderr_tty=True).stdout_may_share_terminal()


def test_a_long_text_is_cut_in_its_middle() -> None:
    from glm_image_cli.cli.fitting import fit_middle

    text = "✓ saved gen/20261206-070549-一只橘猫坐在窗台上看着外面的雨-水彩风格-3.png"
    cut = fit_middle(text, 40)
    assert cell_len(cut) <= 40 and cut.startswith("✓ saved gen/2026") and cut.endswith("-3.png") and "…" in cut
    assert fit_middle("short", 40) == "short"
