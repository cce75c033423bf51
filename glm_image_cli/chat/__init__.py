"""The `chat` front end: a conversation that makes and refines images.

May import: core and below."""
