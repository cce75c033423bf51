"""The Typer layer: one module per command group, each only parsing, calling and rendering."""
