"""Prompt templates: `glm-image template save|list|show|delete|edit` and `generate -t NAME var=value`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from glm_image_cli.storage.pngmeta import recipe_in_file
from tests.fake_bigmodel import SYNC_ROUTE

POSTER = "海报，{subject}，{style}风格"


def save_poster(cli, *extra: str):
    result = cli("template", "save", "poster", POSTER, *extra)
    assert result.exit_code == 0, result.stderr
    return result


def test_save_list_show_and_delete(cli, tmp_path: Path) -> None:
    assert "No templates yet" in cli("template", "list").stderr
    assert "Saved template poster" in save_poster(cli, "--size", "1088x1920", "--var", "style=水彩").stderr
    stored = tmp_path / "data" / "templates" / "poster.json"
    assert json.loads(stored.read_text(encoding="utf-8")) == {
        "prompt": POSTER, "defaults": {"size": "1088x1920"}, "variables": {"style": "水彩"}}
    listed = cli("template", "list", "--json")
    assert json.loads(listed.stdout) == [{"name": "poster", "prompt": POSTER, "defaults": {"size": "1088x1920"},
                                          "variables": {"style": "水彩"}}]
    table = cli("template", "list").stdout
    assert "poster" in table and "subject, style" in table
    shown = cli("template", "show", "poster")
    assert shown.stdout.strip() == POSTER and "size=1088x1920" in shown.stderr
    assert "Replaced template poster" in save_poster(cli).stderr
    assert cli("template", "delete", "poster").exit_code == 0
    assert not stored.exists()
    gone = cli("template", "show", "poster")
    assert gone.exit_code == 2 and "No template named 'poster'" in gone.stderr


def test_a_misspelt_name_suggests_the_nearest_template(cli) -> None:
    save_poster(cli)
    result = cli("--lang", "zh", "template", "show", "postr")
    assert result.exit_code == 2 and "没有名为“postr”的模板" in result.stderr and "poster" in result.stderr


@pytest.mark.parametrize("name", ["../evil", "a/b", ".hidden", "_x", "x" * 65, "a b"])
def test_names_that_cannot_be_file_names_are_refused(cli, name: str, tmp_path: Path) -> None:
    result = cli("template", "save", name, "a cat")
    assert result.exit_code == 2 and "cannot be a template name" in result.stderr
    assert not (tmp_path / "data" / "templates").exists()


def test_defaults_are_checked_when_saved(cli, tmp_path: Path) -> None:
    result = cli("template", "save", "p", "a {thing}", "--size", "1000x1000")
    assert result.exit_code == 2 and "Nearest valid size" in result.stderr
    result = cli("template", "save", "p", "a {thing}", "--var", "colour=red")
    assert result.exit_code == 2 and "has no variable colour" in result.stderr
    assert not (tmp_path / "data" / "templates" / "p.json").exists()


def test_generate_fills_the_template_and_uses_its_defaults(cli, fake) -> None:
    save_poster(cli, "--size", "768x1344", "--var", "style=水彩")
    result = cli("generate", "-t", "poster", "subject=猫")
    assert result.exit_code == 0, result.stderr
    [call] = fake.seen(SYNC_ROUTE)
    assert call.body["prompt"] == "海报，猫，水彩风格" and call.body["size"] == "768x1344"
    recipe = recipe_in_file(Path(result.stdout.strip()))
    assert recipe["expansion"]["template"] == "poster" and recipe["expansion"]["variables"] == {"subject": "猫"}


def test_flags_override_template_defaults_which_override_the_settings(cli, fake) -> None:
    assert cli("config", "set", "size", "1024x1024").exit_code == 0
    save_poster(cli, "--size", "768x1344", "--model", "cogview-3-flash")
    assert cli("generate", "-t", "poster", "subject=猫", "style=油画", "--size", "1344x768").exit_code == 0
    assert cli("generate", "-t", "poster", "subject=狗", "style=油画").exit_code == 0
    first, second = fake.seen(SYNC_ROUTE)
    assert (first.body["size"], first.body["model"]) == ("1344x768", "cogview-3-flash")
    assert (second.body["size"], second.body["model"]) == ("768x1344", "cogview-3-flash")


def test_a_missing_variable_is_one_line_naming_it_and_nothing_is_sent(cli, fake) -> None:
    save_poster(cli)
    result = cli("generate", "-t", "poster", "subject=猫")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: The template poster needs {style}: add style=VALUE."
    zh = cli("--lang", "zh", "generate", "-t", "poster", "style=水彩")
    assert zh.stderr.strip() == "错误：模板 poster 需要 {subject}：请加上 subject=值。"
    assert fake.requests == []


def test_an_unknown_variable_or_a_word_without_equals_is_refused(cli, fake) -> None:
    save_poster(cli)
    unknown = cli("generate", "-t", "poster", "subject=猫", "style=水彩", "colour=red")
    assert unknown.exit_code == 2 and "has no variable colour (it has: subject, style)" in unknown.stderr
    bare = cli("generate", "-t", "poster", "猫")
    assert bare.exit_code == 2 and "'猫' is not NAME=VALUE" in bare.stderr
    without = cli("generate", "subject=猫", "style=水彩")
    assert without.exit_code == 2 and "-t TEMPLATE" in without.stderr
    assert fake.requests == []


def test_a_variable_may_hold_alternatives(cli, fake) -> None:
    save_poster(cli)
    assert cli("generate", "-t", "poster", "subject={猫|狗}", "style=水彩").exit_code == 0
    assert sorted(call.body["prompt"] for call in fake.seen(SYNC_ROUTE)) == ["海报，狗，水彩风格", "海报，猫，水彩风格"]


def test_a_damaged_template_file_names_the_file(cli, fake, tmp_path: Path) -> None:
    folder = tmp_path / "data" / "templates"
    folder.mkdir(parents=True)
    (folder / "bad.json").write_text("{not json", encoding="utf-8")
    result = cli("generate", "-t", "bad")
    assert result.exit_code == 3 and str(folder / "bad.json") in result.stderr
    assert fake.requests == []


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script stands for the editor")
def test_edit_saves_a_valid_change_and_keeps_the_old_one_when_invalid(cli, tmp_path: Path) -> None:
    from glm_image_cli.cli.terminal import Terminal

    save_poster(cli)
    script = tmp_path / "editor.sh"
    replacement = tmp_path / "replacement.json"
    script.write_text(f'#!/bin/sh\ncat "{replacement}" > "$1"\n', encoding="utf-8")
    os.chmod(script, 0o755)
    terminal = Terminal(editor=str(script))
    replacement.write_text(json.dumps({"prompt": "新海报，{subject}", "defaults": {"style": "油画"}}),
                           encoding="utf-8")
    assert cli("template", "edit", "poster", terminal=terminal).exit_code == 0
    assert json.loads(cli("template", "show", "poster", "--json").stdout)["prompt"] == "新海报，{subject}"
    replacement.write_text(json.dumps({"prompt": "x", "defaults": {"colour": "red"}}), encoding="utf-8")
    result = cli("template", "edit", "poster", terminal=terminal)
    assert result.exit_code == 2 and "the old one is kept" in result.stderr
    assert json.loads(cli("template", "show", "poster", "--json").stdout)["defaults"] == {"style": "油画"}
