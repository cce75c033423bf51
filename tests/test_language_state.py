"""The message language is state of one invocation (a ContextVar), never left behind for the next one."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

import glm_image_cli
from glm_image_cli.messages import current_language, render, using_language

MESSAGES_PY = Path(glm_image_cli.__file__).with_name("messages.py")


def test_lang_zh_invocation_does_not_leak_into_the_next_one(cli) -> None:
    assert "追加到提示词" in cli("--lang", "zh", "styles").stdout
    assert current_language() == "en"
    english = cli("styles").stdout
    assert "Adds to the prompt" in english and "追加到提示词" not in english
    assert "Unknown setting 'colour'" in cli("config", "set", "colour", "red").stderr


def test_per_command_lang_and_errors_are_reset_too(cli) -> None:
    assert "未知设置项" in cli("config", "set", "colour", "red", "--lang", "zh").stderr
    assert current_language() == "en"
    assert "Unknown setting 'colour'" in cli("config", "set", "colour", "red").stderr


def test_a_fresh_thread_renders_in_the_default_language() -> None:
    seen: list[str] = []
    with using_language("zh"):
        thread = threading.Thread(target=lambda: seen.append(render("interrupted")))
        thread.start()
        thread.join()
        assert render("interrupted") == render("interrupted", lang="zh")
    assert seen == [render("interrupted", lang="en")]


def test_using_language_resets_on_exception_and_after_inner_sets() -> None:
    from glm_image_cli.messages import LANGUAGE

    with pytest.raises(RuntimeError), using_language("zh"):
        assert current_language() == "zh"
        LANGUAGE.set("zh")  # what commands.common.begin does for a per-command --lang
        raise RuntimeError("boom")
    assert current_language() == "en"


def test_unknown_language_falls_back_to_english() -> None:
    with using_language("fr") as chosen:
        assert chosen == "en" and current_language() == "en"


def test_messages_imports_nothing_from_the_package() -> None:
    """The catalogue is a leaf: anything may import it, so it can never close an import cycle."""
    tree = ast.parse(MESSAGES_PY.read_text(encoding="utf-8"))
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append("." * node.level + (node.module or ""))
    assert imported, "expected the module to import something from the standard library"
    assert not [name for name in imported if name.startswith((".", "glm_image_cli"))], imported
