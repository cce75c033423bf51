"""Every command speaks JSON with --json (documented in the README), and colour only where it belongs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.fake_bigmodel import DEFAULT_KEY
from tests.test_console_script import console_script


def parse(result) -> object:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_json_on_every_command(cli, fake, serve) -> None:
    Path("p.txt").write_text("a red fox\n")
    made = parse(cli("generate", "a cat", "--json"))
    assert made[0]["ok"] is True
    batch_lines = [json.loads(line) for line in cli("batch", "p.txt", "-o", "out", "--json").stdout.splitlines()]
    assert [line["type"] for line in batch_lines] == ["item", "summary"]
    assert parse(cli("batch", "p.txt", "-o", "out2", "--dry-run", "--json"))["type"] == "plan"
    assert parse(cli("config", "set", "style", "国风", "--json")) == {
        "key": "style", "value": "国风", "path": os.environ["GLM_IMAGE_CONFIG"]}
    assert parse(cli("config", "show", "--json"))["settings"]["style"]["source"] == "file"
    assert parse(cli("config", "unset", "style", "--json"))["removed"] is True
    assert parse(cli("config", "path", "--json"))["exists"] is True
    assert {s["english"] for s in parse(cli("styles", "--json"))} >= {"cartoon", "chinese-ink"}
    assert {m["model"] for m in parse(cli("models", "--json"))} >= {"glm-image", "cogview-4-250304"}
    history = parse(cli("history", "--json"))
    assert {h["prompt"] for h in history} == {"a cat", "a red fox"}
    assert parse(cli("history", "show", str(history[0]["id"]), "--json"))["id"] == history[0]["id"]
    assert parse(cli("again", str(history[-1]["id"]), "--json"))[0]["ok"] is True
    assert parse(cli("info", made[0]["path"], "--json"))[0]["recipe"]["prompt"] == "a cat"
    assert parse(cli("gallery", "out", "--json"))["images"] == 1
    assert parse(cli("ping", "--json"))["ok"] is True
    assert parse(cli("ping", "--server", serve().url, "--json"))["ok"] is True
    assert set(parse(cli("history", "--clear", "--yes", "--json"))) == {"removed"}


def test_json_errors_are_json_too(cli, fake) -> None:
    result = cli("generate", "x", "--style", "nope", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "UNKNOWN_STYLE"
    result = cli("config", "set", "colour", "red", "--json")
    assert json.loads(result.stdout)["error"] == {"code": "CONFIG_UNKNOWN_KEY", "exit_code": 3,
                                                   "message": result.stderr.removeprefix("error: ").strip(),
                                                   "upstream_code": None}


def test_serve_announces_itself_in_json(fake) -> None:
    """The announcement is the first stdout line; a SIGTERM right after it is the graceful stop (exit 0)."""
    process = subprocess.Popen([*console_script(), "serve", "--port", "0", "--json", "--quiet"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY})
    try:
        first_line = process.stdout.readline()
        process.terminate()  # at once: the stop handlers are installed before the announcement
        rest, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert first_line, stderr
    listening = json.loads(first_line)
    assert listening["type"] == "listening" and listening["url"].startswith("http://127.0.0.1:")
    assert "/v1/images/generations" in listening["endpoints"]
    assert process.returncode == 0, stderr
    for line in rest.splitlines():
        json.loads(line)  # stdout stays JSON lines to the end


def test_no_colour_where_it_does_not_belong(tmp_path: Path) -> None:
    """On a terminal the help is coloured; NO_COLOR, --no-color and pipes get plain text."""
    import pty

    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    [script] = console_script()

    def on_terminal(*args: str, extra: dict[str, str] | None = None) -> str:
        pid, fd = pty.fork()
        if pid == 0:  # the child: never return into pytest, even when exec fails
            try:
                os.execvpe(script, [script, *args], {**env, **(extra or {})})
            finally:
                os._exit(127)
        chunks = []
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.waitpid(pid, 0)
        return b"".join(chunks).decode("utf-8", "replace")

    assert "\x1b[" in on_terminal("--help")
    assert "\x1b[" not in on_terminal("--help", "--no-color")
    assert "\x1b[" not in on_terminal("--help", extra={"NO_COLOR": "1"})
    piped = subprocess.run([*console_script(), "--help"], capture_output=True, text=True, env=env)
    assert "\x1b[" not in piped.stdout


def test_bare_command_shows_the_getting_started_panel(cli) -> None:
    result = cli()
    assert result.exit_code == 0
    for step in ("config set api-key", "generate", "batch", "serve"):
        assert step in result.stdout
    assert "快速开始" in cli("--lang", "zh").stdout or "快速开始" in subprocess.run(
        [*console_script(), "--lang", "zh"], capture_output=True, text=True).stdout
