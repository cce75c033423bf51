"""`--encoding NAME` for prompts given as bytes: batch's input file (or `-`) and generate's `-`."""

from __future__ import annotations

from typing import Annotated

import typer

from glm_image_cli.cli.commands.completion import complete_encoding
from glm_image_cli.cli.language import help_text

EncodingOption = Annotated[str | None, typer.Option("--encoding", help=help_text("opt.encoding"), show_default=False,
                                                    metavar="NAME", autocompletion=complete_encoding)]
