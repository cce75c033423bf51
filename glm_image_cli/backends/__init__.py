"""Backends: the wire calls of each upstream (BigModel, OpenAI-compatible servers) and their rules.  base.py says
what a backend is (the Backend protocol), registry.py finds one by name, transport.py is the HTTP all clients share.

May import: the foundation (messages, errors) only."""
