"""`glm-image mcp`: serve the image tools to assistants over stdio (Model Context Protocol)."""

from __future__ import annotations

import typer

from glm_image_cli.cli.commands.common import LangOption, begin
from glm_image_cli.cli.language import help_text
from glm_image_cli.errors import UsageError

HELP = help_text("cmd.mcp")


def mcp(ctx: typer.Context, lang: LangOption = None) -> None:
    state = begin(ctx, lang=lang)
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError:
        raise UsageError("mcp_missing") from None
    from glm_image_cli.mcpserver.tools import build_server

    build_server(state.lang).run("stdio")
