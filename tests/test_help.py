"""--help pages, usage errors and the `gen` alias as a user meets them (issue 14, items 1-4, 10, 17).

Pages wrap to the terminal (never cut with "…"), measured in display cells (Chinese takes two), and come out
the same through the fast path (the console script drawing static.json) and the full Typer app.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from rich.cells import cell_len

from glm_image_cli.cli.entry import static_data
from glm_image_cli.cli.helppage import render, wrap
from tests.test_console_script import console_script

WIDTHS = (60, 100, 140)
LANGS = ("en", "zh")
PATHS = sorted(static_data()["help"]["en"])
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def fast_help(path: str, lang: str, width: int, *extra: str, env: dict[str, str] | None = None) -> str:
    """The page as the installed console script prints it (answered from static.json)."""
    completed = subprocess.run([*console_script(), "--lang", lang, *path.split(), *extra, "--help"],
                               capture_output=True, text=True, timeout=60,
                               env={**os.environ, "COLUMNS": str(width), **(env or {})})
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@pytest.fixture(scope="module")
def full_pages() -> dict[tuple[str, str, int], str]:
    """Every page drawn by the full Typer app (the path that misses static.json), one child per language:
    help texts are chosen when the commands are imported."""
    code = """if True:
        import json, os, sys
        from typer.testing import CliRunner
        from glm_image_cli.cli.app import app
        pages = {}
        for width in json.loads(sys.argv[2]):
            for path in json.loads(sys.argv[3]):
                result = CliRunner().invoke(app, [*path.split(), "--help"], env={"COLUMNS": str(width)})
                assert result.exit_code == 0, result.output
                pages[f"{path}|{width}"] = result.stdout
        print(json.dumps(pages))
    """
    pages = {}
    for lang in LANGS:
        completed = subprocess.run([sys.executable, "-c", code, lang, json.dumps(WIDTHS), json.dumps(PATHS)],
                                   capture_output=True, text=True, timeout=120,
                                   env={**os.environ, "GLM_IMAGE_LANG": lang})
        assert completed.returncode == 0, completed.stderr
        for key, page in json.loads(completed.stdout).items():
            path, width = key.rsplit("|", 1)
            pages[(lang, path, int(width))] = page
    return pages


def squash(text: str) -> str:
    return "".join(text.split())


def model_texts(page: dict) -> list[str]:
    texts = [page["usage"], *(p for p in page["text"].split("\n\n") if p.strip())]
    for section in page["sections"]:
        texts.append(section["title"])
        for row in section["rows"]:
            texts += [cell for cell in row if cell]
    return texts


def assert_fits(page_text: str, width: int, model: dict) -> None:
    """Every line within the width (in cells), and every word of the page there, in order, none cut."""
    for line in page_text.splitlines():
        assert cell_len(line) <= width, (width, line)
    shown = squash(page_text)
    for text in model_texts(model):
        assert squash(text) in shown, text
    assert page_text.count("…") == sum(text.count("…") for text in model_texts(model))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", LANGS)
def test_every_page_wraps_to_the_terminal_on_both_paths(lang: str, width: int, full_pages) -> None:
    for path in PATHS:
        model = static_data()["help"][lang][path]
        fast = fast_help(path, lang, width)
        assert_fits(fast, width, model)
        assert fast == full_pages[(lang, path, width)], (lang, path, width)


@pytest.mark.parametrize("lang", LANGS)
def test_a_page_that_misses_the_fast_path_is_the_same_page(lang: str) -> None:
    for width in WIDTHS:
        fast = fast_help("generate", lang, width)
        full = fast_help("generate", lang, width, "--json")  # --json: not a plain --help, so the full CLI
        assert full == fast
    assert fast_help("gen", lang, 100) == fast_help("generate", lang, 100)


def test_chinese_help_is_not_cut_where_it_used_to_be() -> None:
    page = fast_help("generate", "zh", 80)
    assert "画面中不希望出现的内容（会并入提示词）。" in squash(page)
    assert "…" not in page
    batch = fast_help("batch", "zh", 120)
    assert "…" not in batch and max(cell_len(line) for line in batch.splitlines()) <= 120


def test_colour_changes_nothing_but_colour() -> None:
    for lang in LANGS:
        for path in PATHS:
            model = static_data()["help"][lang][path]
            coloured = render(model, 70, color=True)
            assert "\x1b[" in coloured
            assert ANSI.sub("", coloured) == render(model, 70)


def test_literal_brackets_are_shown() -> None:
    for lang in LANGS:
        assert "pipinstall'glm-image[mcp]'" in squash(fast_help("", lang, 100))
        assert "pipinstall'glm-image[mcp]'" in squash(fast_help("mcp", lang, 60))
        assert "glm-image[convert]" in fast_help("generate", lang, 140)
        assert "[styles]" in fast_help("styles", lang, 140)


def test_conventional_metavars_and_option_names() -> None:
    generate = fast_help("generate", "en", 140)
    assert "Usage: glm-image generate [OPTIONS] PROMPT\n" in generate
    assert "{prompt}" not in generate and "<bool>" not in generate and "<str>" not in generate
    assert re.search(r"^  -n, --samples N ", generate, re.M)
    assert re.search(r"^      --format, --image-format FORMAT ", generate, re.M)
    assert re.search(r"^      --json  +Print", generate, re.M)  # a flag has no metavar
    assert re.search(r"^  PROMPT  +The prompt", generate, re.M)
    assert "Usage: glm-image history show [OPTIONS] ID\n" in fast_help("history show", "en", 100)
    assert "Usage: glm-image again [OPTIONS] ID\n" in fast_help("again", "en", 100)
    assert not re.search(r"--n\b", fast_help("again", "en", 100))
    root = fast_help("", "en", 100)
    assert re.search(r"^  -V, --version  +Show the version", root, re.M)
    assert "Usage: glm-image [OPTIONS] COMMAND [ARGS]...\n" in root


def test_completion_options_are_explained_in_chinese() -> None:
    root = fast_help("", "zh", 100)
    assert "为当前 shell 安装 TAB 补全" in root and "打印当前 shell 的 TAB 补全脚本" in root
    assert "Install completion" not in root and "Show this message" not in root
    assert "显示本帮助并退出" in root and root.startswith("用法：glm-image")


# --- usage errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "expected"), [
    ("en", "error: Missing PROMPT. Try 'glm-image generate --help'."),
    ("zh", "错误：缺少 PROMPT。用法见 'glm-image generate --help'。"),
])
def test_missing_prompt_is_one_line(cli, lang: str, expected: str) -> None:
    result = cli("--lang", lang, "generate")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == expected


@pytest.mark.parametrize(("args", "expected"), [
    (["generate", "a cat", "--bogus"], "error: No such option --bogus"),
    (["--lang", "zh", "generate", "a cat", "--bogus"], "错误：没有选项 --bogus"),
    (["generate", "a cat", "--stlye", "x"], "(did you mean"),
    (["generate", "a cat", "-n", "many"], "error: Invalid value for -n/--samples: expected a whole number."),
    (["generate", "a cat", "-n", "many", "--lang", "zh"], "错误：-n/--samples 的值无效：应为整数。"),
    (["generate", "a cat", "--style"], "error: --style needs a value. Try 'glm-image generate --help'."),
    (["generate", "a", "b"], "error: Unexpected extra argument: b."),
    (["genrate", "a cat"], "error: No such command 'genrate' (did you mean 'generate'?). Try 'glm-image --help'."),
    (["config", "set"], "error: Missing KEY. Try 'glm-image config set --help'."),
    (["history", "show", "x"], "error: Invalid value for ID: expected a whole number."),
    (["--zzz"], "error: No such option --zzz. Try 'glm-image --help'."),
])
def test_click_usage_errors_are_one_plain_line_in_the_users_language(cli, args: list[str], expected: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert expected in line
    assert "╭" not in result.stderr and "Usage:" not in result.stderr
    assert line.endswith(("--help'.", "--help'。"))


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", "error: Missing PROMPT. Try 'glm-image generate --help'.\n"),
    ("zh", "错误：缺少 PROMPT。用法见 'glm-image generate --help'。\n"),
])
def test_usage_errors_from_the_console_script(lang: str, expected: str) -> None:
    completed = subprocess.run([*console_script(), "generate"], capture_output=True, text=True, timeout=60,
                               env={**os.environ, "GLM_IMAGE_LANG": lang})
    assert completed.returncode == 2
    assert (completed.stdout, completed.stderr) == ("", expected)
    unknown = subprocess.run([*console_script(), "--lang", lang, "gen", "x", "--bogus"], capture_output=True,
                             text=True, timeout=60)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert "--bogus" in unknown.stderr and "glm-image generate --help" in unknown.stderr


def test_a_group_without_its_command_shows_its_help(cli) -> None:
    result = cli("config")
    assert result.exit_code == 2
    assert "Usage: glm-image config [OPTIONS] COMMAND [ARGS]..." in result.stderr


# --- the gen alias ------------------------------------------------------------------------------------

def test_gen_runs_generate(cli, fake) -> None:
    from tests.fake_bigmodel import SYNC_ROUTE

    result = cli("gen", "a cat", "-o", "out")
    assert result.exit_code == 0, result.stderr
    assert fake.count(SYNC_ROUTE) == 1


def test_gen_is_listed_and_completed() -> None:
    assert re.search(r"^  generate, gen  +Generate images", fast_help("", "en", 100), re.M)
    from tests.test_completion import _complete

    for full in (False, True):
        commands = _complete({"instruction": "complete_bash", "COMP_WORDS": "glm-image ge", "COMP_CWORD": "1"},
                             full=full).stdout.split()
        assert set(commands) == {"generate", "gen"}, full
        styles = _complete({"instruction": "complete_bash", "COMP_WORDS": "glm-image gen x --style 水",
                            "COMP_CWORD": "4"}, full=full).stdout.split()
        assert "水彩" in styles, full


# --- completion sources are declared, and the same on both paths ----------------------------------------

def test_every_parameter_completes_the_same_on_both_paths() -> None:
    """The fast path reads completion sources from the tree (declared in completion.SOURCES); Typer calls the
    autocompletion functions given to each option.  Every option and argument must agree."""
    from typer._completion_classes import BashComplete
    from typer.main import get_command

    from glm_image_cli.cli.app import app
    from glm_image_cli.cli.entry import candidates

    tree = static_data()["tree"]
    completer = BashComplete(get_command(app), {}, "glm-image", "_GLM_IMAGE_COMPLETE")
    checked = 0

    def typer_says(args: list[str], incomplete: str) -> set[str]:
        # a file item asks the shell for file names; the fast path leaves those to the shell too
        return {item.value for item in completer.get_completions(args, incomplete) if item.type == "plain"}

    def visit(node: dict, path: list[str]) -> None:
        nonlocal checked
        for option in node["options"]:
            if option["flag"]:
                continue
            for incomplete in ("", "c"):
                args = [*path, option["names"][0]]
                assert {value for value, _ in candidates(tree, args, incomplete)} == typer_says(args, incomplete), \
                    (args, incomplete)
            checked += 1
        if node["arguments"] and not node.get("commands"):
            assert {value for value, _ in candidates(tree, path, "")} == typer_says(path, ""), path
        for name, sub in node.get("commands", {}).items():
            visit(sub, [*path, name])

    visit(tree, [])
    assert checked > 40


# --- the wrapper -----------------------------------------------------------------------------------------

def test_wrapping_chinese_keeps_punctuation_with_its_word() -> None:
    text = "模型：cogview-4-250304（默认）、cogview-4、cogview-3-flash（免费）、glm-image。"
    for width in range(20, 60):  # from the width of the longest word up
        lines = wrap(text, width)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        for line in lines:
            assert cell_len(line) <= width
            assert not line.startswith(tuple("，。、；：）")), lines
            assert not line.endswith(("（",)), lines


def test_a_word_longer_than_the_line_is_folded_not_cut() -> None:
    assert wrap("base_url=http://127.0.0.1:5001/v1 ok", 10) == ["base_url=h", "ttp://127.", "0.0.1:5001", "/v1 ok"]
