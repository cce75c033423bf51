"""Issue 26, "words": what the tool says when a search finds nothing, in the batch summary, for an empty batch
prompt, after a failed ping, when --enhance fails under --json, in `edit --help` and when serve starts; in both
languages."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from glm_image_cli.core.limits import LimitStore
from tests.fake_bigmodel import CHAT_ROUTE, DEFAULT_KEY, SYNC_ROUTE, Reply
from tests.fake_openai import KEY as OPENAI_KEY
from tests.fake_openai import FakeOpenAI
from tests.test_console_script import console_script

# --- history: nothing matched ----------------------------------------------------------------------------

def test_a_search_that_matches_nothing_says_so_and_which_filter_to_drop(cli, fake) -> None:
    for prompt in ("一只猫", "小猫咪", "a dog"):
        assert cli("generate", prompt, "-q").exit_code == 0
    result = cli("history", "--search", "猫", "--failed")
    assert result.exit_code == 0
    assert "No history yet" not in result.stderr
    assert "Nothing in the history (3 entries) matches --search 猫 --failed." in result.stderr
    assert "without --failed: 2 match" in result.stderr
    chinese = cli("--lang", "zh", "history", "--search", "big cat", "--model", "cogview-4")
    assert "历史记录（共 3 条）中没有符合 --search 'big cat' --model cogview-4 的记录。" in chinese.stderr
    assert "去掉任何一个条件也找不到" in chinese.stderr
    assert json.loads(cli("history", "--search", "猫", "--failed", "--json").stdout) == []


def test_an_empty_history_still_says_there_is_none_yet(cli) -> None:
    assert "No history yet." in cli("history", "--search", "猫").stderr


# --- the batch summary ------------------------------------------------------------------------------------

def summary_rows(stderr: str) -> dict[str, str]:
    rows = {}
    for line in stderr.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) == 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return rows


def test_the_summary_never_shows_more_calls_in_flight_than_the_account_limit(cli, fake, isolated: Path) -> None:
    """A limit learned earlier (3) is probed with one call more after clean rounds.  Whether the run ends while
    probing ("3, the account's limit, then 4 to see whether it was raised") or after the probe raised the limit
    ("4 (account limit 4 …)"), the row never reads "4 (account limit 3)"."""
    import re

    LimitStore.for_account(isolated.parent.parent / "data", DEFAULT_KEY, fake.base_url).put("cogview-4-250304", 3)
    Path("p.txt").write_text("".join(f"prompt {i}\n" for i in range(34)), encoding="utf-8")
    result = cli("batch", "p.txt", "-o", "out", "-j", "4", "--yes")
    assert result.exit_code == 0, result.stderr
    row = summary_rows(result.stderr)["calls in flight, cogview-4-250304"]
    probing = re.match(r"(\d+), the account's limit, then (\d+) to see whether it was raised", row)
    known = re.match(r"(\d+) \(account limit (\d+);", row)
    assert probing or known, row
    if known:
        assert int(known.group(1)) <= int(known.group(2)), row
    chinese = cli("--lang", "zh", "batch", "p.txt", "-o", "out2", "-j", "4", "--yes")
    assert chinese.exit_code == 0 and "账号上限" in chinese.stderr


def test_the_probing_row_says_the_limit_first_then_the_probe() -> None:
    from glm_image_cli.messages import render

    assert render("summary_limit_probing", limit=4, account=3, refused=0).startswith(
        "3, the account's limit, then 4 to see whether it was raised")
    chinese = render("summary_limit_probing", limit=4, account=3, refused=0, lang="zh")
    assert chinese.startswith("3（账号上限），随后尝试 4")


def test_a_model_with_one_image_gets_no_calls_in_flight_row(cli, fake) -> None:
    Path("items.jsonl").write_text('{"prompt": "a cat", "n": 2}\n{"prompt": "a fox", "model": "cogview-3-flash"}\n',
                                   encoding="utf-8")
    result = cli("batch", "items.jsonl", "-o", "out")
    assert result.exit_code == 0, result.stderr
    rows = summary_rows(result.stderr)
    assert "calls in flight, cogview-4-250304" in rows
    assert "calls in flight, cogview-3-flash" not in rows


# --- an empty prompt in a batch line ---------------------------------------------------------------------

def test_an_empty_prompt_is_called_empty_not_missing(cli, fake) -> None:
    Path("items.jsonl").write_text('{"prompt": ""}\n{"prompt": "   "}\n{"prompt": null}\n{"style": "卡通"}\n',
                                   encoding="utf-8")
    result = cli("batch", "items.jsonl", "-o", "out")
    assert result.exit_code == 2
    for line in (1, 2, 3):
        assert f"line {line}: 'prompt' is empty: describe the picture there" in result.stderr
    assert "line 4: no 'prompt' field" in result.stderr
    assert "standard input" not in result.stderr  # generate's advice for an empty prompt is no help here
    Path("items.csv").write_text("prompt,n\n,2\n", encoding="utf-8")
    chinese = cli("--lang", "zh", "batch", "items.csv", "-o", "out")
    assert "第 2 行：prompt 为空：请在其中描述画面" in chinese.stderr
    assert fake.requests == []


# --- ping: a next step for each failed check -------------------------------------------------------------

def test_a_failed_ping_says_what_to_do_for_each_failed_check(cli, fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GLM_API_KEY")
    result = cli("ping")
    assert result.exit_code == 3
    assert "Some checks failed." in result.stderr
    assert "→ API key: store one with `glm-image config set api-key`" in result.stderr
    assert cli("config", "set", "api-key", "wrong-key-00000000000").exit_code == 0
    rejected = cli("--lang", "zh", "ping")
    assert rejected.exit_code == 4
    assert "→ 密钥有效：从控制台重新复制密钥，用 `glm-image config set api-key` 保存；当前 region 为 cn" \
        in rejected.stderr
    monkeypatch.setenv("GLM_API_KEY", "wrong-key-00000000001")  # `config set` cannot fix a key the environment sets
    from_env = cli("ping")
    assert "→ key accepted: the key comes from the environment variable GLM_API_KEY" in from_env.stderr
    monkeypatch.setenv("GLM_BASE_URL", "http://no-such-host.invalid/api")
    unknown = cli("ping")
    assert "→ DNS: no-such-host.invalid cannot be found" in unknown.stderr
    assert "→ API key" not in unknown.stderr  # only the checks that failed get a line


def test_a_server_that_does_not_answer_gets_how_to_start_it(cli) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: refuses connections
        port = sock.getsockname()[1]
        result = cli("ping", "--server", f"http://127.0.0.1:{port}")
    assert result.exit_code != 0
    assert f"→ glm-image serve: nothing answered at http://127.0.0.1:{port}: start it with `glm-image serve`" \
        in result.stderr


# --- --enhance failing under --json ----------------------------------------------------------------------

@pytest.mark.parametrize("command", [["generate", "一只猫", "--enhance"], ["enhance", "一只猫"]])
def test_an_enhancement_failure_under_json_says_it_was_the_enhancement(cli, fake, command: list[str]) -> None:
    fake.script(CHAT_ROUTE, Reply.error(400, "1301", "unsafe content"))
    result = cli(*command, "--json", "-o", "out") if command[0] == "generate" else cli(*command, "--json")
    assert result.exit_code == 6
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "CONTENT_BLOCKED" and error["during"] == "enhance"
    assert error["enhance_model"] == "glm-4-flash-250414"
    assert error["message"].startswith("Prompt enhancement with glm-4-flash-250414 failed; no image was requested.")
    assert fake.count(SYNC_ROUTE) == 0
    assert result.stderr.count("Prompt enhancement with") == 1  # said once on the terminal too


def test_a_batch_lines_enhancement_failure_under_json_says_so(cli, fake) -> None:
    fake.script(CHAT_ROUTE, Reply.error(400, "1301", "unsafe content"))
    result = cli("--lang", "zh", "batch", "-", "--enhance", "--json", "-o", "out", input="一只猫\n")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    invalid = next(record for record in records if record.get("type") == "invalid")
    assert invalid["error"]["during"] == "enhance"
    assert invalid["error"]["message"].startswith("使用 glm-4-flash-250414 改写提示词失败，未请求任何图片。")


# --- edit --help, serve's start-up list ------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "zh"])
def test_edit_help_names_its_images_once(cli, lang: str) -> None:
    page = cli("--lang", lang, "edit", "--help").stdout
    assert "IMAGE..." in page and "IMAGE...." not in page


def _serve_banner(env: dict[str, str], *args: str) -> list[str]:
    """serve's start-up lines on stderr, up to the last endpoint, then a graceful stop."""
    process = subprocess.Popen([*console_script(), *args, "serve", "--port", "0"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
    try:
        lines = [process.stderr.readline()]
        while lines[-1] and "/v1/models" not in lines[-1]:
            lines.append(process.stderr.readline())
        process.terminate()
        process.communicate(timeout=30)
    finally:
        process.kill()
    return [line.rstrip("\n") for line in lines]


def _endpoint_lines(banner: list[str]) -> list[str]:
    return [line for line in banner if line.startswith("  GET ") or line.startswith("  POST ")]


def test_serve_lists_its_endpoints_aligned_and_only_those_its_backend_serves(fake) -> None:
    banner = _serve_banner({"GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY})
    lines = _endpoint_lines(banner)
    assert [line.split()[1] for line in lines] == ["/ping", "/txt2img", "/v1/images/generations", "/v1/models"]
    assert len({line.index("http://") for line in lines}) == 1  # the URLs start in one column
    with FakeOpenAI() as server:
        banner = _serve_banner({"GLM_BASE_URL": server.base_url, "GLM_API_KEY": OPENAI_KEY,
                                "GLM_IMAGE_BACKEND": "openai"}, "--lang", "zh")
    lines = _endpoint_lines(banner)
    assert "接口：" in banner
    assert "/v1/images/edits" in [line.split()[1] for line in lines]
    assert len({line.index("http://") for line in lines}) == 1


def test_on_a_narrow_terminal_serve_lists_the_paths_alone(fake) -> None:
    banner = _serve_banner({"GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "COLUMNS": "70"})
    lines = _endpoint_lines(banner)
    assert [line.split() for line in lines][2] == ["POST", "/v1/images/generations"]
    assert all(len(line) <= 70 and "http://" not in line for line in lines)
    assert "listening on http://127.0.0.1:" in banner[0]  # the address once, above them
