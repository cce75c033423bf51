"""The API key in the system keyring (macOS Keychain, Windows Credential Locker, Secret Service, KWallet) through
the optional ``keyring`` package: the config file then holds only ``api-key = "@keyring"``.

Each table of the file has its own entry: ``api-key`` for the top level, ``api-key@NAME`` for [profiles.NAME],
under the service ``glm-image``.  Every failure is one settings error (exit 3) that says what to install or do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from glm_image_cli.errors import ConfigError

KEYRING_MARKER = "@keyring"  # the value the config file holds in place of a key kept in the keyring
SERVICE = "glm-image"
KEYRING_KEYS = ("api-key",)  # the settings --keyring can store


def entry_name(key: str, profile: str | None) -> str:
    """The keyring entry of ``key`` in the top-level table (``api-key``) or in [profiles.NAME] (``api-key@NAME``)."""
    return key if profile is None else f"{key}@{profile}"


def _backend() -> Any:
    try:
        import keyring
    except ImportError:
        raise ConfigError("keyring_missing") from None
    return keyring


def _unavailable(exc: Exception) -> ConfigError:
    """No usable keyring (no backend, locked, refused): the first sentence of why, on one line."""
    detail = " ".join(str(exc).split()).split(". ")[0].rstrip(".") or type(exc).__name__
    return ConfigError("keyring_unavailable", detail=detail[:160])


def require_usable() -> None:
    """Before asking for a key to keep there: the package is installed and a keyring service answers (keyring's
    "fail" backend is what it chooses when there is none), so nobody types a key only to be told no."""
    keyring = _backend()
    try:
        chosen = keyring.get_keyring()
    except Exception as exc:
        raise _unavailable(exc) from None
    if type(chosen).__module__.endswith("backends.fail"):
        raise _unavailable(RuntimeError("No recommended backend was available"))


def store(key: str, profile: str | None, value: str) -> str:
    """Keep ``value`` in the keyring; returns the entry's name."""
    keyring = _backend()
    name = entry_name(key, profile)
    try:
        keyring.set_password(SERVICE, name, value)
    except Exception as exc:  # keyring.errors.KeyringError, and a backend's own (D-Bus, locked, refused)
        raise _unavailable(exc) from None
    return name


def fetch(key: str, profile: str | None, path: Path) -> str:
    """The value of ``key`` kept in the keyring, or the settings error that says why there is none."""
    keyring = _backend()
    name = entry_name(key, profile)
    try:
        value = keyring.get_password(SERVICE, name)
    except Exception as exc:
        raise _unavailable(exc) from None
    if not value:
        raise ConfigError("keyring_entry_missing", path=str(path), key=key, service=SERVICE, account=name)
    return str(value)


def forget(key: str, profile: str | None) -> bool:
    """Remove the entry, if the keyring can be reached and has it; returns whether one was removed."""
    try:
        keyring = _backend()
        keyring.delete_password(SERVICE, entry_name(key, profile))
    except Exception:  # nothing to remove, or no keyring: the file no longer points at it either way
        return False
    return True
