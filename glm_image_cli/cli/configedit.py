"""`glm-image config edit`: the config file in the user's editor, checked before it replaces the old one.

The editor works on a draft beside the file (``config.edit.toml``, mode 0600: it may hold the key).  When the
editor closes, the draft is checked as `config set` checks one value; a valid draft replaces the file in one
step, keeping its comments and layout; an invalid one leaves the file as it was, says why and stays as the
draft, which the next `config edit` continues (on a terminal it offers to edit again at once).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from glm_image_cli.errors import ConfigError
from glm_image_cli.messages import Text
from glm_image_cli.safefile import UnreadableFile, read_regular
from glm_image_cli.storage.atomic import failure_detail, write_atomic
from glm_image_cli.storage.config import MAX_CONFIG_BYTES

FALLBACK_EDITORS = ("editor", "nano", "vi")  # POSIX, in this order; Windows has Notepad


@dataclass(frozen=True)
class EditOutcome:
    """What became of the file: "saved" or "unchanged"; ``resumed`` when an earlier rejected draft was used."""

    result: str
    resumed: bool


def editor_command(environ: Mapping[str, str], platform: str = sys.platform) -> list[str]:
    """$VISUAL, else $EDITOR (either may carry arguments: "code --wait"), else the platform's own editor."""
    for name in ("VISUAL", "EDITOR"):
        value = environ.get(name, "").strip()
        if value:
            words = shlex.split(value, posix=platform != "win32")
            return [word[1:-1] if len(word) > 1 and word[0] == word[-1] == '"' else word for word in words]
    if platform == "win32":
        return ["notepad"]
    for candidate in FALLBACK_EDITORS:
        found = shutil.which(candidate)
        if found:
            return [found]
    raise ConfigError("config_edit_no_editor")


def draft_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.edit{path.suffix or '.toml'}")


def _read(path: Path) -> bytes | None:
    try:
        return read_regular(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        return None
    except UnreadableFile as exc:
        raise ConfigError("config_unreadable", path=str(path), detail=exc.detail) from None
    except OSError as exc:
        raise ConfigError("config_unreadable", path=str(path), detail=exc.strerror or str(exc)) from None


def _write(path: Path, data: bytes) -> None:
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
        write_atomic(path, data, durable=True, mode=0o600)
    except OSError as exc:
        raise ConfigError("config_unwritable", path=str(path), detail=failure_detail(exc)) from None


def edit_config(path: Path, editor: list[str], header: str, *,
                edit_again: Callable[[Text], bool] | None = None,
                on_resume: Callable[[Path], None] | None = None) -> EditOutcome:
    """Run ``editor`` on a draft of ``path`` until the draft is valid (saved), unchanged, or refused.

    ``header`` starts the draft of a file that does not exist yet; ``edit_again(reason)`` is asked after an
    invalid draft (None: no one to ask, the draft is refused).  Raises ConfigError when nothing was saved for a
    reason the user must act on (invalid draft, editor failure, the file changed meanwhile)."""
    from glm_image_cli.core.settingcheck import file_problem

    original = _read(path)
    draft = draft_path(path)
    earlier = _read(draft)
    resumed = earlier is not None and earlier != original
    start = earlier if resumed else (original if original is not None else header.encode("utf-8"))
    if resumed and on_resume is not None:
        on_resume(draft)
    _write(draft, start)
    while True:
        try:
            _run(editor, draft, path)
        except ConfigError:
            if _read(draft) == start and not resumed:  # nothing of the user's is in the draft
                draft.unlink(missing_ok=True)
            raise
        edited = _read(draft) or b""
        if edited == (original if original is not None else header.encode("utf-8")):
            draft.unlink(missing_ok=True)
            return EditOutcome("unchanged", resumed)
        problem = file_problem(draft)
        if problem is None:
            if _read(path) != original:  # `config set` (or another editor) wrote it meanwhile: never lose theirs
                raise ConfigError("config_edit_changed_meanwhile", path=str(path), draft=str(draft))
            _write(path, edited)
            draft.unlink(missing_ok=True)
            return EditOutcome("saved", resumed)
        if edit_again is None or not edit_again(problem):
            raise ConfigError("config_edit_invalid", reason=problem, path=str(path), draft=str(draft))


def _run(editor: list[str], draft: Path, path: Path) -> None:
    try:
        completed = subprocess.run([*editor, str(draft)], check=False)
    except OSError as exc:
        raise ConfigError("config_edit_not_run", editor=" ".join(editor), detail=exc.strerror or str(exc),
                          path=str(path)) from None
    if completed.returncode != 0:
        raise ConfigError("config_edit_editor_failed", editor=" ".join(editor), status=completed.returncode,
                          path=str(path))
