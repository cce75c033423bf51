"""--enhance beyond generate/batch (issue 16): serve, the MCP tool, --review, info and gallery, spend consent."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fake_bigmodel import ASYNC_ROUTE, CHAT_ROUTE, DEFAULT_KEY, SYNC_ROUTE, Reply
from tests.terminal import Terminal
from tests.test_console_script import console_script
from tests.test_output_control import _run_on_a_terminal

REWRITE = "An orange cat curled on a wooden windowsill, warm afternoon light, photograph"


def _images(fake) -> int:
    return fake.count(SYNC_ROUTE) + fake.count(ASYNC_ROUTE)


# --- serve ------------------------------------------------------------------------------------------------

def test_serve_txt2img_enhance_rewrites_before_the_image_call(fake, serve) -> None:
    fake.chat_reply = REWRITE
    served = serve()
    answer = served.post("/txt2img", {"prompt": "a cat", "enhance": True})
    assert answer.status_code == 200, answer.text
    assert fake.count(CHAT_ROUTE) == 1 and "a cat" in fake.seen(CHAT_ROUTE)[0].body["messages"][-1]["content"]
    assert [seen.body["prompt"] for seen in fake.seen(SYNC_ROUTE)] == [REWRITE]
    body = answer.json()
    assert body["prompt"] == "a cat" and body["enhanced_prompt"] == REWRITE and body["prompt_sent"] == REWRITE
    # the same prompt again: the rewrite comes from the cache, no second chat call
    assert served.post("/txt2img", {"prompt": "a cat", "enhance": True}).status_code == 200
    assert fake.count(CHAT_ROUTE) == 1 and _images(fake) == 2


def test_serve_openai_revised_prompt_is_the_prompt_sent(fake, serve) -> None:
    fake.chat_reply = REWRITE
    served = serve()
    answer = served.post("/v1/images/generations", {"prompt": "a cat", "enhance": True, "style": "油画"})
    assert answer.status_code == 200, answer.text
    sent = fake.seen(SYNC_ROUTE)[0].body["prompt"]
    assert sent.startswith(REWRITE) and sent != REWRITE  # the style folded into the rewrite
    assert answer.json()["data"][0]["revised_prompt"] == sent


def test_serve_default_follows_the_setting_and_false_overrides_it(fake, serve, cli) -> None:
    fake.chat_reply = REWRITE
    served = serve()
    assert served.post("/txt2img", {"prompt": "a dog"}).status_code == 200
    assert fake.count(CHAT_ROUTE) == 0
    cli("config", "set", "enhance", "on")
    served = serve()  # a serve started with `enhance = on` in the config
    assert served.post("/v1/images/generations", {"prompt": "a dog"}).json()["data"][0]["revised_prompt"] == REWRITE
    assert fake.count(CHAT_ROUTE) == 1
    answer = served.post("/v1/images/generations", {"prompt": "a bird", "enhance": False})
    assert answer.json()["data"][0]["revised_prompt"] == "a bird" and fake.count(CHAT_ROUTE) == 1


@pytest.mark.parametrize("path", ["/txt2img", "/v1/images/generations"])
def test_serve_failing_chat_call_is_an_honest_error_and_no_image(fake, serve, path: str) -> None:
    served = serve()
    fake.script(CHAT_ROUTE, Reply.error(401, "1001", "bad token"))
    answer = served.post(path, {"prompt": "a cat", "enhance": True})
    assert answer.status_code == 502
    body = answer.json()
    message = body["message"] if path == "/txt2img" else body["error"]["message"]
    assert "enhancement" in message and _images(fake) == 0
    fake.script(CHAT_ROUTE, *[Reply.error(429, "1302", "slow down", retry_after="0")] * 20)
    answer = served.post(path, {"prompt": "a cow", "enhance": True})
    assert answer.status_code == 429 and _images(fake) == 0


def test_serve_enhance_must_be_a_boolean(fake, serve) -> None:
    answer = serve().post("/txt2img", {"prompt": "a cat", "enhance": "yes"})
    assert answer.status_code == 400 and answer.json()["code"] == "INVALID_FIELD"
    assert fake.requests == []


# --- MCP --------------------------------------------------------------------------------------------------

def test_mcp_generate_image_enhance_argument(fake, tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    from tests.test_mcp import run_session

    fake.chat_reply = REWRITE
    _, (made, plain) = run_session(fake, tmp_path, [
        ("generate_image", {"prompt": "a cat", "enhance": True, "output_dir": str(tmp_path / "o")}),
        ("generate_image", {"prompt": "a dog", "enhance": False, "output_dir": str(tmp_path / "o")}),
    ])
    assert not made.is_error and not plain.is_error
    image = json.loads(made.content[0].text)["images"][0]
    assert image["prompt"] == "a cat" and image["enhanced_prompt"] == REWRITE and image["prompt_sent"] == REWRITE
    assert fake.count(CHAT_ROUTE) == 1
    assert [seen.body["prompt"] for seen in fake.seen(SYNC_ROUTE)] == [REWRITE, "a dog"]


def test_mcp_failing_rewrite_is_a_tool_error_and_no_image(fake, tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    from tests.test_mcp import run_session

    fake.script(CHAT_ROUTE, Reply.error(401, "1001", "bad token"))
    _, (failed,) = run_session(fake, tmp_path, [("generate_image", {"prompt": "a cat", "enhance": True,
                                                                    "output_dir": str(tmp_path / "o")})])
    assert failed.is_error and "enhancement" in failed.content[0].text and _images(fake) == 0


# --- --review ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["generate", "a cat"], ["batch", "p.txt"]])
def test_review_without_a_terminal_is_a_usage_error(cli, fake, command: list[str]) -> None:
    Path("p.txt").write_text("a cat\n", encoding="utf-8")
    result = cli(*command, "--review", "-o", "out")
    assert result.exit_code == 2
    assert "--yes" in result.stderr and "--review" in result.stderr
    assert fake.requests == []  # no chat call and no image call


def test_review_with_yes_accepts_the_rewrite(cli, fake) -> None:
    fake.chat_reply = REWRITE
    result = cli("generate", "a cat", "--review", "--yes", "-o", "out")  # --review implies --enhance
    assert result.exit_code == 0, result.stderr
    assert fake.count(CHAT_ROUTE) == 1 and fake.seen(SYNC_ROUTE)[0].body["prompt"] == REWRITE


def _terminal_env(fake, tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "NO_COLOR": "1"}
    env.pop("EDITOR", None)
    env.pop("VISUAL", None)
    return env


def _answer_on_a_terminal(args: list[str], env: dict[str, str], answers: list[tuple[bytes, bytes]]) -> tuple[str, int]:
    """Run on a pseudo-terminal through several (wait for, then type) steps, in order."""
    pending = list(answers)

    def answer_in_turn(terminal: Terminal) -> None:
        if pending and pending[0][0] in terminal.output:
            wait_for, typed = pending.pop(0)
            terminal.output = terminal.output.replace(wait_for, b"<asked>", 1)
            terminal.type(typed)

    return Terminal(args, env).run(answer_in_turn)


def test_review_cancel_on_a_terminal_pays_nothing(fake, tmp_path: Path) -> None:
    fake.chat_reply = REWRITE
    output, code = _answer_on_a_terminal([*console_script(), "generate", "a cat", "--review", "-o",
                                          str(tmp_path / "o")], _terminal_env(fake, tmp_path),
                                         [(b"[c]ancel this rewrite?", b"c")])
    assert code == 130, output
    assert REWRITE in output and "no image was requested" in output
    assert fake.count(CHAT_ROUTE) == 1 and _images(fake) == 0


def test_review_edit_inline_on_a_terminal_sends_the_edit(fake, tmp_path: Path) -> None:
    fake.chat_reply = REWRITE
    output, code = _answer_on_a_terminal([*console_script(), "generate", "a cat", "--review", "-o",
                                          str(tmp_path / "o")], _terminal_env(fake, tmp_path),
                                         [(b"[c]ancel this rewrite?", b"e"),
                                          # the rewrite is on the line to edit: Ctrl-U clears it first
                                          (b"Prompt to send", b"\x15a grey cat on a red sofa")])
    assert code == 0, output
    assert [seen.body["prompt"] for seen in fake.seen(SYNC_ROUTE)] == ["a grey cat on a red sofa"]


def test_review_edit_in_editor_on_a_terminal(fake, tmp_path: Path) -> None:
    fake.chat_reply = REWRITE
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nsleep 0.05\nprintf "edited in the editor" > "$1"\n', encoding="utf-8")
    editor.chmod(0o755)
    output, code = _answer_on_a_terminal([*console_script(), "generate", "a cat", "--review", "-o",
                                          str(tmp_path / "o")], _terminal_env(fake, tmp_path) | {"EDITOR": str(editor)},
                                         [(b"[c]ancel this rewrite?", b"e")])
    assert code == 0, output
    assert [seen.body["prompt"] for seen in fake.seen(SYNC_ROUTE)] == ["edited in the editor"]


def test_batch_review_on_a_terminal_asks_per_item(fake, tmp_path: Path) -> None:
    fake.chat_reply = lambda body: "REWRITE " + body["messages"][-1]["content"]
    (tmp_path / "p.txt").write_text("a cat\na dog\n", encoding="utf-8")
    output, code = _answer_on_a_terminal([*console_script(), "batch", str(tmp_path / "p.txt"), "--review", "-o",
                                          str(tmp_path / "o")], _terminal_env(fake, tmp_path),
                                         [(b"Item 0001", b"a"), (b"Item 0002", b"e"),
                                          (b"Prompt to send", b"\x15my own dog")])
    assert code == 0, output
    assert sorted(seen.body["prompt"] for seen in fake.seen(SYNC_ROUTE)) == ["REWRITE a cat", "my own dog"]


# --- info and gallery -------------------------------------------------------------------------------------

def _enhanced_image(cli, fake, reply: str = REWRITE) -> Path:
    fake.chat_reply = reply
    result = cli("generate", "a cat", "--enhance", "-o", "out", "--json")
    assert result.exit_code == 0, result.stderr
    return Path(json.loads(result.stdout)[0]["path"])


def test_info_shows_the_typed_prompt_and_the_rewrite(cli, fake) -> None:
    path = _enhanced_image(cli, fake)
    shown = cli("info", str(path)).stdout
    assert "enhanced_prompt" in shown and "a cat" in shown
    assert " ".join(REWRITE.split()[:4]) in " ".join(shown.split())
    assert shown.index("enhanced_prompt") < shown.index("prompt_sent")
    assert cli("generate", "a dog", "-o", "plain").exit_code == 0
    plain = cli("info", *map(str, Path("plain").glob("*.png"))).stdout
    assert "enhanced_prompt" not in plain and "enhance_model" not in plain


def test_gallery_shows_the_rewrite_on_expand_escaped(cli, fake) -> None:
    _enhanced_image(cli, fake, reply="a <b>bold</b> cat & friends")
    assert cli("generate", "a dog", "-o", "out").exit_code == 0
    assert cli("gallery", "out").exit_code == 0
    page = Path("out", "index.html").read_text(encoding="utf-8")
    assert page.count('<details class="enhanced">') == 1
    assert "a &lt;b&gt;bold&lt;/b&gt; cat &amp; friends" in page and "<b>bold" not in page
    assert '<p class="prompt">a cat</p><details' in page


# --- spend consent ----------------------------------------------------------------------------------------

def test_free_chat_model_adds_nothing_to_the_estimate(cli, fake) -> None:
    from glm_image_cli.backends.bigmodel import BIGMODEL
    from glm_image_cli.core.enhance import estimate_chats

    assert estimate_chats({"glm-4-flash-250414": 3}, backend=BIGMODEL) == (0.0, 0)
    assert estimate_chats({"glm-4-plus": 2}, backend=BIGMODEL) == (0.0, 2)
    assert estimate_chats({"glm-4-plus": 2}, "cn", {"glm-4-plus": 0.05}, backend=BIGMODEL) == (0.1, 0)
    fake.chat_reply = REWRITE
    # 0.06 CNY of images, below confirm-above: no question, with the free chat model counted at 0
    assert cli("generate", "a cat", "--enhance", "-o", "out", "-m", "cogview-4", "--size", "1024x1024",
               env={"GLM_IMAGE_CONFIRM_ABOVE": "0.1"}).exit_code == 0


def test_a_priced_chat_model_is_asked_about_before_the_chat_call(cli, fake) -> None:
    assert cli("config", "set", "enhance-model", "glm-4-plus").exit_code == 0
    result = cli("generate", "a cat", "--enhance", "-n", "10", "-o", "out", "-m", "cogview-4", "--size",
                 "1024x1024", env={"GLM_IMAGE_CONFIRM_ABOVE": "0.1"})
    assert result.exit_code == 2 and "--yes" in result.stderr
    assert fake.requests == []  # not even the chat call


def test_consent_question_counts_the_rewrite(fake, tmp_path: Path) -> None:
    env = _terminal_env(fake, tmp_path) | {"GLM_IMAGE_CONFIRM_ABOVE": "0.1", "GLM_IMAGE_ENHANCE_MODEL": "glm-4-plus"}
    output, code = _run_on_a_terminal([*console_script(), "generate", "a cat", "--enhance", "-n", "10", "-o",
                                       str(tmp_path / "o"), "-m", "cogview-4", "--size", "1024x1024"], env, b"n")
    assert code == 130, output
    flat = " ".join(output.split())
    assert "10 image(s) with cogview-4 and 1 prompt rewrite(s) with glm-4-plus, estimated 0.60 CNY; " \
           "1 rewrite(s) of unknown price. Continue?" in flat
    assert fake.requests == []
