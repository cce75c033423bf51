"""Shell completion answered without Typer: the same protocol as the scripts Typer generates
(completions/glm-image.*), read from the environment the entry point passes, with candidates from the static
command tree.

Importing Typer alone costs more than a TAB press should; tests check that these answers match the
ones the full Typer app gives.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping

Candidate = tuple[str, "str | None"]


def split_arg_string(text: str) -> list[str]:
    """Split like a POSIX shell, keeping a trailing unclosed quote's word (as Click does)."""
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words: list[str] = []
    try:
        for token in lexer:
            words.append(token)
    except ValueError:
        words.append(lexer.token)
    return words


def _typer_args(environ: Mapping[str, str]) -> tuple[list[str], str]:
    completion_args = environ.get("_TYPER_COMPLETE_ARGS", "")
    words = split_arg_string(completion_args)[1:]
    if words and not completion_args.endswith(" "):
        return words[:-1], words[-1]
    return words, ""


def _bash(candidates: Callable[[list[str], str], list[Candidate]], environ: Mapping[str, str]) -> tuple[str, int]:
    words = split_arg_string(environ.get("COMP_WORDS", ""))
    cword = int(environ.get("COMP_CWORD", "0") or 0)
    incomplete = words[cword] if cword < len(words) else ""
    return "\n".join(value for value, _ in candidates(words[1:cword], incomplete)), 0


def _zsh(candidates: Callable[[list[str], str], list[Candidate]], environ: Mapping[str, str]) -> tuple[str, int]:
    def escape(text: str) -> str:
        return (text.replace('"', '""').replace("'", "''").replace("$", "\\$").replace("`", "\\`")
                .replace(":", r"\\:"))

    lines = [f'"{escape(value)}":"{escape(help_)}"' if help_ else f'"{escape(value)}"'
             for value, help_ in candidates(*_typer_args(environ))]
    return (f"_arguments '*: :(({chr(10).join(lines)}))'" if lines else "_files"), 0


def _fish(candidates: Callable[[list[str], str], list[Candidate]], environ: Mapping[str, str]) -> tuple[str, int]:
    found = candidates(*_typer_args(environ))
    action = environ.get("_TYPER_COMPLETE_FISH_ACTION", "")
    if action == "is-args":
        return "", 0 if found else 1
    lines = [f"{value}\t{_one_line(help_)}" if help_ else value for value, help_ in found]
    return "\n".join(lines), 0


def _one_line(text: str) -> str:
    return re.sub(r"\s", " ", text)


def _powershell(candidates: Callable[[list[str], str], list[Candidate]],
                environ: Mapping[str, str]) -> tuple[str, int]:
    incomplete = environ.get("_TYPER_COMPLETE_WORD_TO_COMPLETE", "")
    words = split_arg_string(environ.get("_TYPER_COMPLETE_ARGS", ""))
    args = words[1:-1] if incomplete else words[1:]
    return "\n".join(f"{value}:::{help_ or ' '}" for value, help_ in candidates(args, incomplete)), 0


SHELLS = {"bash": _bash, "zsh": _zsh, "fish": _fish, "powershell": _powershell, "pwsh": _powershell}


def answer(shell: str, candidates: Callable[[list[str], str], list[Candidate]],
           environ: Mapping[str, str]) -> tuple[str, int] | None:
    """(text to print, exit code) for a `complete_<shell>` request (its words in ``environ``, where the shell's
    script put them), or None for an unknown shell."""
    handler = SHELLS.get(shell)
    return None if handler is None else handler(candidates, environ)
