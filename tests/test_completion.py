"""Shell completion and the stored help pages: generated from the Typer app, fast, and never stale."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from glm_image_cli.cli.entry import STATIC_PATH
from tests.test_console_script import console_script

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "completions"


def _generator():
    spec = importlib.util.spec_from_file_location("completions_generate", COMPLETIONS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_completion_scripts_are_current() -> None:
    for name, text in _generator().scripts().items():
        assert (COMPLETIONS / name).read_text(encoding="utf-8") == text, \
            f"{name} is stale: run python completions/generate.py"


def test_static_help_and_command_tree_are_current() -> None:
    import json

    from glm_image_cli.cli.build_static import build

    stored = json.loads(STATIC_PATH.read_text(encoding="utf-8"))
    fresh = build()
    hint = "glm_image_cli/cli/static.json is stale: run python -m glm_image_cli.cli.build_static"
    assert stored["tree"] == fresh["tree"], hint
    assert stored["help"] == fresh["help"], hint  # page models: drawn at run time for the terminal


@pytest.mark.parametrize(("shell", "script", "check"), [
    ("bash", "glm-image.bash", ["-n"]),
    ("zsh", "glm-image.zsh", ["-n"]),
    ("fish", "glm-image.fish", ["--no-execute"]),
])
def test_completion_script_syntax(shell: str, script: str, check: list[str]) -> None:
    binary = shutil.which(shell)
    if binary is None:
        pytest.skip(f"{shell} is not installed here (.ci/run installs it with apt-get)")
    completed = subprocess.run([binary, *check, str(COMPLETIONS / script)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


def _complete(env: dict[str, str], full: bool) -> subprocess.CompletedProcess[str]:
    """The fast path (the console script) or Typer's own completion (the full app)."""
    base = {**os.environ, "_GLM_IMAGE_COMPLETE": env.pop("instruction"), **env}
    full_app = "import sys; sys.argv=['glm-image']; from glm_image_cli.cli.app import main; main()"
    args = [sys.executable, "-c", full_app] if full else console_script()
    return subprocess.run(args, env=base, capture_output=True, text=True, timeout=60)


BASH_CASES = [
    ("glm-image ge", 1),
    ("glm-image generate x --style 水", 4),
    ("glm-image generate x --style ", 4),
    ("glm-image generate x -m glm-image --size ", 6),
    ("glm-image generate x --size ", 4),
    ("glm-image config set ", 3),
    ("glm-image config ", 2),
    ("glm-image batch p.txt --format ", 4),
    ("glm-image generate x --lang ", 4),
    ("glm-image --lang zh generate x --model cog", 6),
    ("glm-image history --se", 2),
]


@pytest.mark.parametrize(("words", "cword"), BASH_CASES)
def test_fast_bash_completion_matches_typer(words: str, cword: int) -> None:
    fast = _complete({"instruction": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}, full=False)
    full = _complete({"instruction": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}, full=True)
    assert fast.returncode == full.returncode == 0, fast.stderr + full.stderr
    assert set(fast.stdout.split()) == set(full.stdout.split())
    assert fast.stdout.strip(), f"no candidates for {words!r}"


@pytest.mark.parametrize("shell", ["zsh", "fish", "powershell"])
def test_fast_completion_speaks_each_shells_protocol(shell: str) -> None:
    env = {"instruction": f"complete_{shell}", "_TYPER_COMPLETE_ARGS": "glm-image generate x --style 水",
           "_TYPER_COMPLETE_FISH_ACTION": "get-args", "_TYPER_COMPLETE_WORD_TO_COMPLETE": "水"}
    fast = _complete(dict(env), full=False)
    full = _complete(dict(env), full=True)
    assert fast.returncode == full.returncode == 0
    assert fast.stdout.strip() == full.stdout.strip()
    assert "水彩" in fast.stdout


def test_dynamic_values() -> None:
    cases = {
        ("glm-image generate x --style ", 4): {"写实", "realistic", "卡通", "国风", "3D"},
        ("glm-image generate x -m cogview-4 --size ", 6): {"1024x1024", "1344x768"},
        ("glm-image generate x --model ", 4): {"glm-image", "cogview-4-250304", "cogview-3-flash"},
        ("glm-image config unset ", 3): {"api-key", "model", "server-token"},
    }
    for (words, cword), expected in cases.items():
        answer = _complete({"instruction": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)},
                           full=False).stdout.split()
        assert expected <= set(answer), (words, answer)


def test_user_styles_complete_too(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[styles]\n"胶片" = "35mm film"\n', encoding="utf-8")
    answer = _complete({"instruction": "complete_bash", "COMP_WORDS": "glm-image generate x -s 胶",
                        "COMP_CWORD": "4", "GLM_IMAGE_CONFIG": str(config)}, full=False)
    assert answer.stdout.split() == ["胶片"]


def test_static_help_pages(monkeypatch) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    english = subprocess.run([*console_script(), "generate", "--help"], capture_output=True, text=True, env=env)
    assert "Generate images from a text prompt" in english.stdout and "\x1b[" not in english.stdout
    chinese = subprocess.run([*console_script(), "--lang", "zh", "batch", "--help"], capture_output=True, text=True,
                             env=env)
    assert "从文件批量生成图片" in chinese.stdout
    by_locale = subprocess.run([*console_script(), "ping", "--help"], capture_output=True, text=True,
                               env={**env, "LANG": "zh_CN.UTF-8"})
    assert "不生成图片、不计费" in by_locale.stdout
