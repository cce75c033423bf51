"""Pictures in the terminal: which graphics protocol the terminal speaks, and an encoder for each.

kitty (``ESC _G … ESC \\``, PNG in base64 chunks), iTerm2 (``ESC ]1337;File=…``), Sixel (``ESC P … q … ESC \\``)
and Unicode half blocks with 24-bit colour, which every colour terminal can show.  Nothing here is imported by
``--help`` or TAB, and Pillow is imported only when a picture is drawn.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from glm_image_cli.cli.contact import MAX_FILE_BYTES, PillowMissing, contact_sheet_png, load_pillow, open_picture
from glm_image_cli.cli.terminal import is_tty
from glm_image_cli.safefile import read_regular

PROTOCOLS = ("auto", "kitty", "iterm", "sixel", "blocks", "off")  # off: runs never draw on their own
MODES = ("auto", "on", "off")
ENV_PROTOCOL = "GLM_IMAGE_PREVIEW"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KITTY_CHUNK = 4096
CELL_PIXELS = (10, 20)  # a typical cell, for the pixel size of a Sixel picture (width, height)
ESC = "\x1b"


# -- which protocol ------------------------------------------------------------------------------------------
def detect_protocol(environ: Mapping[str, str] | None = None) -> str:
    """The protocol the terminal in ``environ`` most likely speaks: kitty, iterm, sixel, or blocks (the fallback).

    Inside tmux, images only pass through when tmux is told to (``allow-passthrough``), which cannot be known
    from the environment: blocks, unless a protocol is chosen explicitly (then it is wrapped for passthrough)."""
    env = os.environ if environ is None else environ
    term = env.get("TERM", "").lower()
    program = env.get("TERM_PROGRAM", "").lower()
    if env.get("TMUX") or term.startswith(("tmux", "screen")):
        return "blocks"
    if env.get("KITTY_WINDOW_ID") or term in ("xterm-kitty", "xterm-ghostty") or program == "ghostty":
        return "kitty"
    if program == "iterm.app" or env.get("LC_TERMINAL", "").lower() == "iterm2":
        return "iterm"
    if program == "wezterm" or any(key.startswith("WEZTERM_") for key in env):
        return "iterm"  # WezTerm's kitty support is opt-in; its iTerm2 protocol is always on
    if env.get("KONSOLE_VERSION"):
        return "kitty"
    if term.startswith(("foot", "mlterm", "yaft", "contour")) or env.get("WT_SESSION"):
        return "sixel"
    return "blocks"


def choose_protocol(setting: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``GLM_IMAGE_PREVIEW`` first, then the ``preview-protocol`` setting; ``auto`` (or nothing) detects."""
    env = os.environ if environ is None else environ
    for value in (env.get(ENV_PROTOCOL), setting):
        value = (value or "").strip().lower()
        if value in PROTOCOLS and value != "auto":
            return value
    return detect_protocol(env)


def should_preview(mode: str | None, *, stream: Any = None, json_mode: bool = False, quiet: bool = False,
                   no_color: bool = False, environ: Mapping[str, str] | None = None, tty: bool | None = None) -> bool:
    """Whether to draw: never off a terminal (``tty``, else whether ``stream`` is one), with --json or --quiet,
    or when ``mode`` is off; ``auto`` also needs a terminal that is not dumb and, for half blocks, colour
    (NO_COLOR / --no-color)."""
    env = os.environ if environ is None else environ
    if tty is None:
        tty = is_tty(sys.stdout if stream is None else stream)
    mode = (mode or "auto").lower()
    if mode == "off" or json_mode or quiet or not tty:
        return False
    if env.get("TERM", "").lower() == "dumb":
        return False
    if mode == "on":
        return True
    colourless = no_color or "NO_COLOR" in env
    return not (colourless and choose_protocol(None, env) in ("blocks", "off"))


def preview_columns(fraction: float, columns: int | None = None) -> int:
    """How many cells wide a picture is: ``fraction`` of the terminal's columns, at least 8."""
    total = columns or shutil.get_terminal_size((80, 24)).columns
    return max(8, int(total * max(0.05, min(1.0, fraction))))


# -- encoders ------------------------------------------------------------------------------------------------
def _open(data: bytes) -> Any:
    load_pillow()  # PillowMissing here first (tests stand in for a machine without Pillow through this name)
    return open_picture(data)


def _png_bytes(data: bytes, max_width: int | None = None) -> bytes:
    """The picture as PNG, scaled down to ``max_width`` pixels when Pillow is there (else a PNG as it is)."""
    try:
        image = _open(data)
    except PillowMissing:
        if data.startswith(PNG_SIGNATURE):
            return data
        raise
    if max_width and image.width > max_width:
        image = image.resize((max_width, max(1, round(image.height * max_width / image.width))))
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def kitty(data: bytes, columns: int) -> str:
    """kitty graphics protocol: transmit and display (a=T) a PNG (f=100), base64 in chunks of ≤ 4096 bytes;
    every chunk but the last says m=1, the last m=0.  ``c`` sets the width in cells; the height keeps the aspect."""
    payload = base64.standard_b64encode(_png_bytes(data, columns * CELL_PIXELS[0] * 2)).decode("ascii")
    chunks = [payload[at:at + KITTY_CHUNK] for at in range(0, len(payload), KITTY_CHUNK)] or [""]
    parts = []
    for number, chunk in enumerate(chunks):
        more = 1 if number < len(chunks) - 1 else 0
        keys = f"a=T,f=100,c={columns},q=2,m={more}" if number == 0 else f"m={more}"
        parts.append(f"{ESC}_G{keys};{chunk}{ESC}\\")
    return "".join(parts) + "\n"


def iterm(data: bytes, columns: int, name: str = "image.png") -> str:
    """iTerm2's inline image: ``ESC ]1337;File=inline=1;size=N;width=COLS;…:BASE64 BEL``."""
    try:
        body = _png_bytes(data, columns * CELL_PIXELS[0] * 2)
    except PillowMissing:
        body = data  # iTerm2 reads JPEG and WebP too
    encoded_name = base64.standard_b64encode(name.encode("utf-8")).decode("ascii")
    payload = base64.standard_b64encode(body).decode("ascii")
    return (f"{ESC}]1337;File=inline=1;name={encoded_name};size={len(body)};width={columns};"
            f"preserveAspectRatio=1:{payload}\a\n")


def sixel(data: bytes, columns: int, colors: int = 255) -> str:
    """Sixel: the picture scaled to ``columns`` cells, quantised to ``colors`` palette entries, six rows a band,
    runs of one character written ``!N c``."""
    image = _open(data).convert("RGB")
    width = max(1, columns * CELL_PIXELS[0])
    height = max(1, round(image.height * width / image.width))
    image = image.resize((width, height)).quantize(colors=colors)
    palette = image.getpalette() or []
    pixels = image.tobytes()
    used = sorted(set(pixels))
    out = [f"{ESC}P0;1;0q\"1;1;{width};{height}"]
    for index in used:
        r, g, b = palette[index * 3:index * 3 + 3]
        out.append(f"#{index};2;{r * 100 // 255};{g * 100 // 255};{b * 100 // 255}")
    run = re.compile(rb"(.)\1{3,}")
    for top in range(0, height, 6):
        bands: dict[int, bytearray] = {}
        for row in range(top, min(top + 6, height)):
            bit = 1 << (row - top)
            line = pixels[row * width:(row + 1) * width]
            for x, index in enumerate(line):
                band = bands.get(index)
                if band is None:
                    band = bands[index] = bytearray(width)
                band[x] |= bit
        lines = []
        for index, band in bands.items():
            text = bytes(value + 63 for value in band)
            text = run.sub(lambda m: b"!%d%s" % (len(m.group(0)), m.group(1)), text)
            lines.append(f"#{index}" + text.decode("ascii"))
        out.append("$".join(lines) + "-")
    return "".join(out) + f"{ESC}\\\n"


def blocks(data: bytes, columns: int) -> str:
    """Unicode upper half blocks (▀): each cell is two pixels, the top in the foreground colour (38;2) and the
    bottom in the background colour (48;2), so the picture is ``columns`` cells wide with its aspect kept."""
    image = _open(data).convert("RGB")
    width = max(1, columns)
    height = max(2, round(image.height * width / image.width))
    height += height % 2
    image = image.resize((width, height))
    pixels = image.load()
    lines = []
    for y in range(0, height, 2):
        cells = []
        for x in range(width):
            top, bottom = pixels[x, y], pixels[x, y + 1]
            cells.append(f"{ESC}[38;2;{top[0]};{top[1]};{top[2]};48;2;{bottom[0]};{bottom[1]};{bottom[2]}m▀")
        lines.append("".join(cells) + f"{ESC}[0m")
    return "\n".join(lines) + "\n"


ENCODERS = {"kitty": kitty, "iterm": iterm, "sixel": sixel, "blocks": blocks}


def tmux_wrap(sequence: str) -> str:
    """tmux's passthrough: ``ESC Ptmux; …ESC \\`` with every ESC inside doubled (needs allow-passthrough on)."""
    return f"{ESC}Ptmux;" + sequence.replace(ESC, ESC + ESC) + f"{ESC}\\"


def encode(data: bytes, protocol: str, columns: int, *, environ: Mapping[str, str] | None = None) -> str:
    """The escape sequences that draw ``data`` with ``protocol`` (kitty/iterm/sixel/blocks), ``columns`` wide."""
    env = os.environ if environ is None else environ
    text = ENCODERS[protocol](data, columns)
    if env.get("TMUX") and protocol != "blocks":
        body, newline = text.rstrip("\n"), "\n"
        return tmux_wrap(body) + newline
    return text


# -- what the commands call ----------------------------------------------------------------------------------
def settings_of(cfg: Any) -> tuple[str, str, float]:
    """(preview mode, protocol setting, width fraction) from a config, tolerating one without these settings."""
    values = getattr(cfg, "values", {}) or {}
    return (str(values.get("preview") or "auto"), str(values.get("preview-protocol") or "auto"),
            float(values.get("preview-width") or 0.5))


def draw(data: bytes, *, protocol: str, fraction: float, stream: Any = None, columns: int | None = None,
         environ: Mapping[str, str] | None = None) -> None:
    stream = sys.stdout if stream is None else stream
    stream.write(encode(data, protocol, preview_columns(fraction, columns), environ=environ))
    stream.flush()


def preview_files(state: Any, cfg: Any, paths: Iterable[Path], flag: bool | None,
                  width: float | None = None) -> None:
    """After a run: draw the saved images (several as one contact sheet) when --preview / the setting say so,
    on the run state's terminal.  ``--preview`` on a run without Pillow says how to get it; ``auto`` stays
    silent; a closed stdout draws nothing.  ``width``: a fraction of the columns other than `preview-width`."""
    mode, protocol_setting, fraction = settings_of(cfg)
    fraction = fraction if width is None else width
    if flag is not None:
        mode = "on" if flag else "off"
    paths = [Path(path) for path in paths]
    terminal = state.terminal
    if not paths or state.output.closed is not None or not should_preview(
            mode, json_mode=state.json_mode, quiet=state.quiet, no_color=state.no_color, environ=terminal.environ,
            tty=terminal.stdout_tty):
        return
    protocol = choose_protocol(protocol_setting, terminal.environ)
    if protocol == "off":  # GLM_IMAGE_PREVIEW=off: only an explicit --preview still draws
        if flag is not True:
            return
        protocol = detect_protocol(terminal.environ)
    try:
        data = read_regular(paths[0], MAX_FILE_BYTES) if len(paths) == 1 else contact_sheet_png(paths, labels=False)[0]
        draw(data, protocol=protocol, fraction=fraction, stream=state.output.stream("stdout"),
             columns=terminal.width, environ=terminal.environ)
    except PillowMissing:
        if mode == "on":
            from glm_image_cli.messages import render

            state.ui().warn(render("preview_needs_pillow"))
    except (OSError, ValueError) as exc:
        from glm_image_cli.messages import render

        state.ui().warn(render("preview_failed", detail=exc))
