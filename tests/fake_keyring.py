"""A keyring backend that keeps passwords in a dict, for `--keyring` tests: never the real OS keychain.

``with memory_keyring() as store:`` puts one in place for the block (keyring.set_keyring) and restores the
backend that was there before, so no test leaks its keyring into another."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from keyring import core
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]  # chosen only when set explicitly

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@contextmanager
def using_keyring(backend: KeyringBackend) -> Iterator[KeyringBackend]:
    before = core._keyring_backend  # None until first used: then the next use detects one again
    core.set_keyring(backend)
    try:
        yield backend
    finally:
        core._keyring_backend = before
