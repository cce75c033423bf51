"""The `serve` front end: a hardened local HTTP service over the library API.

May import: core and below."""
