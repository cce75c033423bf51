"""Which language the user wants: ``--lang``, then GLM_IMAGE_LANG, then the config file's ``lang``, then the locale.

Kept out of the catalogue (glm_image_cli.messages) because it reads the config file, and config renders
catalogue messages: here the dependency runs one way.  entry.py's static-help fast path imports this
module, so nothing heavy (Typer, Rich, httpx) may be imported here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import cache

from glm_image_cli.messages import HELP, LANGUAGES
from glm_image_cli.storage.config import config_path, read_config_file


def language_from_locale(environ: Mapping[str, str] | None = None) -> str:
    """'zh' when the first set locale variable starts with zh (LC_ALL > LC_MESSAGES > LANG), else 'en'."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def configured_language(environ: Mapping[str, str] | None = None) -> str | None:
    """GLM_IMAGE_LANG in ``environ`` (os.environ), else the config file's lang, read leniently: a broken file
    must not stop us from reporting (in the user's language) that it is broken, nor stop --help."""
    env = os.environ if environ is None else environ
    value = env.get("GLM_IMAGE_LANG")
    if not value:
        try:
            value = read_config_file(config_path(env)).get("lang")
        except Exception:
            return None
    return value.strip().lower() if isinstance(value, str) else None


def choose_language(flag: str | None, configured: str | None) -> str:
    """``--lang`` beats the ``lang`` setting (file or env), which beats the locale."""
    for candidate in (flag, configured):
        if candidate in LANGUAGES:
            return candidate
    return language_from_locale()


@cache
def help_language() -> str:
    """The language of --help texts, settled once per process before Typer builds the commands (help texts
    are fixed at import time): --lang in argv, GLM_IMAGE_LANG, the config file's lang, else the locale."""
    return language_for(sys.argv[1:])


def language_for(argv: list[str]) -> str:
    """The language a command line asks for: its --lang (anywhere), else the setting, else the locale."""
    flag = next((argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--lang"), None)
    flag = flag or next((arg.split("=", 1)[1] for arg in argv if arg.startswith("--lang=")), None)
    lang = choose_language(flag.lower()[:2] if flag else None, configured_language())
    return lang if lang in LANGUAGES else "en"


def help_texts(keys: list[str], lang: str) -> dict[str, str]:
    """Several --help texts (messages.HELP) in ``lang``."""
    return {key: HELP[key][1 if lang == "zh" else 0] for key in keys}


def help_text(key: str) -> str:
    """A --help text (messages.HELP) in ``help_language()``."""
    english, chinese = HELP[key]
    return chinese if help_language() == "zh" else english
