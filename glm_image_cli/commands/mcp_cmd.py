"""`glm-image mcp`: serve the image tools to assistants over stdio (Model Context Protocol)."""

from __future__ import annotations

import typer

from glm_image_cli.commands.common import LangOption, begin
from glm_image_cli.errors import UsageError

HELP = """Run an MCP server over stdio so assistants (Claude Desktop, Cursor, …) can make images.
以 MCP 协议（stdio）为智能助手提供生图工具。

Needs the optional extra: pip install 'glm-image[mcp]'.  Tools: generate_image, list_styles, list_models.

Register it with a client, e.g. {"mcpServers": {"glm-image": {"command": "glm-image", "args": ["mcp"]}}}
"""


def mcp(ctx: typer.Context, lang: LangOption = None) -> None:
    state = begin(ctx, lang=lang)
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError:
        raise UsageError("mcp_missing") from None
    from glm_image_cli.mcp_server import build_server

    build_server(state.lang).run("stdio")
