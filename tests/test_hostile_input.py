"""Hostile input: every case ends in one line in the user's language, a documented exit code, no traceback,
and nothing sent upstream."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

from glm_image_cli.core.batchinput import read_input
from glm_image_cli.errors import UsageError
from glm_image_cli.storage.config import MAX_CONFIG_BYTES
from tests.conftest import SECRET_PART
from tests.fake_bigmodel import SYNC_ROUTE

NOT_TEXT = "not valid text"
NOT_TEXT_ZH = "无效的文本字符"


def run_bytes(args: list[bytes], timeout: float = 60, **env: str) -> subprocess.CompletedProcess[bytes]:
    """The CLI as a real process, with argv given as bytes (the OS hands Python what is not UTF-8 as such)."""
    completed = subprocess.run([sys.executable.encode(), b"-m", b"glm_image_cli", *args], capture_output=True,
                               timeout=timeout, env={**os.environ, **env}, stdin=subprocess.DEVNULL)
    shown = (completed.stdout + completed.stderr).decode("utf-8", "replace")
    assert "Traceback" not in shown and "Internal error" not in shown and SECRET_PART not in shown
    return completed


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


# --- 1. lone surrogates ----------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "expected"), [("en", NOT_TEXT), ("zh", NOT_TEXT_ZH)])
def test_prompt_argument_that_is_not_utf8(fake, lang: str, expected: str) -> None:
    completed = run_bytes([b"generate", b"--lang", lang.encode(), b"a \xff cat"])
    assert completed.returncode == 2
    line = one_error_line(completed.stderr.decode())
    assert expected in line and "prompt" in line
    assert fake.count(SYNC_ROUTE) == 0


@pytest.mark.parametrize("option", ["--negative", "--style", "--model", "--user-id"])
def test_other_texts_with_surrogates(cli, fake, option: str) -> None:
    result = cli("generate", "a cat", option, "abcdef\udcff")
    assert result.exit_code == 2, result.stderr
    assert "valid text" in one_error_line(result.stderr)  # a setting's flag says "must be valid text"
    assert fake.count(SYNC_ROUTE) == 0


def test_plan_generation_refuses_surrogates_for_every_command() -> None:
    from glm_image_cli.core.plans import plan_generation

    for fields in ({"prompt": "\ud800"}, {"prompt": "x", "negative": "\udcff"}, {"prompt": "x", "style": "\ud800"},
                   {"prompt": "x", "size": "\ud800"}):
        with pytest.raises(UsageError) as caught:
            plan_generation(**{"model": "cogview-4", **fields})
        assert caught.value.message_id == "invalid_text"


def test_batch_line_with_a_surrogate_is_an_invalid_line(cli, fake) -> None:
    Path("items.jsonl").write_text('{"prompt": "fine"}\n{"prompt": "\\ud800"}\n{"prompt": "also fine"}\n',
                                   encoding="utf-8")
    result = cli("batch", "items.jsonl", "-o", "out")
    assert result.exit_code == 2
    assert "line 2:" in result.stderr and NOT_TEXT in result.stderr and "prompt" in result.stderr
    assert fake.count(SYNC_ROUTE) == 0

    result = cli("batch", "items.jsonl", "-o", "out", "--skip-invalid")
    assert result.exit_code == 0, result.stderr
    assert sorted(call.body["prompt"] for call in fake.seen(SYNC_ROUTE)) == ["also fine", "fine"]


def test_batch_surrogates_in_names_keys_and_json_output(cli, fake) -> None:
    Path("items.jsonl").write_text('{"prompt": "x", "name": "\\udcff"}\n{"prompt": "y", "\\ud800": 1}\n'
                                   '{"prompt": "z", "style": "\\ud800"}\n', encoding="utf-8")
    result = cli("batch", "items.jsonl", "-o", "out", "--json")
    assert result.exit_code == 2
    invalid = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"type"')]
    assert [record["line"] for record in invalid] == [1, 2, 3]
    assert all(NOT_TEXT in record["message"] for record in invalid)
    assert fake.count(SYNC_ROUTE) == 0


# --- 2. an output "folder" that is a file ----------------------------------------------------------

@pytest.mark.parametrize("command", [["generate", "a cat"], ["batch", "prompts.txt"]])
def test_output_folder_that_is_a_file(cli, fake, command: list[str]) -> None:
    Path("prompts.txt").write_text("a cat\n", encoding="utf-8")
    Path("taken").write_text("not a folder", encoding="utf-8")
    result = cli(*command, "-o", "taken")
    assert result.exit_code == 11, result.stderr
    line = one_error_line(result.stderr)
    assert "taken" in line and "not a folder" in line
    assert fake.count(SYNC_ROUTE) == 0


def test_output_folder_under_a_file(cli, fake) -> None:
    Path("taken").write_text("not a folder", encoding="utf-8")
    result = cli("generate", "a cat", "-o", "taken/sub")
    assert result.exit_code == 11 and "taken/sub" in one_error_line(result.stderr)
    assert fake.count(SYNC_ROUTE) == 0


# --- 3. the config file ----------------------------------------------------------------------------

def _generate_with_config(cli, isolated: Path, content: bytes) -> str:
    isolated.parent.mkdir(parents=True, exist_ok=True)
    isolated.write_bytes(content)
    result = cli("generate", "a cat", "-o", "out")
    assert result.exit_code == 3, result.stderr
    line = one_error_line(result.stderr)
    assert str(isolated) in line
    return line


def test_config_not_utf8(cli, fake, isolated: Path) -> None:
    line = _generate_with_config(cli, isolated, b'model = "caf\xe9"\n')
    assert "not UTF-8 at byte 12" in line
    assert fake.count(SYNC_ROUTE) == 0


def test_config_nested_too_deeply(cli, fake, isolated: Path) -> None:
    line = _generate_with_config(cli, isolated, b"x = " + b"[" * 50_000 + b"]" * 50_000 + b"\n")
    assert "not valid TOML" in line and "nested too deeply" in line
    assert fake.count(SYNC_ROUTE) == 0


def test_config_too_large(cli, fake, isolated: Path) -> None:
    line = _generate_with_config(cli, isolated, b"# " + b"x" * MAX_CONFIG_BYTES + b"\n")
    assert f"larger than {MAX_CONFIG_BYTES} bytes" in line
    assert fake.count(SYNC_ROUTE) == 0


@pytest.mark.skipif(not Path("/dev/zero").exists() or not hasattr(os, "mkfifo"), reason="POSIX only")
def test_config_that_is_no_regular_file(cli, fake, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)  # opening it for reading in the usual way would wait for a writer forever
    for target in ("/dev/zero", str(fifo), str(tmp_path)):
        result = cli("generate", "a cat", env={"GLM_IMAGE_CONFIG": target})
        assert result.exit_code == 3, result.stderr
        line = one_error_line(result.stderr)
        assert target in line and "not a regular file" in line
    assert fake.count(SYNC_ROUTE) == 0


@pytest.mark.parametrize(("content", "key", "kind"), [
    ('api-key = ["x"]\n', "api-key", "array"),
    ('timeout = [30]\n', "timeout", "array"),
    ('[model]\nname = "cogview-4"\n', "model", "table"),
    ('model = true\n', "model", "boolean"),
    ('confirm-above = true\n', "confirm-above", "boolean"),
    ('user-id = 2024-01-01T00:00:00\n', "user-id", "date-time"),
])
def test_config_value_of_the_wrong_toml_type(cli, fake, isolated: Path, content: str, key: str, kind: str) -> None:
    line = _generate_with_config(cli, isolated, content.encode())
    assert f"invalid {key}" in line and f"not a TOML {kind}" in line
    assert fake.count(SYNC_ROUTE) == 0


def test_config_plain_values_still_work(cli, fake, isolated: Path) -> None:
    isolated.parent.mkdir(parents=True, exist_ok=True)
    isolated.write_text('history = false\nmetadata = "off"\ntimeout = 30\nconcurrency = 2\nconfirm-above = 5\n',
                        encoding="utf-8")
    result = cli("generate", "a cat", "-o", "out")
    assert result.exit_code == 0, result.stderr
    assert fake.count(SYNC_ROUTE) == 1


def test_config_error_in_chinese(cli, fake, isolated: Path) -> None:
    isolated.parent.mkdir(parents=True, exist_ok=True)
    isolated.write_bytes(b'api-key = ["x"]\n')
    result = cli("generate", "a cat", "--lang", "zh")
    assert result.exit_code == 3
    assert "api-key 无效" in one_error_line(result.stderr) and "不能是 TOML array" in result.stderr


@pytest.mark.parametrize(("variable", "value"), [
    ("GLM_API_KEY", "ключ.secret"),
    ("GLM_API_KEY", "abc\udcffdef"),
    ("GLM_BASE_URL", "http://127.0.0.1:99999"),
    ("GLM_BASE_URL", "http://[::1"),
    ("GLM_BASE_URL", "http://\udcff"),
])
def test_settings_the_http_client_cannot_use(cli, fake, variable: str, value: str) -> None:
    result = cli("generate", "a cat", "-o", "out", env={variable: value})
    assert result.exit_code == 3, result.stderr
    assert "Invalid value for" in one_error_line(result.stderr)
    assert fake.count(SYNC_ROUTE) == 0


# --- 4. the MCP server -----------------------------------------------------------------------------

def test_mcp_generate_refuses_surrogates_as_a_usage_error(fake) -> None:
    from glm_image_cli.mcpserver import tools as mcp_server

    with pytest.raises(UsageError) as caught:
        mcp_server._generate("en", "\ud800", None, None, None, 1, None, None, False)
    assert caught.value.message_id == "invalid_text"
    assert fake.count(SYNC_ROUTE) == 0


def test_mcp_answers_a_tool_call_with_a_lone_surrogate(fake, tmp_path: Path) -> None:
    """The `mcp` client cannot even encode such a call, so this speaks JSON-RPC over the pipe itself."""
    pytest.importorskip("mcp", reason="the mcp extra is not installed")
    env = {**os.environ, "GLM_IMAGE_CONFIG": str(tmp_path / "c.toml"), "GLM_IMAGE_DATA_DIR": str(tmp_path / "d")}
    process = subprocess.Popen([sys.executable, "-m", "glm_image_cli", "mcp"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path)

    def send(line: str) -> None:
        process.stdin.write(line.encode() + b"\n")
        process.stdin.flush()

    def answer() -> dict:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "no answer from `glm-image mcp`"
        return json.loads(process.stdout.readline())

    try:
        send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                         "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                    "clientInfo": {"name": "test", "version": "1"}}}))
        assert answer()["id"] == 1
        send('{"jsonrpc": "2.0", "method": "notifications/initialized"}')
        send('{"jsonrpc": "2.0", "id": 2, "method": "tools/call",'
             ' "params": {"name": "generate_image", "arguments": {"prompt": "a \\ud800 cat"}}}')
        refused = answer()
        assert refused["id"] == 2 and refused["result"]["isError"] is True
        [content] = refused["result"]["content"]
        assert NOT_TEXT in content["text"] and "prompt" in content["text"] and "[INVALID_TEXT]" in content["text"]
        send('{"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"cursor": "\\udcff"}}')
        assert answer()["error"]["code"] == -32602
        send(json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                         "params": {"name": "list_models", "arguments": {}}}))
        still_alive = answer()
        assert still_alive["id"] == 4 and not still_alive["result"].get("isError")
    finally:
        process.stdin.close()
        process.wait(timeout=30)
    assert fake.count(SYNC_ROUTE) == 0


# --- 5. other input ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "expected"), [
    ('{"prompt": "x", "n": ' + "9" * 5000 + "}", "not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_jsonl_lines_the_parser_chokes_on(cli, fake, line: str, expected: str) -> None:
    Path("items.jsonl").write_text(line + '\n{"prompt": "fine"}\n', encoding="utf-8")
    result = cli("batch", "items.jsonl", "-o", "out")
    assert result.exit_code == 2 and "line 1:" in result.stderr and expected in result.stderr
    assert fake.count(SYNC_ROUTE) == 0


def test_csv_field_over_the_csv_limit(cli, fake) -> None:
    Path("items.csv").write_text('prompt\n"' + "a" * 200_000 + '"\nfine\n', encoding="utf-8")
    result = cli("batch", "items.csv", "-o", "out")
    assert result.exit_code == 2 and "line 2:" in result.stderr and "not valid CSV" in result.stderr
    assert fake.count(SYNC_ROUTE) == 0


def test_batch_input_is_read_with_a_limit(cli, fake, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"a cat\n" * 20)
    with pytest.raises(UsageError) as caught:
        read_input(str(big), max_bytes=100)
    assert "larger than 100 bytes" in str(caught.value)
    if Path("/dev/zero").exists():
        result = cli("batch", "/dev/zero", "-o", "out")
        assert result.exit_code == 2 and "larger than" in one_error_line(result.stderr)
    assert fake.count(SYNC_ROUTE) == 0


def test_batch_file_name_that_is_not_utf8(fake) -> None:
    completed = run_bytes([b"batch", b"\xff.txt", b"-o", b"out", b"--json"])
    assert completed.returncode == 2
    assert "does not exist" in one_error_line(completed.stderr.decode())
    assert fake.count(SYNC_ROUTE) == 0


@pytest.mark.parametrize("args", [
    ["--timeout", "nan"], ["--timeout", "inf"], ["-j", "0"], ["-j", "100000"], ["--size", "１０２４x١٠٢٤x"],
    ["--width", "-5", "--height", "99999999999999999999"], ["-n", "99999999999999999999999"],
])
def test_odd_option_values_are_usage_errors(cli, fake, args: list[str]) -> None:
    result = cli("generate", "a cat", *args)
    assert result.exit_code == 2, result.stderr
    assert fake.count(SYNC_ROUTE) == 0


def test_an_endless_prompt_on_stdin_is_refused_not_read_forever(cli, fake) -> None:
    from tests.fake_bigmodel import SYNC_ROUTE

    result = cli("generate", "-", input="猫" * 400_000)  # 1.2 MB of UTF-8
    assert result.exit_code == 2 and "larger than" in result.stderr
    assert fake.count(SYNC_ROUTE) == 0
