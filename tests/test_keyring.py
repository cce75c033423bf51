"""`config set api-key --keyring` (issue 26, item 16): the key in the system keyring through the optional
`keyring` package, only a marker in the config file, `config show` saying where it lives, profiles with their own
entries, and a one-line error naming the extra when the package or a keyring is missing.  The keyring is an
in-memory backend (tests/fake_keyring.py), never the machine's own."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pytest
from keyring.backends import fail

from tests.fake_bigmodel import DEFAULT_KEY, SYNC_ROUTE
from tests.fake_keyring import MemoryKeyring, using_keyring


@pytest.fixture
def memory() -> MemoryKeyring:
    with using_keyring(MemoryKeyring()) as backend:
        yield backend


def test_the_key_goes_to_the_keyring_and_the_file_keeps_a_marker(cli, isolated: Path, memory) -> None:
    result = cli("config", "set", "api-key", "--keyring", "-", input=DEFAULT_KEY + "\n")
    assert result.exit_code == 0, result.stderr
    assert "Saved api-key in the system keyring (glm-image / api-key)" in result.stderr
    assert "fake…PART" in result.stderr
    assert memory.passwords == {("glm-image", "api-key"): DEFAULT_KEY}
    assert tomllib.loads(isolated.read_text(encoding="utf-8")) == {"api-key": "@keyring"}
    assert DEFAULT_KEY not in isolated.read_text(encoding="utf-8")
    shown = json.loads(cli("config", "show", "--json").stdout)["settings"]["api-key"]
    assert shown == {"value": "fake…PART", "source": "keyring:glm-image:api-key"}
    table = cli("config", "show").stdout
    assert "system keyring (glm-image / api-key)" in table and "fake…PART" in table
    assert "系统密钥环（glm-image / api-key）" in cli("--lang", "zh", "config", "show").stdout
    assert cli("config", "get", "api-key").stdout == "fake…PART\n"


def test_a_key_from_the_keyring_is_the_one_sent(cli, fake, memory, monkeypatch) -> None:
    monkeypatch.delenv("GLM_API_KEY")
    assert cli("config", "set", "api-key", DEFAULT_KEY, "--keyring").exit_code == 0
    result = cli("generate", "a cat", "--json")
    assert result.exit_code == 0, result.stderr
    assert fake.seen(SYNC_ROUTE)[0].headers["authorization"] == f"Bearer {DEFAULT_KEY}"


def test_profiles_have_their_own_entries_and_unset_removes_them(cli, isolated: Path, memory) -> None:
    cli("config", "set", "api-key", "top.level-key-000", "--keyring")
    result = cli("config", "set", "--profile", "gpu", "api-key", "gpu.server-key-00", "--keyring")
    assert "system keyring (glm-image / api-key@gpu)" in result.stderr
    assert memory.passwords[("glm-image", "api-key@gpu")] == "gpu.server-key-00"
    data = tomllib.loads(isolated.read_text(encoding="utf-8"))
    assert data == {"api-key": "@keyring", "profiles": {"gpu": {"api-key": "@keyring"}}}
    shown = json.loads(cli("--profile", "gpu", "config", "show", "--json").stdout)["settings"]["api-key"]
    assert shown == {"value": "gpu.…y-00", "source": "keyring:glm-image:api-key@gpu"}
    removed = cli("config", "unset", "--profile", "gpu", "api-key")
    assert "and from the system keyring" in removed.stderr
    assert ("glm-image", "api-key@gpu") not in memory.passwords
    assert ("glm-image", "api-key") in memory.passwords
    cli("config", "set", "api-key", "now.in-the-file-0")  # back into the file: no stale copy in the keyring
    assert memory.passwords == {}
    assert tomllib.loads(isolated.read_text(encoding="utf-8"))["api-key"] == "now.in-the-file-0"


def test_only_the_api_key_goes_to_the_keyring(cli, isolated: Path, memory) -> None:
    result = cli("config", "set", "model", "glm-image", "--keyring")
    assert result.exit_code == 2 and "--keyring keeps the API key (api-key)" in result.stderr
    assert memory.passwords == {} and not isolated.exists()


def test_without_the_keyring_package_the_error_names_the_extra(cli, isolated: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # as if not installed: the import fails
    result = cli("config", "set", "api-key", DEFAULT_KEY, "--keyring")
    assert result.exit_code == 3 and not isolated.exists()
    assert "pip install 'glm-image[keyring]'" in result.stderr and result.stderr.count("\n") == 1
    assert json.loads(cli("config", "set", "api-key", DEFAULT_KEY, "--keyring", "--json").stdout)["error"]["code"] \
        == "KEYRING_MISSING"
    zh = cli("--lang", "zh", "config", "set", "api-key", DEFAULT_KEY, "--keyring")
    assert "未安装 keyring 包" in zh.stderr
    isolated.parent.mkdir(exist_ok=True)
    isolated.write_text('api-key = "@keyring"\n', encoding="utf-8")
    assert cli("styles").exit_code == 0  # a command that needs no key still runs
    shown = cli("config", "show")
    assert shown.exit_code == 0 and "glm-image[keyring]" in shown.stderr
    generate = cli("generate", "a cat")
    assert generate.exit_code == 3 and "pip install 'glm-image[keyring]'" in generate.stderr
    ping = json.loads(cli("ping", "--json", env={"GLM_BASE_URL": "http://127.0.0.1:9"}).stdout)  # no network
    key_check = next(check for check in ping["checks"] if check["name"] == "api_key")
    assert not key_check["ok"] and "glm-image[keyring]" in key_check["detail"]


def test_without_a_usable_keyring_or_entry_the_error_says_so(cli, isolated: Path, fake, monkeypatch) -> None:
    monkeypatch.delenv("GLM_API_KEY")
    with using_keyring(fail.Keyring()):
        result = cli("config", "set", "api-key", DEFAULT_KEY, "--keyring", "--json")
        assert result.exit_code == 3
        assert json.loads(result.stdout)["error"]["code"] == "KEYRING_UNAVAILABLE"
        assert "The system keyring cannot be used (No recommended backend was available" in result.stderr
        assert not isolated.exists()
    isolated.parent.mkdir(exist_ok=True)
    isolated.write_text('api-key = "@keyring"\n', encoding="utf-8")
    with using_keyring(MemoryKeyring()):
        missing = cli("generate", "a cat", "--json")
        assert missing.exit_code == 3
        assert json.loads(missing.stdout)["error"]["code"] == "KEYRING_ENTRY_MISSING"
        assert "has no entry 'api-key' for service 'glm-image'" in missing.stderr
        assert "config set api-key --keyring" in missing.stderr
        assert cli("generate", "a cat", env={"GLM_API_KEY": DEFAULT_KEY}).exit_code == 0  # the environment wins
    assert fake.count(SYNC_ROUTE) == 1


def test_without_a_keyring_service_nobody_is_asked_to_type_the_key_first(cli, isolated: Path) -> None:
    from glm_image_cli.cli.terminal import Terminal

    with using_keyring(fail.Keyring()):
        result = cli("config", "set", "api-key", "--keyring", input=f"{DEFAULT_KEY}\n",
                     terminal=Terminal(stdin_tty=True, stdout_tty=False, stderr_tty=True))
    assert result.exit_code == 3
    assert "(input hidden)" not in result.stdout + result.stderr  # refused before the question
    assert "no keyring service running" in result.stderr and "pip install" not in result.stderr
