"""`config get KEY` prints the value alone, for scripts; `config edit` opens the file in the user's editor and
saves it only when it is valid (issue 26, item 14).  The editor is tests/fake_editor.py."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from glm_image_cli.cli.configedit import editor_command
from glm_image_cli.cli.terminal import Terminal
from glm_image_cli.errors import ConfigError
from tests.fake_bigmodel import DEFAULT_KEY

FAKE_EDITOR = Path(__file__).with_name("fake_editor.py")


def test_config_get_prints_the_value_alone(cli, isolated: Path) -> None:
    cli("config", "set", "size", "1344x768")
    result = cli("config", "get", "size")
    assert result.exit_code == 0 and result.stdout == "1344x768\n" and result.stderr == ""
    assert cli("config", "get", "timeout").stdout == "120\n"  # the default, as a number is written
    assert cli("config", "get", "history").stdout == "on\n"
    assert cli("config", "get", "base-url").stdout == "https://open.bigmodel.cn/api/paas/v4\n"
    assert cli("config", "get", "style").stdout == ""  # not set: nothing, for `$(glm-image config get style)`
    assert cli("config", "get", "size", env={"GLM_IMAGE_SIZE": "1024x1024"}).stdout == "1024x1024\n"
    data = json.loads(cli("config", "get", "size", "--json").stdout)
    assert data == {"key": "size", "value": "1344x768", "source": "file"}


def test_config_get_follows_profiles_masks_secrets_and_knows_the_setting_meant(cli) -> None:
    cli("config", "set", "--profile", "cheap", "model", "cogview-3-flash")
    assert cli("config", "get", "model", "--profile", "cheap").stdout == "cogview-3-flash\n"
    assert cli("--profile", "cheap", "config", "get", "model").stdout == "cogview-3-flash\n"
    assert cli("config", "get", "model").stdout == "cogview-4-250304\n"
    cli("config", "set", "api-key", DEFAULT_KEY)
    secret = cli("config", "get", "api-key")
    assert secret.stdout == "fake…PART\n" and "shown masked" in secret.stderr
    assert "只显示遮盖后的值" in cli("--lang", "zh", "config", "get", "api-key").stderr
    typo = cli("config", "get", "modle")
    assert typo.exit_code == 3 and "did you mean model?" in typo.stderr and typo.stdout == ""


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Queue what the fake editor writes, one text per run; returns (queue, seen)."""
    queue, seen = tmp_path / "queue.json", tmp_path / "seen.jsonl"
    monkeypatch.setenv("EDITOR", f"{sys.executable} {FAKE_EDITOR}")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("FAKE_EDITOR_QUEUE", str(queue))
    monkeypatch.setenv("FAKE_EDITOR_SEEN", str(seen))

    def edits(*texts: str) -> None:
        queue.write_text(json.dumps(list(texts)), encoding="utf-8")

    def runs() -> list[dict]:
        return [json.loads(line) for line in seen.read_text(encoding="utf-8").splitlines()] if seen.exists() else []

    return edits, runs


def test_config_edit_saves_a_valid_file_as_written(cli, isolated: Path, editor) -> None:
    edits, runs = editor
    edits('# my settings\nmodel = "glm-image"   # the new one\nsize = "960x1728"\n')
    result = cli("config", "edit")
    assert result.exit_code == 0, result.stderr
    assert f"Saved {isolated}" in result.stderr
    assert isolated.read_text(encoding="utf-8").startswith("# my settings\n")  # comments and layout kept
    assert stat.S_IMODE(isolated.stat().st_mode) == 0o600
    assert runs()[0]["text"].startswith("# glm-image settings (TOML)")  # a new file starts from a short guide
    assert cli("config", "get", "size").stdout == "960x1728\n"
    assert [p.name for p in isolated.parent.iterdir()] == ["config.toml"]  # no draft left
    edits()  # the editor closes without a change
    unchanged = cli("config", "edit")
    assert unchanged.exit_code == 0 and "No changes" in unchanged.stderr
    assert runs()[-1]["text"].startswith("# my settings")


def test_config_edit_keeps_the_old_file_when_the_new_one_is_invalid_and_says_why(cli, isolated: Path,
                                                                                  editor) -> None:
    edits, _ = editor
    cli("config", "set", "model", "glm-image")
    before = isolated.read_bytes()
    cases = {
        'model = "glm-image"\nsize = "1008x1008"\n': "size: Size 1008x1008 is not valid for glm-image",
        'modle = "glm-image"\n': "unknown setting 'modle' (did you mean model?)",
        'model = "glm-image"\n[profiles.art]\nstyle = "水粉"\n': "in [profiles.art]: style: Unknown style '水粉'",
        'model = "glm-image\n': "not valid TOML",
        'timeout = 1\n': "timeout: must be a number from 5 to 1800",
    }
    draft = isolated.with_name("config.edit.toml")
    for text, reason in cases.items():
        draft.unlink(missing_ok=True)
        edits(text)
        result = cli("config", "edit")
        assert result.exit_code == 3, text
        assert f"Not saved: {reason}" in result.stderr, (text, result.stderr)
        assert f"{isolated} is unchanged; your edit is kept in {draft}" in result.stderr
        assert isolated.read_bytes() == before
        assert draft.read_text(encoding="utf-8") == text
    error = json.loads(cli("config", "edit", "--json").stdout)["error"]  # the kept draft is still invalid
    assert error["code"] == "CONFIG_EDIT_INVALID" and error["exit_code"] == 3
    zh = cli("--lang", "zh", "config", "edit")
    assert "未保存：" in zh.stderr and "未改动" in zh.stderr


def test_config_edit_continues_a_rejected_draft_and_asks_again_on_a_terminal(cli, isolated: Path, editor) -> None:
    edits, runs = editor
    edits('size = "1000x1000"\n')
    assert cli("config", "edit").exit_code == 3
    edits('size = "1000x1000"\n# still wrong\n', 'size = "1008x1008"\n')  # fixed on the second try
    result = cli("config", "edit", input="y\n", terminal=Terminal(stdin_tty=True))
    assert result.exit_code == 0, result.stderr
    assert "Continuing your unsaved edit" in result.stderr and "Edit again?" in result.stderr
    assert [run["text"] for run in runs()][1] == 'size = "1000x1000"\n'  # the rejected draft, not the file
    assert isolated.read_text(encoding="utf-8") == 'size = "1008x1008"\n'
    assert not isolated.with_name("config.edit.toml").exists()
    edits('size = "1"\n')
    declined = cli("config", "edit", input="n\n", terminal=Terminal(stdin_tty=True))
    assert declined.exit_code == 3 and isolated.read_text(encoding="utf-8") == 'size = "1008x1008"\n'


def test_config_edit_refuses_to_overwrite_a_change_made_while_editing(cli, isolated: Path, editor,
                                                                    monkeypatch) -> None:
    _ = editor  # EDITOR and the queue variables set, replaced by the sneaky editor below
    cli("config", "set", "model", "glm-image")
    script = Path("sneaky_editor.py")
    script.write_text(
        "import sys, pathlib\n"
        f"pathlib.Path({str(isolated)!r}).write_text('model = \"cogview-4\"\\n')\n"
        "pathlib.Path(sys.argv[-1]).write_text('size = \"1024x1024\"\\n')\n", encoding="utf-8")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    result = cli("config", "edit")
    assert result.exit_code == 3 and "was changed by something else while you were editing" in result.stderr
    assert isolated.read_text(encoding="utf-8") == 'model = "cogview-4"\n'
    assert isolated.with_name("config.edit.toml").read_text(encoding="utf-8") == 'size = "1024x1024"\n'


def test_config_edit_says_when_the_editor_fails_or_is_missing(cli, isolated: Path, editor, monkeypatch) -> None:
    edits, _ = editor
    monkeypatch.setenv("FAKE_EDITOR_STATUS", "2")
    edits('size = "1024x1024"\n')
    failed = cli("config", "edit")
    assert failed.exit_code == 3 and "exited with status 2" in failed.stderr and not isolated.exists()
    monkeypatch.setenv("EDITOR", "/no/such/editor")
    missing = cli("config", "edit", "--json")
    assert json.loads(missing.stdout)["error"]["code"] == "CONFIG_EDITOR"
    assert "Could not run the editor '/no/such/editor'" in missing.stderr


def test_the_editor_is_visual_then_editor_then_the_platforms_own(tmp_path: Path, monkeypatch) -> None:
    assert editor_command({"VISUAL": "code --wait", "EDITOR": "vim"}) == ["code", "--wait"]
    assert editor_command({"EDITOR": "vim -u NONE"}) == ["vim", "-u", "NONE"]
    assert editor_command({"EDITOR": '"C:\\Program Files\\Notepad++\\notepad++.exe" -multiInst'},
                          platform="win32") == ["C:\\Program Files\\Notepad++\\notepad++.exe", "-multiInst"]
    assert editor_command({}, platform="win32") == ["notepad"]
    (tmp_path / "nano").write_text("#!/bin/sh\n")
    (tmp_path / "nano").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert editor_command({}, platform="linux") == [str(tmp_path / "nano")]
    monkeypatch.setenv("PATH", os.devnull)
    with pytest.raises(ConfigError) as caught:
        editor_command({}, platform="darwin")
    assert caught.value.code == "CONFIG_EDITOR" and "set VISUAL or EDITOR" in str(caught.value)
