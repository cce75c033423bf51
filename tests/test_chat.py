"""`glm-image chat`: turns that refine the last picture, slash commands, money, failures, Ctrl-C, a terminal."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from glm_image_cli.chat.conversation import ChatSession
from glm_image_cli.chat.promptline import completions
from glm_image_cli.cli.commands.common import RunState
from glm_image_cli.core.ledger import Ledger
from glm_image_cli.errors import GlmImageError
from glm_image_cli.storage.history import History
from tests.fake_bigmodel import CHAT_ROUTE, SYNC_ROUTE, Reply
from tests.terminal import Terminal
from tests.test_console_script import console_script


class Recorder:
    """A ChatIO without a terminal: everything said, by kind; questions answered from a list."""

    def __init__(self, answers: list[bool] | None = None, yes: bool = False) -> None:
        self.lines: list[tuple[str, str]] = []
        self.answers = list(answers or [])
        self.questions: list[str] = []
        self.interactive = answers is not None
        self.yes = yes

    def __getattr__(self, kind: str):
        if kind in ("result", "note", "warn", "error"):
            return lambda text: self.lines.append((kind, text))
        raise AttributeError(kind)

    def confirm(self, question: str) -> bool:
        self.questions.append(question)
        return self.answers.pop(0)

    def preview(self, state, cfg, paths) -> None:
        return None

    def said(self, kind: str) -> list[str]:
        return [text for k, text in self.lines if k == kind]


def session(io: Recorder | None = None, **settings) -> tuple[ChatSession, Recorder]:
    io = io or Recorder()
    return ChatSession(RunState(), io, output_dir=Path("out"), **settings), io  # type: ignore[arg-type]


def chat_messages(fake, number: int) -> list[dict[str, str]]:
    return fake.seen(CHAT_ROUTE)[number].body["messages"]


def test_the_second_turn_refines_the_first(cli, fake) -> None:
    result = cli("chat", "-o", "out", input="一只红色的猫\nmake the sky darker\n/quit\n")
    assert result.exit_code == 0, result.stderr
    second = chat_messages(fake, 1)
    # the chat model sees the first line and the description it wrote for it, then the change
    assert {"role": "user", "content": "一只红色的猫"} in second
    assert {"role": "assistant", "content": "ENHANCED: 一只红色的猫"} in second
    assert second[-1] == {"role": "user", "content": "make the sky darker"}
    prompts = [seen.body["prompt"] for seen in fake.seen(SYNC_ROUTE)]
    assert prompts == ["ENHANCED: 一只红色的猫", "ENHANCED: make the sky darker"]  # the refined rewrite is sent
    assert "Prompt rewritten by glm-4-flash-250414: ENHANCED: make the sky darker" in result.stderr
    paths = result.stdout.split()
    assert len(paths) == 2 and all(Path(path).is_file() for path in paths)
    entries = History().search()
    assert sorted(entry.command for entry in entries) == ["chat", "chat"]
    assert {entry.prompt_sent for entry in entries} == set(prompts)
    assert "Session ended: 2 turn(s), 2 image(s) saved, about 0.12 CNY" in result.stderr
    assert "this session about 0.12 CNY" in result.stderr


def test_spend_is_recorded_per_turn_in_the_ledger(cli, fake) -> None:
    assert cli("chat", "--no-enhance", "-o", "out", input="a cat\n/n 2\na dog\n").exit_code == 0
    rows = [entry for entry in Ledger().entries() if entry.command == "chat"]
    assert [entry.outcome for entry in rows] == ["saved"] * 3
    assert fake.count(CHAT_ROUTE) == 0  # --no-enhance: sent as typed
    assert [seen.body["prompt"] for seen in fake.seen(SYNC_ROUTE)] == ["a cat", "a dog", "a dog"]


def test_slash_commands_change_the_next_turn(fake) -> None:
    chat, io = session()
    for line in ("/n 2", "/style watercolor", "/size 1344x768", "/model cogview-4", "/enhance off", "a harbour"):
        assert chat.handle(line)
    bodies = [seen.body for seen in fake.seen(SYNC_ROUTE)]
    assert len(bodies) == 2
    assert {body["model"] for body in bodies} == {"cogview-4"}
    assert {body["size"] for body in bodies} == {"1344x768"}
    assert all(body["prompt"].startswith("a harbour") and "watercolo" in body["prompt"].lower() for body in bodies)
    assert not io.said("error")
    assert "enhance: off" in io.said("note")


def test_bad_settings_are_one_line_and_change_nothing(fake) -> None:
    chat, io = session()
    for line in ("/size 12x12", "/n 0", "/model", "/bogus", "/enhance maybe", "/again", "/prompt", "/open"):
        assert chat.handle(line)
    assert len(io.said("error")) == 8
    assert chat.size is None and chat.samples == 1
    assert fake.requests == []


def test_undo_goes_back_to_the_previous_prompt(fake) -> None:
    chat, io = session()
    for line in ("a lighthouse", "make it red", "/undo", "/prompt", "at night"):
        assert chat.handle(line)
    assert "Back to: ENHANCED: a lighthouse" in io.said("note")
    assert "ENHANCED: a lighthouse" in io.said("result")  # /prompt
    third = chat_messages(fake, 2)
    contents = [message["content"] for message in third]
    assert "a lighthouse" in contents and "make it red" not in contents  # the undone turn is forgotten
    assert fake.seen(SYNC_ROUTE)[-1].body["prompt"] == "ENHANCED: at night"


def test_again_makes_the_same_prompt_without_a_new_rewrite(fake) -> None:
    chat, io = session()
    for line in ("a fox", "/again", "/history"):
        chat.handle(line)
    assert fake.count(CHAT_ROUTE) == 1
    assert [seen.body["prompt"] for seen in fake.seen(SYNC_ROUTE)] == ["ENHANCED: a fox"] * 2
    assert len([line for line in io.said("result") if line.startswith(("1. a fox", "2. a fox"))]) == 2


def test_a_refused_prompt_keeps_the_session_going(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply.error(400, "1301", "系统检测到输入或生成内容可能包含不安全或敏感内容"))
    result = cli("chat", "--no-enhance", "-o", "out", input="something refused\na cat\n")
    assert result.exit_code == 0
    assert result.stderr.count("error:") == 1
    assert len(result.stdout.split()) == 1 and fake.count(SYNC_ROUTE) == 2
    assert "Session ended: 2 turn(s), 1 image(s) saved" in result.stderr


def test_a_bad_key_ends_the_session_with_its_exit_code(cli, fake, monkeypatch) -> None:
    monkeypatch.setenv("GLM_API_KEY", "wrong-key.nope")
    result = cli("chat", "-o", "out", input="a cat\na dog\n")
    assert result.exit_code == 4
    assert fake.count(CHAT_ROUTE) == 1 and fake.count(SYNC_ROUTE) == 0  # nothing after the account failure


def test_no_key_fails_before_the_first_prompt(cli, monkeypatch) -> None:
    result = cli("chat", input="a cat\n")
    assert result.exit_code == 3 and "api-key" in result.stderr


def test_a_turn_above_confirm_above_asks(fake, monkeypatch) -> None:
    monkeypatch.setenv("GLM_IMAGE_CONFIRM_ABOVE", "0.1")
    chat, io = session(Recorder(answers=[False, True]), samples=3, enhance=False)
    chat.handle("three cats")
    assert fake.count(SYNC_ROUTE) == 0 and "Nothing was sent." in io.said("note")
    chat.handle("three cats")
    assert fake.count(SYNC_ROUTE) == 3
    assert io.questions[0] == "This will make 3 image(s) with cogview-4-250304, estimated 0.18 CNY. Continue?"


def test_piped_turns_above_confirm_above_need_yes(cli, fake, monkeypatch) -> None:
    monkeypatch.setenv("GLM_IMAGE_CONFIRM_ABOVE", "0.1")
    result = cli("chat", "--no-enhance", "-n", "3", "-o", "out", input="three cats\n")
    assert result.exit_code == 0 and "--yes" in result.stderr and fake.count(SYNC_ROUTE) == 0
    result = cli("chat", "--no-enhance", "-n", "3", "-o", "out", "--yes", input="three cats\n")
    assert result.exit_code == 0 and fake.count(SYNC_ROUTE) == 3


def test_ctrl_c_mid_turn_keeps_what_was_in_flight_and_returns_to_the_prompt(fake, monkeypatch) -> None:
    monkeypatch.setenv("GLM_IMAGE_CONCURRENCY", "1")
    fake.hold_after = 1  # the second image is held in flight until released
    chat, io = session(samples=3, enhance=False)
    draining = threading.Event()
    record = io.__getattr__("warn")

    def warn(text: str) -> None:
        record(text)
        if "waiting for" in text:  # the drain has begun: the call in flight may now finish
            draining.set()

    io.warn = warn  # type: ignore[method-assign]

    def interrupt() -> None:
        assert fake.wait_for(SYNC_ROUTE, 2)  # the second image is in flight (held), the third waits for its slot
        os.kill(os.getpid(), signal.SIGINT)
        assert draining.wait(30)
        fake.released.set()

    helper = threading.Thread(target=interrupt)
    helper.start()
    try:
        assert chat.handle("three boats")
    finally:
        helper.join()
    assert fake.count(SYNC_ROUTE) == 2  # the third was never sent
    assert len(chat.turns[0].images) == 2  # the one in flight finished and was kept
    assert any("not sent" in line.lower() for line in io.said("warn")), io.lines
    assert "Turn cancelled; nothing more was sent." in io.said("warn")
    fake.hold_after = None
    assert chat.handle("/n 1") and chat.handle("one more boat")  # the session goes on
    assert len(chat.turns[1].images) == 1


def test_account_failures_propagate_from_handle(fake, monkeypatch) -> None:
    chat, _ = session(enhance=False)
    monkeypatch.setenv("GLM_API_KEY", "wrong-key.nope")
    with pytest.raises(GlmImageError) as raised:
        chat.handle("a cat")
    assert int(raised.value.exit_code) == 4


def test_tab_completion() -> None:
    styles, models = ["水彩", "watercolor", "油画"], ["cogview-4", "glm-image"]
    assert completions("/st", "/st", styles, models) == ["/style"]
    assert completions("/", "/", styles, models)[:3] == ["/n", "/style", "/size"]
    assert completions("/style wa", "wa", styles, models) == ["watercolor"]
    assert completions("/style 水", "水", styles, models) == ["水彩"]
    assert completions("/model g", "g", styles, models) == ["glm-image"]
    assert completions("/enhance o", "o", styles, models) == ["on", "off"]
    assert completions("a cat", "cat", styles, models) == []


def test_a_session_on_a_terminal(fake, tmp_path: Path) -> None:
    """The console script on a pseudo-terminal: a Chinese line, a refinement, a slash command, a refused prompt,
    Ctrl-C mid-turn (the image in flight is kept), then /quit."""
    env = {**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": fake.api_key, "NO_COLOR": "1",
           "TERM": "xterm", "GLM_IMAGE_CONCURRENCY": "1"}
    terminal = Terminal([*console_script(), "chat", "-o", str(tmp_path / "o")], env)

    def before(number: int) -> None:
        if number == 3:  # the fourth line's image call is refused
            fake.script(SYNC_ROUTE, Reply.error(400, "1301", "系统检测到输入或生成内容可能包含不安全或敏感内容"))
        if number == 5:  # the sixth line's first image stays in flight; Ctrl-C while it does
            fake.hold_after = 2

            def interrupt() -> None:
                assert fake.wait_for(SYNC_ROUTE, 4)  # in flight (held): the child waits for it
                terminal.process.send_signal(signal.SIGINT)

            threading.Thread(target=interrupt, daemon=True).start()

    lines = ["一只橘猫", "更红一些", "/size 1344x768", "违规内容", "/n 2", "一条小船", "/quit"]
    typed = 0

    def type_at_each_prompt(terminal: Terminal) -> None:
        nonlocal typed
        if b"waiting for" in terminal.output and not fake.released.is_set():
            fake.released.set()  # the child says it is draining after Ctrl-C: let the call in flight finish
        if terminal.output.count(b"glm-image> ") > typed and typed < len(lines):
            before(typed)
            terminal.type(lines[typed].encode())
            typed += 1

    text, code = terminal.run(type_at_each_prompt)
    assert code == 0, text
    assert "Prompt rewritten by glm-4-flash-250414: ENHANCED: 一只橘猫" in text
    refine = fake.seen(CHAT_ROUTE)[1].body["messages"]
    assert {"role": "assistant", "content": "ENHANCED: 一只橘猫"} in refine and refine[-1]["content"] == "更红一些"
    bodies = [seen.body for seen in fake.seen(SYNC_ROUTE)]
    assert [body["prompt"] for body in bodies] == ["ENHANCED: 一只橘猫", "ENHANCED: 更红一些", "ENHANCED: 违规内容",
                                                    "ENHANCED: 一条小船"]  # the sixth line's second: never sent
    assert bodies[2]["size"] == "1344x768"
    assert "Turn cancelled; nothing more was sent." in text
    assert "Session ended: 4 turn(s), 3 image(s) saved" in text
    assert len(list((tmp_path / "o").glob("*.png"))) == 3
    assert len([entry for entry in History().search() if entry.command == "chat" and entry.ok]) == 3


def test_style_none_drops_a_style_the_settings_name(cli, fake) -> None:
    cli("config", "set", "style", "watercolor")
    assert cli("chat", "--no-enhance", "-o", "out", input="a cat\n/style none\na dog\n").exit_code == 0
    first, second = (seen.body["prompt"] for seen in fake.seen(SYNC_ROUTE))
    assert "watercolo" in first.lower() and second == "a dog"
