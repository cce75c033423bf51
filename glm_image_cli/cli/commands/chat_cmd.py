"""`glm-image chat`: an interactive session to make and refine images by talking.

The conversation itself lives in glm_image_cli.chat.conversation.

On a terminal: a prompt line with line editing, a history kept between sessions (data folder, ``chat-history``)
and TAB completion of slash commands, styles and models.  With stdin not a terminal (``glm-image chat <
turns.txt``): one turn or slash command per line, no questions: a turn estimated above ``confirm-above`` is
refused with one line unless ``--yes`` is given.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from glm_image_cli.cli.commands.common import (
    ModelOption,
    OutputDirOption,
    SizeOption,
    StyleOption,
    YesOption,
    leave_abandoned,
    report_saver_notes,
    state_of,
)
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text

HELP = help_text("cmd.chat")

ChatEnhanceOption = Annotated[bool, typer.Option("--enhance/--no-enhance", help=help_text("opt.chat_enhance"))]
ChatSamplesOption = Annotated[int, typer.Option("--samples", "-n", help=help_text("opt.samples"), metavar="N")]


@output_options()
def chat(
    ctx: typer.Context,
    model: ModelOption = None,
    style: StyleOption = None,
    size: SizeOption = None,
    samples: ChatSamplesOption = 1,
    enhance: ChatEnhanceOption = True,
    output_dir: OutputDirOption = None,
    yes: YesOption = False,
    preview: Annotated[bool | None, typer.Option("--preview/--no-preview", help=help_text("opt.chat_preview"),
                                                 show_default=False)] = None,
) -> None:
    from glm_image_cli.chat.conversation import ChatSession
    from glm_image_cli.chat.promptline import (
        HISTORY_FILE,
        install_readline,
        model_names,
        piped_lines,
        read_lines,
        style_names,
    )
    from glm_image_cli.cli.chatio import TerminalChatIO

    state = state_of(ctx)
    interactive = state.terminal.stdin_tty
    io = TerminalChatIO(state.ui(), interactive=interactive, yes=yes, preview=preview)
    session = ChatSession(state, io, model=model, style=style, size=size, samples=samples, enhance=enhance,
                          output_dir=output_dir, saver_notes=lambda saver: report_saver_notes(state, saver))
    from glm_image_cli.core.results import Abandoned

    try:
        if not interactive:
            raise typer.Exit(session.run(piped_lines(sys.stdin)))
        from glm_image_cli.storage.history import data_dir

        save_history = install_readline(data_dir() / HISTORY_FILE, style_names(session.cfg), model_names())
        try:
            code = session.run(read_lines(lambda: "glm-image> ", lambda: state.output.line("stderr", "")))
        finally:
            save_history()
    except Abandoned as abandoned:  # a second Ctrl-C while images were in flight: leave without them
        leave_abandoned(state, abandoned.in_flight)
    raise typer.Exit(code)
