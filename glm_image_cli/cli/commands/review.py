"""--review: on a terminal, the prompt rewrite is shown and the user accepts it, edits it ($EDITOR, else inline)
or cancels (exit 130, no image requested).  Without a terminal it is a usage error naming --yes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from glm_image_cli.cli.language import help_text
from glm_image_cli.messages import render

if TYPE_CHECKING:
    from glm_image_cli.cli.commands.common import RunState

ReviewOption = Annotated[bool, typer.Option("--review", help=help_text("opt.review"))]

ACCEPT = ("", "a", "accept", "y", "yes")
EDIT = ("e", "edit")
CANCEL = ("c", "cancel", "n", "no", "q", "quit")


def check_review(state: RunState, review: bool, yes: bool) -> None:
    """Before anything is sent: --review needs a terminal to ask on (--yes accepts without asking)."""
    from glm_image_cli.errors import UsageError

    if review and not yes and not state.terminal.stdin_tty:
        raise UsageError("review_needs_terminal")


def review_text(state: RunState, text: str, label: str | None = None) -> str:
    """The text to send: the rewrite as it is, or as edited.  Cancelling ends the run with exit code 130."""
    from glm_image_cli.errors import ExitCode

    ui = state.ui()
    while True:
        question = render("review_question")
        answer = typer.prompt(f"{label}: {question}" if label else question, default="a", show_default=False,
                              err=True).strip().lower()
        if answer in ACCEPT:
            return text
        if answer in CANCEL:
            ui.note(render("review_cancelled"))
            raise typer.Exit(int(ExitCode.INTERRUPTED))
        if answer in EDIT:
            edited = _edit(text, state.terminal.editor, state.terminal)
            if edited:
                return edited


def _edit(text: str, editor: str | None, terminal: Any) -> str:
    """In ``editor`` ($EDITOR, else $VISUAL) when set (unchanged or unsaved: the rewrite as it was), else on the
    terminal's line, the rewrite already on it to edit (cli/lineedit.py)."""
    import click

    if editor:
        edited = click.edit(text, editor=editor, extension=".txt", require_save=False)
        result = text if edited is None else edited
    else:
        from glm_image_cli.cli.lineedit import edit_line

        try:
            result = edit_line(render("review_edit_line"), text, terminal,
                               fallback_prompt=render("review_edit_keep"))
        except (EOFError, KeyboardInterrupt):  # Ctrl-D / Ctrl-C on the line: back to the question
            return ""
    return " ".join(result.split()) if "\n" in result else result.strip()
