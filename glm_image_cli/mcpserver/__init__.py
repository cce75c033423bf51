"""The MCP front end: image tools for assistants over stdio.

May import: core and below."""
