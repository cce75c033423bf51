"""Values at the far edges (a --since before year 1, /n with a superscript or 5,000 digits, a name width of a
billion, a history that cannot be written): a one-line answer that says what is true, never a crash or a hang."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from glm_image_cli.errors import GlmImageError, UsageError
from glm_image_cli.storage.config import load_config
from glm_image_cli.storage.naming import NameTemplate
from tests.fake_bigmodel import SYNC_ROUTE, Reply
from tests.test_chat import session
from tests.test_console_script import child_env, console_script

FAR_OFF = ("99999999999d", "999999999999999w", "0001-01-01", "0001-01-01T00:00:00+14:00",
           "9999-12-31T23:59:59-14:00", "9999-12-31")


@pytest.mark.parametrize("zone", ["UTC", "Etc/GMT-14", "Etc/GMT+12"])
def test_usage_and_history_since_far_off_moments_clamp_instead_of_crashing(fake, zone: str) -> None:
    env = {**child_env(fake), "TZ": zone}
    made = subprocess.run([*console_script(), "generate", "x", "-o", "out"], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert made.returncode == 0, made.stderr
    for since in FAR_OFF:
        everything = not since.startswith("9999-")  # far back: every row; far ahead: none
        for command in ("usage", "history"):
            done = subprocess.run([*console_script(), command, "--since", since, "--json"], env=env,
                                  capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
            assert done.returncode == 0 and "Traceback" not in done.stderr, (command, since, done.stderr)
            answer = json.loads(done.stdout)
            found = answer["totals"]["requests"] if command == "usage" else len(answer)
            assert found == (1 if everything else 0), (command, since)


def test_a_since_no_one_means_is_a_one_line_usage_error(cli) -> None:
    for since in ("9" * 5000 + "d", "1" * 16 + "h", "yesterday"):
        result = cli("usage", "--since", since)
        assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "is not a time" in result.stderr
        assert cli("history", "--since", since).exit_code == 2


def test_chat_n_with_odd_digits_is_a_chat_error_and_the_session_goes_on(fake) -> None:
    chat, io = session()
    for line in ("/n ²", "/n " + "9" * 5000, "/n ٣", "/n 1e3", "/n 9999999"):
        assert chat.handle(line)
    assert len(io.said("error")) == 5 and chat.samples == 1
    assert chat.handle("/n 2") and chat.samples == 2
    assert fake.requests == []


@pytest.mark.parametrize("template", ["{index:>999999999}", "{slug:.65}", "{index:0>100}", "{index:{index}}",
                                      "{slug:" + "9" * 5000 + "}"])
def test_a_name_width_over_64_is_refused_before_anything_is_sent(cli, fake, template: str) -> None:
    result = cli("generate", "x", "-o", "out", "--name", template, "--json")
    assert result.exit_code == 2, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "FLAG_BAD_VALUE" and "--name" in error["message"] and "up to 64" in error["message"]
    assert fake.count(SYNC_ROUTE) == 0


def test_name_widths_up_to_64_still_work() -> None:
    assert NameTemplate.parse("{index:064d}-{slug:.64}").text == "{index:064d}-{slug:.64}"
    assert NameTemplate.parse("{index:0>4}").text == "{index:0>4}"  # fill "0", width 4
    with pytest.raises(UsageError) as too_wide:
        NameTemplate.parse("{index:>65}")
    assert too_wide.value.code == "NAME_TEMPLATE_SYNTAX"


def test_a_name_template_setting_too_wide_is_refused_where_it_is_set(cli) -> None:
    result = cli("config", "set", "name-template", "{index:>100}")
    assert result.exit_code != 0 and "up to 64" in result.stderr
    with pytest.raises(GlmImageError, match="up to 64"):
        load_config(environ={"GLM_IMAGE_NAME_TEMPLATE": "{index:>100}"})


def test_a_read_only_history_says_no_image_was_saved_when_none_was(cli, fake, monkeypatch) -> None:
    assert cli("generate", "x", "-o", "out").exit_code == 0  # the database exists
    from glm_image_cli.storage import history

    real_connect = sqlite3.connect

    def read_only(path, *args, **kwargs):
        return real_connect(f"file:{Path(path)}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(history.sqlite3, "connect", read_only)
    result = cli("generate", "y", "-o", "out")
    assert result.exit_code == 3, result.stderr  # the ledger cannot record the spend: nothing is sent
    assert fake.count(SYNC_ROUTE) == 1
    assert "The images are saved" not in result.stderr
    assert "No image was saved in this run, and the history could not record it" in result.stderr


def test_a_history_that_fails_after_an_image_was_saved_still_says_it_is_saved(cli, fake, monkeypatch) -> None:
    from glm_image_cli.storage.history import History

    def cannot(self, **fields):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(History, "add", cannot)
    fake.script(SYNC_ROUTE, Reply.error(400, "1301", "unsafe"))
    refused = cli("generate", "x", "-o", "out")
    assert refused.exit_code == 6 and "No image was saved in this run" in refused.stderr
    saved = cli("generate", "x", "-o", "out")
    assert saved.exit_code == 0 and "The images are saved, but the history could not be recorded" in saved.stderr
