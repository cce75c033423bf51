"""Prompt alternatives and wildcards: one prompt text in, the prompts it stands for out.

The grammar (README, "Alternatives and wildcards"):

* ``{a|b|c}`` is a group of alternatives: a brace pair holding at least one ``|``.  Several groups expand to
  their cross product, the first group varying slowest.  An alternative may be empty (``{red |}cat``).
* ``{text}`` without a ``|`` is literal text, so a prompt that happens to hold braces is sent as it was.
  (In a template, ``{name}`` is a variable; templates.py fills those in before this runs.)
* ``__name__`` draws a line from the wildcard file ``name.txt`` (in ``--wildcards DIR``, then the data folder's
  ``wildcards/``); each non-empty line not starting with ``#`` is one alternative, inserted as written.
* ``\\{``, ``\\}``, ``\\|`` and ``\\_`` are the characters themselves; any other backslash is kept as it is.
* A group inside a group is an error naming the column; so is a group that is never closed.

``all`` gives every combination in a stable order; ``random:N`` draws N different combinations with a seed, so
the same seed chooses the same prompts again.  The core never prints: problems are UsageErrors.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

from glm_image_cli.errors import UsageError
from glm_image_cli.messages import Text

DEFAULT_MAX_PROMPTS = 100  # --max-images: more expansions than this are refused before anything is sent
MAX_WILDCARD_BYTES = 1 << 20  # a wildcard file is a list of words, never megabytes
MAX_WILDCARD_LINES = 10_000
_ESCAPES = {"{": "{", "}": "}", "|": "|", "_": "_"}
_WILDCARD = re.compile(r"__([^\W_](?:[\w.-]*[^\W_])?)__")  # __name__: letters, digits, _ . - inside
WILDCARD_NAME = re.compile(r"[^\W_](?:[\w.-]*[^\W_])?")


@dataclass(frozen=True)
class Group:
    """One choice in the prompt: its alternatives and the 1-based column it starts at."""

    options: tuple[str, ...]
    column: int
    wildcard: str | None = None  # __name__: the wildcard file's name


Part = str | Group


@dataclass(frozen=True)
class ExpandMode:
    """``all`` (every combination) or ``random:N`` with a seed (None: one is chosen and recorded)."""

    count: int | None = None  # None: all
    seed: int | None = None

    @classmethod
    def parse(cls, text: str | None, seed: int | None = None) -> ExpandMode:
        value = (text or "all").strip().lower()
        if value == "all":
            return cls(None, seed)
        name, _, count = value.partition(":")
        if name == "random" and count.strip().isdigit() and int(count) >= 1:
            return cls(int(count), seed)
        raise UsageError("expand_bad_mode", value=text)

    def __str__(self) -> str:
        return "all" if self.count is None else f"random:{self.count}"


@dataclass(frozen=True)
class Expanded:
    """One prompt the text stands for, and how it was chosen (recorded in each image's recipe)."""

    prompt: str
    origin: Mapping[str, Any]


class Wildcards:
    """Where ``__name__`` finds ``name.txt``: the folders in order (``--wildcards DIR`` first)."""

    def __init__(self, folders: Sequence[Path | str]) -> None:
        self.folders = [Path(folder).expanduser() for folder in folders]
        self._lines: dict[str, tuple[str, ...]] = {}

    def lines(self, name: str, column: int) -> tuple[str, ...]:
        if name not in self._lines:
            self._lines[name] = self._read(name, column)
        return self._lines[name]

    def _read(self, name: str, column: int) -> tuple[str, ...]:
        from glm_image_cli.safefile import UnreadableFile, read_regular

        searched = [folder / f"{name}.txt" for folder in self.folders]
        for path in searched:
            if not path.exists():
                continue
            try:
                text = read_regular(path, MAX_WILDCARD_BYTES).decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise UsageError("wildcard_unreadable", path=str(path),
                                 detail=Text("detail_not_utf8", offset=exc.start)) from None
            except (OSError, UnreadableFile) as exc:
                raise UsageError("wildcard_unreadable", path=str(path), detail=exc.strerror or str(exc)) from None
            found = tuple(line.strip() for line in text.splitlines()
                          if line.strip() and not line.strip().startswith("#"))[:MAX_WILDCARD_LINES]
            if not found:
                raise UsageError("wildcard_empty", path=str(path))
            return found
        raise UsageError("wildcard_missing", name=name, column=column,
                         paths=", ".join(str(path) for path in searched) or "-")


def parse(text: str, wildcards: Wildcards | None = None) -> list[Part]:
    """The prompt as literal text and groups.  ``wildcards`` None leaves ``__name__`` as written."""
    parts: list[Part] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in _ESCAPES:
            literal.append(text[i + 1])
            i += 2
        elif char == "{":
            i, found = _group_at(text, i)
            if isinstance(found, str):
                literal.append(found)
            else:
                parts += ["".join(literal), found]
                literal = []
        elif char == "_" and wildcards is not None and (match := _WILDCARD.match(text, i)):
            parts += ["".join(literal), Group(wildcards.lines(match.group(1), i + 1), i + 1, match.group(1))]
            literal = []
            i = match.end()
        else:
            literal.append(char)
            i += 1
    parts.append("".join(literal))
    return [part for part in parts if part != ""]


def _group_at(text: str, start: int) -> tuple[int, Group | str]:
    """The brace pair opening at ``start``: (where parsing goes on, the group, or the literal text it is)."""
    options: list[str] = []
    current: list[str] = []
    piped = False
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in _ESCAPES:
            current.append(text[i + 1])
            i += 2
            continue
        if char == "{":  # braces inside braces: JSON-like text is literal, a group inside a group an error
            end = _balancing_close(text, start)
            if "|" in text[start:end].replace("\\|", ""):
                raise UsageError("expand_nested", column=i + 1)
            return end, _unescape(text[start:end])
        if char == "}":
            if not piped:
                return i + 1, "{" + "".join(current) + "}"  # {text}: literal, braces and all
            options.append("".join(current))
            return i + 1, Group(tuple(options), start + 1)
        if char == "|":
            piped = True
            options.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    if piped:
        raise UsageError("expand_unclosed", column=start + 1)
    return start + 1, "{"  # a lone "{": literal


def _balancing_close(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    return len(text)


def _unescape(text: str) -> str:
    return re.sub(r"\\([{}|_])", r"\1", text)


def count(parts: Sequence[Part]) -> int:
    total = 1
    for part in parts:
        if isinstance(part, Group):
            total *= len(part.options)
    return total


def expand(text: str, mode: ExpandMode | None = None, *, wildcards: Wildcards | None = None,
           limit: int | None = DEFAULT_MAX_PROMPTS) -> list[Expanded]:
    """The prompts ``text`` stands for.  More than ``limit`` is refused (with the count) before anything else;
    a text without groups is itself, with no origin recorded."""
    mode = mode or ExpandMode()
    parts = parse(text, wildcards)
    groups = [part for part in parts if isinstance(part, Group)]
    if not groups:
        return [Expanded(_join(parts, ()), {})]
    total = count(parts)
    wanted = total if mode.count is None else min(mode.count, total)
    if limit is not None and wanted > limit:
        raise UsageError("expand_too_many", count=wanted, limit=limit)
    origin: dict[str, Any] = {"source": text, "expand": str(mode)}
    if mode.count is None:
        picks: Iterator[tuple[int, ...]] | list[tuple[int, ...]] = product(*(range(len(g.options)) for g in groups))
    else:
        seed = mode.seed if mode.seed is not None else random.SystemRandom().randrange(1 << 31)
        origin["seed"] = seed
        picks = [_combination(number, groups) for number in random.Random(seed).sample(range(total), wanted)]
    return [Expanded(_join(parts, pick), {**origin, "choices": [g.options[n] for g, n in zip(groups, pick,
                                                                                             strict=True)]})
            for pick in picks]


def _combination(number: int, groups: Sequence[Group]) -> tuple[int, ...]:
    """The ``number``-th combination in the order ``all`` gives them (the first group varies slowest)."""
    picks = []
    for group in reversed(groups):
        number, pick = divmod(number, len(group.options))
        picks.append(pick)
    return tuple(reversed(picks))


def _join(parts: Sequence[Part], picks: Sequence[int]) -> str:
    chosen = iter(picks)
    return "".join(part if isinstance(part, str) else part.options[next(chosen)] for part in parts)


def stable_seed(text: str) -> int:
    """A seed made from the text itself: a batch line without --seed draws the same prompts on every re-run."""
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big") >> 1


def escape(text: str) -> str:
    """``text`` written so that expanding it gives it back unchanged (failed.jsonl's prompts are run again)."""
    text = re.sub(r"[{}|]", lambda match: "\\" + match.group(), text)
    return _WILDCARD.sub(lambda match: "\\_\\_" + match.group()[2:], text)
