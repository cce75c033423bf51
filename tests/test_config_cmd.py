"""`glm-image config ...` as a user types it."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

from tests.conftest import SECRET_PART
from tests.fake_bigmodel import DEFAULT_KEY


def test_set_api_key_writes_a_private_file_and_shows_only_a_mask(cli, isolated: Path) -> None:
    result = cli("config", "set", "api-key", DEFAULT_KEY)
    assert result.exit_code == 0
    assert "fake…PART" in result.stderr
    assert tomllib.loads(isolated.read_text())["api-key"] == DEFAULT_KEY
    assert stat.S_IMODE(isolated.stat().st_mode) == 0o600
    assert stat.S_IMODE(isolated.parent.stat().st_mode) == 0o700
    assert not [p for p in isolated.parent.iterdir() if p.name != "config.toml"]  # no temp file left


def test_set_api_key_from_stdin_with_dash(cli, isolated: Path) -> None:
    result = cli("config", "set", "api-key", "-", input=DEFAULT_KEY + "\n")
    assert result.exit_code == 0
    assert tomllib.loads(isolated.read_text())["api-key"] == DEFAULT_KEY


def test_set_api_key_without_value_and_without_terminal_names_the_flags(cli, isolated: Path) -> None:
    result = cli("config", "set", "api-key")
    assert result.exit_code == 3
    assert "config set api-key VALUE" in result.stderr
    assert not isolated.exists()


def test_set_keeps_other_settings_and_user_styles(cli, isolated: Path) -> None:
    isolated.parent.mkdir()
    isolated.write_text('model = "cogview-3-flash"\n[styles]\n"胶片" = "35mm film photo"\n', encoding="utf-8")
    assert cli("config", "set", "size", "1344×768").exit_code == 0
    data = tomllib.loads(isolated.read_text(encoding="utf-8"))
    assert data == {"model": "cogview-3-flash", "size": "1344x768", "styles": {"胶片": "35mm film photo"}}


def test_unknown_key_lists_the_valid_ones(cli) -> None:
    result = cli("config", "set", "colour", "red")
    assert result.exit_code == 3
    assert "Unknown setting 'colour'" in result.stderr
    assert "api-key" in result.stderr and "concurrency" in result.stderr
    assert result.stderr.count("\n") == 1


def test_bad_values_are_refused_with_the_rule(cli) -> None:
    cases = {
        ("concurrency", "0"): "whole number from 1 to 32",
        ("region", "mars"): "cn, intl",
        ("timeout", "soon"): "number from 5 to 1800",
        ("base-url", "ftp://x"): "http:// or https://",
        ("size", "big"): "1024x1024",
        ("quality", "ultra"): "hd, standard",
    }
    for (key, value), rule in cases.items():
        result = cli("config", "set", key, value)
        assert result.exit_code == 3, key
        assert rule in result.stderr, (key, result.stderr)


def test_show_lists_every_setting_with_its_source_and_masks_the_key(cli, isolated: Path, monkeypatch) -> None:
    cli("config", "set", "api-key", DEFAULT_KEY)
    cli("config", "set", "model", "cogview-3-flash")
    monkeypatch.setenv("GLM_IMAGE_MODEL", "cogview-4")
    result = cli("config", "show", "--json")
    data = json.loads(result.stdout)
    assert data["path"] == str(isolated)
    assert data["settings"]["api-key"] == {"value": "fake…PART", "source": "file"}
    assert data["settings"]["model"] == {"value": "cogview-4", "source": "env:GLM_IMAGE_MODEL"}
    assert data["settings"]["concurrency"] == {"value": 2, "source": "default"}
    assert data["settings"]["base-url"]["value"] == "https://open.bigmodel.cn/api/paas/v4"
    table = cli("config", "show").stdout
    assert "fake…PART" in table and "env GLM_IMAGE_MODEL" in table and SECRET_PART not in table


def test_key_environment_variables_in_order(cli, monkeypatch) -> None:
    monkeypatch.setenv("ZHIPUAI_API_KEY", "zhipu-key-000000000000")
    monkeypatch.setenv("ZAI_API_KEY", "zai-key-0000000000000000")
    data = json.loads(cli("config", "show", "--json").stdout)
    assert data["settings"]["api-key"]["source"] == "env:ZAI_API_KEY"
    monkeypatch.setenv("GLM_API_KEY", "glm-key-0000000000000000")
    data = json.loads(cli("config", "show", "--json").stdout)
    assert data["settings"]["api-key"]["source"] == "env:GLM_API_KEY"


def test_region_sets_the_base_url(cli) -> None:
    cli("config", "set", "region", "intl")
    data = json.loads(cli("config", "show", "--json").stdout)
    assert data["settings"]["base-url"]["value"] == "https://api.z.ai/api/paas/v4"


def test_unset_and_path(cli, isolated: Path) -> None:
    cli("config", "set", "style", "国风")
    result = cli("config", "unset", "style")
    assert result.exit_code == 0 and "Removed style" in result.stderr
    assert "style" not in tomllib.loads(isolated.read_text())
    assert "was not set" in cli("config", "unset", "style").stderr
    assert cli("config", "path").stdout.strip() == str(isolated)


def test_broken_config_file_is_one_clear_line(cli, isolated: Path) -> None:
    isolated.parent.mkdir()
    isolated.write_text("model = [unclosed\n")
    result = cli("config", "show")
    assert result.exit_code == 3
    assert "is not valid TOML" in result.stderr and str(isolated) in result.stderr


def test_invalid_value_in_file_names_the_fix(cli, isolated: Path) -> None:
    isolated.parent.mkdir()
    isolated.write_text("concurrency = 100\n")
    result = cli("config", "show")
    assert result.exit_code == 3
    assert "glm-image config unset concurrency" in result.stderr


def test_world_readable_file_with_a_key_gets_a_warning(cli, isolated: Path) -> None:
    cli("config", "set", "api-key", DEFAULT_KEY)
    isolated.chmod(0o644)
    assert "chmod 600" in cli("config", "show").stderr


def test_messages_follow_lang_flag_config_and_locale(cli, monkeypatch) -> None:
    assert "未知设置项" in cli("--lang", "zh", "config", "set", "colour", "red").stderr
    assert "未知设置项" in cli("config", "set", "colour", "red", "--lang", "zh").stderr
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert "未知设置项" in cli("config", "set", "colour", "red").stderr
    cli("config", "set", "lang", "en")
    assert "Unknown setting" in cli("config", "set", "colour", "red").stderr
