"""The terminal side of `glm-image chat`: where the conversation's words go, how it asks, its previews."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glm_image_cli.storage.config import ResolvedConfig


class TerminalChatIO:
    """The chat's words on the terminal, through the run's Ui; questions asked there."""

    def __init__(self, ui: Any, *, interactive: bool, yes: bool = False,
                 ask: Callable[[str], bool] | None = None, preview: bool | None = None) -> None:
        self.ui = ui
        self.interactive = interactive
        self.yes = yes
        self._ask = ask
        self.preview_flag = preview  # --preview/--no-preview (None: the `preview` setting)

    def result(self, text: str) -> None:
        self.ui.result(text)

    def note(self, text: str) -> None:
        self.ui.note(text)

    def warn(self, text: str) -> None:
        self.ui.warn(text)

    def error(self, text: str) -> None:
        self.ui.error(text)

    def confirm(self, question: str) -> bool:
        if self._ask is not None:
            return self._ask(question)
        from glm_image_cli.cli.commands.common import confirm_or_no

        return confirm_or_no(question)  # Ctrl-C or Ctrl-D: "no", and the session goes on

    def preview(self, state: Any, cfg: ResolvedConfig, paths: list[Path]) -> None:
        """After each turn, at `chat-preview-width` (smaller than a run's picture: the conversation goes on)."""
        if self.interactive and state.terminal.stdout_tty and self.preview_flag is not False:
            from glm_image_cli.cli.preview import preview_files

            width = (getattr(cfg, "values", {}) or {}).get("chat-preview-width")
            preview_files(state, cfg, paths, self.preview_flag, width=float(width) if width else None)
