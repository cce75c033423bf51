"""Settings are checked when they are written (issue 26, items 2 and 7): `config set` refuses a size the model
does not take or a style that does not exist (exit 3, with the nearest size or the style meant), a mistyped
setting name gets "did you mean", and a bad value that reaches a command anyway names the setting and the
file (CONFIG_FILE_BAD_VALUE, exit 3), a profile or the environment variable it came from."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from tests.fake_bigmodel import SYNC_ROUTE, make_png


def test_config_set_refuses_a_size_the_model_does_not_take_and_names_the_nearest(cli, isolated: Path) -> None:
    result = cli("config", "set", "size", "1000x1000")
    assert result.exit_code == 3
    assert "Invalid value for size" in result.stderr and "Nearest valid size: 1008x1008" in result.stderr
    assert "Saved" not in result.stderr and not isolated.exists()
    error = json.loads(cli("config", "set", "size", "1000x1000", "--json").stdout)["error"]
    assert error["code"] == "CONFIG_BAD_VALUE" and error["exit_code"] == 3
    zh = cli("--lang", "zh", "config", "set", "size", "1000x1000")
    assert zh.exit_code == 3 and "size 的值无效" in zh.stderr and "最接近的有效尺寸：1008x1008" in zh.stderr


def test_config_set_checks_the_size_against_the_model_of_the_file_or_profile(cli, isolated: Path) -> None:
    assert cli("config", "set", "model", "glm-image").exit_code == 0
    assert cli("config", "set", "size", "960x1728").exit_code == 0  # glm-image takes it (multiple of 32)
    refused = cli("config", "set", "size", "1008x1008")  # a multiple of 16 only
    assert refused.exit_code == 3 and "glm-image" in refused.stderr and "multiple of 32" in refused.stderr
    assert cli("config", "set", "--profile", "cheap", "model", "cogview-3-flash").exit_code == 0
    assert cli("config", "set", "--profile", "cheap", "size", "1008x1008").exit_code == 0
    data = tomllib.loads(isolated.read_text(encoding="utf-8"))
    assert data["size"] == "960x1728" and data["profiles"]["cheap"]["size"] == "1008x1008"


def test_changing_the_model_warns_about_a_size_it_does_not_take(cli, isolated: Path) -> None:
    cli("config", "set", "model", "glm-image")
    cli("config", "set", "size", "2048x2048")
    result = cli("config", "set", "model", "cogview-4")
    assert result.exit_code == 0 and "Saved model" in result.stderr  # the user may be changing the size next
    assert f"The size in {isolated} does not fit these settings" in result.stderr
    assert "glm-image config set size …" in result.stderr


def test_unsetting_the_model_warns_about_a_size_the_default_does_not_take(cli, isolated: Path) -> None:
    cli("config", "set", "model", "glm-image")
    cli("config", "set", "size", "2048x2048")
    result = cli("config", "unset", "model")
    assert result.exit_code == 0 and "Removed model" in result.stderr
    assert "The size in" in result.stderr and "not valid for cogview-4-250304" in result.stderr
    cli("config", "set", "model", "glm-image")
    assert "与这些设置不符" in cli("--lang", "zh", "config", "unset", "model").stderr
    data = json.loads(cli("config", "unset", "quality", "--json").stdout)
    assert data["removed"] is False and "warnings" not in data  # nothing removed: nothing to warn about


def test_config_set_refuses_an_unknown_style_and_suggests_the_one_meant(cli, isolated: Path) -> None:
    result = cli("config", "set", "style", "水粉")
    assert result.exit_code == 3
    assert "Unknown style '水粉'. Did you mean: 水彩?" in result.stderr and not isolated.exists()
    zh = cli("--lang", "zh", "config", "set", "style", "水粉")
    assert "未知风格“水粉”" in zh.stderr and "水彩" in zh.stderr
    assert cli("config", "set", "style", "watercolor").exit_code == 0
    isolated.write_text(isolated.read_text() + '[styles]\n"水粉" = "gouache painting"\n', encoding="utf-8")
    assert cli("config", "set", "style", "水粉").exit_code == 0  # the user's own [styles] count


def test_config_set_refuses_a_quality_the_model_does_not_have(cli) -> None:
    cli("config", "set", "model", "glm-image")
    result = cli("config", "set", "quality", "standard")
    assert result.exit_code == 3 and "does not support quality 'standard'" in result.stderr


def test_a_mistyped_setting_name_gets_did_you_mean(cli) -> None:
    for args in (("config", "set", "modle", "glm-image"), ("config", "unset", "modle")):
        result = cli(*args)
        assert result.exit_code == 3
        assert "Unknown setting 'modle' (did you mean model?)" in result.stderr
        assert result.stderr.count("\n") == 1
    assert json.loads(cli("config", "set", "modle", "x", "--json").stdout)["error"]["code"] == "CONFIG_UNKNOWN_KEY"
    zh = cli("--lang", "zh", "config", "set", "sytle", "水彩")
    assert "未知设置项“sytle”（你是不是想用 style？）" in zh.stderr


def test_a_bad_size_in_the_file_names_the_setting_and_the_file_at_use(cli, fake, isolated: Path) -> None:
    isolated.parent.mkdir()
    isolated.write_text('size = "1000x1000"\n', encoding="utf-8")
    result = cli("generate", "a cat")
    assert result.exit_code == 3
    assert f"The config file {isolated} has an invalid size" in result.stderr
    assert "Nearest valid size: 1008x1008" in result.stderr and "config set size" in result.stderr
    error = json.loads(cli("generate", "a cat", "--json").stdout)["error"]
    assert error["code"] == "CONFIG_FILE_BAD_VALUE" and error["exit_code"] == 3
    chat = cli("chat", input="a cat\n")
    assert chat.exit_code == 3 and f"The config file {isolated} has an invalid size" in chat.stderr
    Path("p.txt").write_text("a cat\n", encoding="utf-8")
    batch = cli("batch", "p.txt", "--dry-run")
    assert batch.exit_code == 3 and f"The config file {isolated} has an invalid size" in batch.stderr
    assert cli("generate", "a cat", "--size", "1024x1024").exit_code == 0  # a flag over it is used as typed
    assert fake.count(SYNC_ROUTE) == 1


def test_a_bad_style_in_a_profile_or_the_environment_names_where_it_lives(cli, fake, isolated: Path) -> None:
    isolated.parent.mkdir()
    isolated.write_text('[profiles.art]\nstyle = "水粉"\n', encoding="utf-8")
    result = cli("--profile", "art", "generate", "a cat")
    assert result.exit_code == 3
    assert "has an invalid style in [profiles.art]" in result.stderr and "config set --profile art style" in \
        result.stderr
    zh = cli("--lang", "zh", "--profile", "art", "generate", "a cat")
    assert "[profiles.art] 中的 style 无效" in zh.stderr
    env = cli("generate", "a cat", env={"GLM_IMAGE_STYLE": "水粉"})
    assert env.exit_code == 3 and "GLM_IMAGE_STYLE (the environment variable for setting style)" in env.stderr
    enhance = cli("--profile", "art", "enhance", "a cat")
    assert enhance.exit_code == 3 and "has an invalid style in [profiles.art]" in enhance.stderr
    flag = cli("generate", "a cat", "--style", "水粉")
    assert flag.exit_code == 2 and "config file" not in flag.stderr  # typed on the command line: a usage error
    assert fake.requests == []


def test_config_import_drops_what_config_set_refuses_and_warns_about_an_open_host(cli, isolated: Path) -> None:
    Path("skill.env").write_text("DEFAULT_WIDTH=1000\nDEFAULT_HEIGHT=1000\nDEFAULT_STYLE=水粉\n"
                                 "SERVER_HOST=0.0.0.0\nDEFAULT_MODEL=cogview-4\n", encoding="utf-8")
    result = cli("config", "import", "skill.env")
    assert result.exit_code == 0, result.stderr
    assert "DEFAULT_WIDTH/DEFAULT_HEIGHT: Size 1000x1000 is not valid for cogview-4" in result.stderr
    assert "DEFAULT_STYLE: Unknown style '水粉'" in result.stderr
    assert "server-host 0.0.0.0 accepts connections from other machines" in result.stderr
    assert tomllib.loads(isolated.read_text(encoding="utf-8")) == {"model": "cogview-4", "server-host": "0.0.0.0"}
    zh = cli("--lang", "zh", "config", "import", "skill.env", "--dry-run")
    assert "server-host 0.0.0.0 会接受其他机器的连接" in zh.stderr
    cli("config", "set", "server-token", "a-long-token-123")
    assert "accepts connections" not in cli("config", "import", "skill.env").stderr  # a token is set: no warning


def test_config_set_of_an_open_host_warns_that_serve_needs_a_token(cli) -> None:
    result = cli("config", "set", "server-host", "0.0.0.0")
    assert result.exit_code == 0 and "serve` then refuses to start without a token" in result.stderr
    assert "accepts connections" not in cli("config", "set", "--profile", "gpu", "backend", "openai").stderr
    assert "accepts connections" not in cli("config", "set", "server-host", "127.0.0.1").stderr


def test_edit_on_bigmodel_suggests_a_profile_not_the_global_backend(cli, fake, isolated: Path) -> None:
    Path("cat.png").write_bytes(make_png())
    result = cli("edit", "cat.png", "-p", "a scarf")
    assert result.exit_code == 2
    assert "glm-image config set --profile local backend openai" in result.stderr
    assert "--profile local edit" in result.stderr and "config set backend openai" not in result.stderr
    zh = cli("--lang", "zh", "edit", "cat.png", "-p", "a scarf")
    assert "添加一个配置档" in zh.stderr
    cli("config", "set", "--profile", "gpu", "backend", "openai")
    named = cli("edit", "cat.png", "-p", "a scarf", "--json")
    assert named.exit_code == 2 and "your profile 'gpu' uses the openai backend" in named.stderr
    assert "glm-image --profile gpu edit" in named.stderr
    assert json.loads(named.stdout)["error"]["code"] == "EDIT_UNSUPPORTED"
    assert fake.requests == []
