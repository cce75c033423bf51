"""Backends: the wire calls of each upstream (BigModel, OpenAI-compatible servers) and their rules.

May import: the foundation (messages, errors) only."""
