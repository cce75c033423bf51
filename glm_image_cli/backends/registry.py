"""The backends by name: the one place a ``backend`` setting's value is compared with anything.

Everything else asks the ``Backend`` object (base.py) what it may do.  Each backend is loaded when first named:
its client imports httpx, which `glm-image --help` must not pay for (the settings only need the names).
"""

from __future__ import annotations

from collections.abc import Callable

from glm_image_cli.backends.base import Backend
from glm_image_cli.errors import ConfigError
from glm_image_cli.messages import Text


def _bigmodel() -> Backend:
    from glm_image_cli.backends.bigmodel import BIGMODEL

    return BIGMODEL


def _openai() -> Backend:
    from glm_image_cli.backends.openai import OPENAI

    return OPENAI


# name -> how to load it.  A new backend: a module with its Backend object, and one line here.
BACKENDS: dict[str, Callable[[], Backend]] = {"bigmodel": _bigmodel, "openai": _openai}
BACKEND_NAMES: tuple[str, ...] = tuple(BACKENDS)
DEFAULT_BACKEND = "bigmodel"  # the hosted BigModel API, the `backend` setting's default


def backend_named(name: str | None) -> Backend:
    """The backend a ``backend`` setting names (None: the default).  The settings refuse other names when they
    are read; one that gets here anyway is the same settings error: "Invalid value for backend: must be one of
    bigmodel, openai" (exit 3)."""
    key = DEFAULT_BACKEND if name is None else name.strip().lower()
    load = BACKENDS.get(key)
    if load is None:
        raise ConfigError("config_bad_value", key="backend",
                          reason=Text("reason_choices", choices=", ".join(BACKEND_NAMES)))
    return load()


def default_backend() -> Backend:
    """The backend used when none is named (library calls and tests that build plans directly)."""
    return backend_named(None)
