"""`--help` pages, drawn for the terminal they are shown in.

A page is described once as plain data (``page_model``: the usage line, the command's text and the rows of
its Arguments/Options/Commands sections, in one language) and drawn by ``render`` for a width, in colour or
not.  Both paths draw with the same ``render``: the fast path (entry.py) from the models stored in
static.json, the full CLI (cli.py) from the live command, so a page looks the same however it is reached.

Lines are wrapped, never cut, and measured in display cells (Chinese characters take two), breaking between
Chinese characters and at spaces, and never before closing or after opening punctuation.  Text is shown as
written: nothing is parsed as markup, so ``glm-image[mcp]`` stays ``glm-image[mcp]``.

Imported on the fast path: only the standard library and rich.cells (which imports nothing heavy) here.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len

if TYPE_CHECKING:
    from glm_image_cli.cli.terminal import Terminal

MIN_WIDTH = 30
INDENT = 2
GAP = 2
# The option column: as wide as its longest entry up to this, longer entries put their help below them.
MAX_LEFT = 36

# Punctuation that must not start a line (glued to what comes before) or end one (glued to what follows).
CLOSING = set("，。、；：！？）］｝〕】》〉」』”’…%,.;:!?)]}")
OPENING = set("（［｛〔【《〈「『“‘([{")

BOLD, CYAN, YELLOW, RESET = "\x1b[1m", "\x1b[1;36m", "\x1b[33m", "\x1b[0m"

# The page's own words (messages.HELP), and the help of the options Click/Typer add by themselves.
PAGE_KEYS = ["page.usage", "page.arguments", "page.options", "page.commands", "page.default", "page.required"]
BUILTIN_HELP = {"help": "opt.help", "install_completion": "opt.install_completion",
                "show_completion": "opt.show_completion"}

# Typer's names for value types, as conventional help spells them.
TYPE_NAMES = {"str": "TEXT", "int": "N", "float": "NUMBER", "path": "PATH", "Path": "PATH"}


# --- where the page goes -------------------------------------------------------------------------------

def width_for(terminal: Terminal) -> int:
    """The page's width on ``terminal`` (COLUMNS when set, else the terminal's width, else 80), never below
    MIN_WIDTH."""
    return max(terminal.width, MIN_WIDTH)


# --- wrapping ------------------------------------------------------------------------------------------

def _pieces(text: str) -> list[tuple[str, bool]]:
    """Unbreakable pieces and whether a space comes before each: words, single wide characters, with
    closing punctuation glued to the piece before it and opening punctuation to the piece after it."""
    pieces: list[list[Any]] = []
    space = False
    opening = ""
    open_space = False
    last_wide = False
    for char in text:
        if char.isspace():
            if opening:
                pieces.append([opening, open_space])
                opening = ""
            space = True
            continue
        wide = cell_len(char) > 1
        if char in CLOSING and pieces and not space and not opening:
            pieces[-1][0] += char
        elif char in OPENING and (wide or space or last_wide or not pieces):
            if not opening:
                open_space = space
            opening += char
        elif opening:
            pieces.append([opening + char, open_space])
            opening = ""
        elif pieces and not space and not wide and not last_wide:
            pieces[-1][0] += char
        else:
            pieces.append([char, space])
        space = False
        last_wide = wide
    if opening:
        pieces.append([opening, open_space])
    return [(piece, spaced) for piece, spaced in pieces]


def wrap(text: str, width: int, rest_width: int | None = None) -> list[str]:
    """``text`` in lines of at most ``width`` cells (``rest_width`` after the first); a piece wider than a
    whole line is folded, so nothing is ever lost."""
    rest_width = width if rest_width is None else rest_width
    lines: list[str] = []
    line, used = "", 0

    def limit() -> int:
        return max(width if not lines else rest_width, 1)

    for piece, spaced in _pieces(text):
        size = cell_len(piece)
        gap = 1 if spaced and line else 0
        if line and used + gap + size > limit():
            lines.append(line)
            line, used, gap = "", 0, 0
        if size > limit() - used - gap:  # longer than a line: fold it character by character
            if gap:
                line, used = line + " ", used + 1
            for char in piece:
                char_size = cell_len(char)
                if line and used + char_size > limit():
                    lines.append(line)
                    line, used = "", 0
                line, used = line + char, used + char_size
            continue
        line, used = line + " " * gap + piece, used + gap + size
    if line or not lines:
        lines.append(line)
    return lines


# --- drawing -------------------------------------------------------------------------------------------

def render(page: dict[str, Any], width: int, color: bool = False) -> str:
    """A page model drawn ``width`` cells wide, every line within it."""
    width = max(width, MIN_WIDTH)

    def paint(text: str, style: str) -> str:
        return f"{style}{text}{RESET}" if color and text.strip() else text

    out: list[str] = []
    label = page["usage_label"]
    space = "" if label.endswith("：") else " "  # a full-width colon brings its own space
    label_size = cell_len(label + space)
    usage = wrap(page["usage"], width - label_size)
    out.append(f"{paint(label, BOLD)}{space}{usage[0]}")
    out += [" " * label_size + line for line in usage[1:]]
    out += _text_block(page.get("text", ""), width)
    for section in page.get("sections", []):
        out += ["", paint(section["title"], BOLD)]
        out += _rows(section["rows"], width, paint)
    return "\n".join(line.rstrip() for line in out) + "\n"


def _text_block(text: str, width: int) -> list[str]:
    """The command's description: paragraphs reflowed; indented lines (examples) kept one per line,
    directly under a heading that ends in a colon."""
    out: list[str] = []
    previous = ""
    for paragraph in text.split("\n\n"):
        if not paragraph.strip():
            continue
        if paragraph.startswith("  "):
            if not (previous.rstrip().endswith((":", "：")) or previous.startswith("  ")):
                out.append("")
            for line in paragraph.splitlines():
                wrapped = wrap(line.strip(), width - INDENT * 2, width - INDENT * 3)
                out.append(" " * INDENT * 2 + wrapped[0])
                out += [" " * INDENT * 3 + rest for rest in wrapped[1:]]
        else:
            out.append("")
            out += [" " * INDENT + line for line in wrap(" ".join(paragraph.split("\n")), width - INDENT)]
        previous = paragraph
    return out


def _rows(rows: list[list[str]], width: int, paint: Any) -> list[str]:
    """Two columns: names (and the value's metavar), then the help wrapped beside them, and its notes
    ("[default: 1]") kept in one piece after it."""
    lefts = [cell_len(_left(name, metavar)) for name, metavar, _, _ in rows]
    cap = min(MAX_LEFT, max(width * 2 // 5, 10))
    column = max([size for size in lefts if size <= cap], default=cap)  # longer ones put their help below
    help_at = INDENT + column + GAP
    help_width = width - help_at
    out: list[str] = []
    for (name, metavar, text, notes), size in zip(rows, lefts, strict=True):
        bare = name.lstrip()  # long options line up after the short ones; the padding is not coloured
        left = name[:len(name) - len(bare)] + paint(bare, CYAN) + (" " + paint(metavar, YELLOW) if metavar else "")
        lines = wrap(text, help_width) if text else []
        if notes and lines and cell_len(lines[-1]) + 1 + cell_len(notes) <= help_width:
            lines[-1] += " " + notes
        elif notes:
            lines += wrap(notes, help_width)
        if size > column or not lines:
            out.append(" " * INDENT + left)
        else:
            out.append(" " * INDENT + left + " " * (help_at - INDENT - size) + lines.pop(0))
        out += [" " * help_at + line for line in lines]
    return out


def _left(name: str, metavar: str) -> str:
    return f"{name} {metavar}" if metavar else name


# --- the model, from a click/Typer command -------------------------------------------------------------

def page_texts(lang: str) -> dict[str, str]:
    from glm_image_cli.cli.language import help_texts

    return help_texts([*PAGE_KEYS, *BUILTIN_HELP.values()], lang)


def page_model(command: Any, ctx: Any, path: list[str], texts: dict[str, str]) -> dict[str, Any]:
    """The page of ``command`` (reached by ``glm-image`` + ``path``) as plain data.  ``texts`` (``page_texts``)
    holds the page's own words in its language: labels, and help for the options Typer/Click add."""
    params = [param for param in command.get_params(ctx) if not getattr(param, "hidden", False)]
    arguments = [param for param in params if param.param_type_name == "argument"]
    options = [param for param in params if param.param_type_name == "option"]
    subcommands = _subcommands(command, ctx)
    usage = ["glm-image", *path]
    if options:
        usage.append("[OPTIONS]")
    usage += [_argument_usage(param) for param in arguments]
    if subcommands:
        usage.append("COMMAND [ARGS]...")
    text = inspect.cleandoc(command.help or "").partition("\f")[0]
    sections = []
    if arguments:
        sections.append({"title": texts["page.arguments"],
                         "rows": [[_argument_name(param), "", *_param_help(param, texts)] for param in arguments]})
    if options:
        any_short = any(_shorts(param) for param in options)
        sections.append({"title": texts["page.options"],
                         "rows": [[_option_names(param, any_short), _option_metavar(param, ctx),
                                   *_param_help(param, texts)] for param in options]})
    if subcommands:
        sections.append({"title": texts["page.commands"], "rows": subcommands})
    return {"usage_label": texts["page.usage"], "usage": " ".join(usage), "text": text, "sections": sections}


def _subcommands(command: Any, ctx: Any) -> list[list[str]]:
    if not hasattr(command, "list_commands"):
        return []
    aliases: dict[str, str] = getattr(command, "aliases", {}) or {}
    rows = []
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is None or getattr(sub, "hidden", False):
            continue
        names = ", ".join([name, *(alias for alias, target in aliases.items() if target == name)])
        summary = inspect.cleandoc(sub.short_help or sub.help or "").split("\n\n")[0]
        rows.append([names, "", " ".join(summary.split("\n")), ""])
    return rows


def _argument_name(param: Any) -> str:
    if _spelled_out(param):
        return param.metavar
    name = param.metavar or param.name.upper()
    # A metavar may already say it repeats (`IMAGE...`, which Click's own messages show too): never `IMAGE......`
    return f"{name}..." if param.nargs != 1 and not name.endswith("...") else name


def _argument_usage(param: Any) -> str:
    name = _argument_name(param)
    return name if param.required or _spelled_out(param) else f"[{name}]"


def _spelled_out(param: Any) -> bool:
    """Words a command reads itself, shown as its metavar says (generate: PROMPT, or NAME=VALUE words with -t)."""
    return bool(param.metavar) and param.nargs == -1


def _shorts(param: Any) -> list[str]:
    return [opt for opt in param.opts if not opt.startswith("--")]


def _option_names(param: Any, align: bool) -> str:
    shorts = _shorts(param)
    names = ", ".join([*shorts, *(opt for opt in param.opts if opt.startswith("--"))])
    if param.secondary_opts:
        names += " / " + ", ".join(param.secondary_opts)
    return names if shorts or not align else "    " + names


def _option_metavar(param: Any, ctx: Any) -> str:
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    if param.metavar:
        return param.metavar
    shown = param.display_type(ctx).strip("<>") if hasattr(param, "display_type") else param.type.name
    return TYPE_NAMES.get(shown, shown.upper())


def _param_help(param: Any, texts: dict[str, str]) -> tuple[str, str]:
    """The help of an option or argument, and its notes: default, required."""
    text = texts.get(BUILTIN_HELP.get(param.name, "")) or " ".join((getattr(param, "help", None) or "").split("\n"))
    extras = []
    default = _default_text(param)
    if default:
        extras.append(texts["page.default"].format(default=default))
    if param.required:
        extras.append(texts["page.required"])
    return text, " ".join(f"[{extra}]" for extra in extras)


def _default_text(param: Any) -> str:
    show = getattr(param, "show_default", None)
    if isinstance(show, str):
        return show
    default = param.default
    if not show or default is None or callable(default) or param.required:
        return ""
    if getattr(param, "is_flag", False):
        if not param.secondary_opts:
            return ""
        return (param.opts if default else param.secondary_opts)[0].lstrip("-")
    return str(default)
