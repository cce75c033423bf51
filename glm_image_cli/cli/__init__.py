"""The command-line front end: Typer commands, terminal output, help pages, completion, previews.

May import anything below it, and start the other front ends (chat, serve, mcp)."""
