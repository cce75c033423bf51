"""Pictures in the terminal (kitty, iTerm2, Sixel, half blocks), `show`, `grid` and --preview."""

from __future__ import annotations

import base64
import builtins
import io
import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from glm_image_cli.cli import preview
from glm_image_cli.cli.contact import sheet_size
from glm_image_cli.storage.pngmeta import embed_recipe
from tests.fake_bigmodel import DEFAULT_KEY, make_png

ROOT = Path(__file__).resolve().parents[1]
ESC = "\x1b"


def recipe_png(path: Path, prompt: str = "一只橘猫", rgb: tuple[int, int, int] = (240, 140, 40),
               size: tuple[int, int] = (32, 16)) -> Path:
    path.write_bytes(embed_recipe(make_png(*size, rgb=rgb),
                                  {"prompt": prompt, "model": "cogview-4-250304", "size": f"{size[0]}x{size[1]}"}))
    return path


# -- protocol detection --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("env", "expected"), [
    ({"TERM": "xterm-kitty", "KITTY_WINDOW_ID": "1"}, "kitty"),
    ({"TERM": "xterm-ghostty", "TERM_PROGRAM": "ghostty"}, "kitty"),
    ({"TERM": "xterm-256color", "KONSOLE_VERSION": "230804"}, "kitty"),
    ({"TERM_PROGRAM": "iTerm.app"}, "iterm"),
    ({"TERM_PROGRAM": "WezTerm"}, "iterm"),
    ({"WEZTERM_PANE": "0"}, "iterm"),
    ({"TERM": "foot"}, "sixel"),
    ({"TERM": "mlterm"}, "sixel"),
    ({"WT_SESSION": "abc"}, "sixel"),
    ({"TERM": "xterm-256color"}, "blocks"),
    ({"TERM": "tmux-256color", "TMUX": "/tmp/tmux-1/default,1,0", "KITTY_WINDOW_ID": "1"}, "blocks"),
    ({}, "blocks"),
])
def test_protocol_from_the_environment(env: dict[str, str], expected: str) -> None:
    assert preview.detect_protocol(env) == expected
    assert preview.choose_protocol("auto", env) == expected


def test_explicit_choice_wins_and_env_beats_setting() -> None:
    assert preview.choose_protocol("sixel", {"TERM": "xterm-kitty"}) == "sixel"
    assert preview.choose_protocol("sixel", {"GLM_IMAGE_PREVIEW": "iterm"}) == "iterm"
    assert preview.choose_protocol(None, {"GLM_IMAGE_PREVIEW": "auto", "TERM": "foot"}) == "sixel"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_when_to_draw() -> None:
    env = {"TERM": "xterm-256color"}
    assert preview.should_preview("auto", stream=Tty(), environ=env)
    assert not preview.should_preview("auto", stream=io.StringIO(), environ=env)  # a pipe
    assert not preview.should_preview("on", stream=io.StringIO(), environ=env)
    assert not preview.should_preview("on", stream=Tty(), json_mode=True, environ=env)
    assert not preview.should_preview("auto", stream=Tty(), quiet=True, environ=env)
    assert not preview.should_preview("off", stream=Tty(), environ=env)
    assert not preview.should_preview("auto", stream=Tty(), environ={"TERM": "dumb"})
    # NO_COLOR: no colour half blocks unasked, but a graphics protocol is no colour text
    assert not preview.should_preview("auto", stream=Tty(), environ={**env, "NO_COLOR": "1"})
    assert preview.should_preview("auto", stream=Tty(), environ={"TERM": "xterm-kitty", "NO_COLOR": "1"})


# -- encoders ------------------------------------------------------------------------------------------------
def test_kitty_chunks() -> None:
    pytest.importorskip("PIL.Image")
    noisy = bytes(os.urandom(3 * 120 * 80))
    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (120, 80), noisy).save(buffer, format="PNG")
    text = preview.kitty(buffer.getvalue(), 30)
    chunks = re.findall(r"\x1b_G([^;]*);([^\x1b]*)\x1b\\", text)
    assert len(chunks) > 1 and text.startswith(ESC + "_Ga=T,f=100,") and text.endswith(ESC + "\\\n")
    assert "c=30" in chunks[0][0] and chunks[0][0].endswith("m=1")
    assert all(keys == "m=1" for keys, _ in chunks[1:-1]) and chunks[-1][0] == "m=0"
    assert all(len(payload) <= 4096 for _, payload in chunks)
    png = base64.b64decode("".join(payload for _, payload in chunks))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_kitty_without_pillow_sends_the_png_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preview, "load_pillow", _no_pillow)
    data = make_png(8, 8)
    text = preview.kitty(data, 10)
    assert base64.b64decode(text.split(";", 1)[1].split(ESC)[0]) == data


def test_iterm_header() -> None:
    data = make_png(8, 8)
    text = preview.iterm(data, 20)
    header, payload = re.fullmatch(r"\x1b\]1337;File=([^:]*):([A-Za-z0-9+/=]*)\x07\n", text).groups()
    fields = dict(item.split("=", 1) for item in header.split(";"))
    body = base64.b64decode(payload)
    assert fields["inline"] == "1" and fields["width"] == "20" and int(fields["size"]) == len(body)
    assert body.startswith(b"\x89PNG")


def test_sixel_shape() -> None:
    pytest.importorskip("PIL.Image")
    text = preview.sixel(make_png(40, 20, rgb=(10, 200, 30)), 4)
    assert text.startswith(ESC + "P") and "q" in text[:8] and text.endswith(ESC + "\\\n")
    assert '"1;1;40;20' in text and re.search(r"#\d+;2;\d+;\d+;\d+", text)
    body = text[text.index("q") + 1:-3]
    assert ESC not in body


def test_blocks_fit_the_width_in_cells() -> None:
    pytest.importorskip("PIL.Image")
    text = preview.blocks(make_png(64, 32, rgb=(240, 140, 40)), 16)
    lines = text.rstrip("\n").split("\n")
    assert len(lines) == 4  # 16 cells wide, 32 half-pixels tall for a 2:1 picture
    for line in lines:
        assert line.count("▀") == 16 and line.endswith(ESC + "[0m")
        assert re.sub(r"\x1b\[[0-9;]*m", "", line) == "▀" * 16
    assert f"{ESC}[38;2;240;140;40;48;2;240;140;40m▀" in text


def test_preview_width_is_a_fraction_of_the_columns() -> None:
    assert preview.preview_columns(0.5, 100) == 50
    assert preview.preview_columns(1.0, 100) == 100
    assert preview.preview_columns(0.01, 40) == 8


def test_tmux_passthrough_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    text = preview.encode(make_png(8, 8), "iterm", 10, environ={"TMUX": "x"})
    assert text.startswith(ESC + "Ptmux;" + ESC + ESC + "]1337;File=")


# -- show, grid ----------------------------------------------------------------------------------------------
def test_show_json_prints_the_recipes(cli, tmp_path: Path) -> None:
    one = recipe_png(tmp_path / "one.png")
    result = cli("show", str(one), "--json")
    assert result.exit_code == 0 and ESC not in result.output
    [entry] = json.loads(result.stdout)
    assert entry["path"] == str(one) and entry["recipe"]["prompt"] == "一只橘猫"


def test_show_a_folder_and_a_history_id(cli, tmp_path: Path) -> None:
    from glm_image_cli.storage.history import History

    folder = tmp_path / "pics"
    folder.mkdir()
    recipe_png(folder / "a.png", "first")
    recipe_png(folder / "b.png", "second")
    entry_id = History().add(command="generate", prompt="first", model="cogview-4-250304", size="32x16",
                             path=str(folder / "a.png"), request_id=None, ok=True)
    result = cli("show", str(folder), str(entry_id), "--json")
    assert result.exit_code == 0
    assert [item["recipe"]["prompt"] for item in json.loads(result.stdout)] == ["first", "second", "first"]
    missing = cli("show", "nothing-here")
    assert missing.exit_code == 2 and "nothing-here" in missing.stderr


def test_show_off_a_terminal_writes_no_escape(cli, tmp_path: Path) -> None:
    pytest.importorskip("PIL.Image")
    result = cli("show", str(recipe_png(tmp_path / "one.png")), env={"GLM_IMAGE_PREVIEW": "kitty"})
    assert result.exit_code == 0 and ESC not in result.output
    assert "一只橘猫 · cogview-4-250304 · 32x16" in result.stdout


def test_grid_writes_a_png_of_the_expected_size(cli, tmp_path: Path) -> None:
    image_module = pytest.importorskip("PIL.Image")
    folder = tmp_path / "pics"
    folder.mkdir()
    for number in range(5):
        recipe_png(folder / f"{number}.png", f"图 {number}", rgb=(number * 40, 100, 200), size=(64, 48))
    sheet = tmp_path / "sheet.png"
    result = cli("grid", str(folder), "-o", str(sheet), "--columns", "3", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    with image_module.open(sheet) as opened:
        assert opened.format == "PNG" and opened.size == sheet_size(5, 3) == (answer["width"], answer["height"])
        assert opened.getpixel((8 + 128, 8 + 128)) == (0, 100, 200)  # the first thumbnail's middle
    labelled = cli("grid", str(folder), "-o", str(sheet), "--labels")
    assert labelled.exit_code == 0
    with image_module.open(sheet) as opened:
        if "no labels" in labelled.stderr:
            assert opened.size == sheet_size(5)
        else:
            assert opened.size == sheet_size(5, labels=True)


def _no_pillow() -> None:
    raise preview.PillowMissing()


def test_without_pillow_one_line_and_exit_2(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pil(name: str, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    one = recipe_png(tmp_path / "one.png")
    for args in (("grid", str(one), "-o", str(tmp_path / "s.png")), ("show", str(one))):
        result = cli(*args)
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "glm-image[preview]" in lines[0] and "Traceback" not in result.output
    assert cli("show", str(one), "--json").exit_code == 0  # the recipes need no Pillow


# -- real bytes on a pseudo-terminal -------------------------------------------------------------------------
def run_on_pty(args: list[str], env: dict[str, str]) -> str:
    """Run the CLI with stdout on a pseudo-terminal (stderr a pipe); everything it wrote to the terminal."""
    controller, terminal = pty.openpty()
    full_env = {**os.environ, "COLUMNS": "40", "TERM": "xterm-256color", **env}
    full_env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-m", "glm_image_cli", *args], stdout=terminal,
                               stderr=subprocess.PIPE, env=full_env, cwd=os.getcwd())
    os.close(terminal)
    out = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(controller, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    process.wait(timeout=30)
    os.close(controller)
    return out.decode("utf-8", "replace")


@pytest.mark.parametrize(("protocol", "pattern"), [
    ("kitty", r"\x1b_Ga=T,f=100,.*\x1b\\"),
    ("iterm", r"\x1b\]1337;File=inline=1;"),
    ("sixel", r"\x1bP0;1;0q.*\x1b\\"),
    ("blocks", r"\x1b\[38;2;\d+;\d+;\d+;48;2;\d+;\d+;\d+m▀"),
])
def test_show_on_a_pty_draws_with_each_protocol(tmp_path: Path, protocol: str, pattern: str) -> None:
    pytest.importorskip("PIL.Image")
    one = recipe_png(tmp_path / "one.png")
    out = run_on_pty(["show", str(one)], {"GLM_IMAGE_PREVIEW": protocol})
    assert re.search(pattern, out, re.S), out[:200]
    assert "一只橘猫" in out


def test_generate_preview_on_a_pty_and_never_with_json(fake, tmp_path: Path) -> None:
    pytest.importorskip("PIL.Image")
    env = {"GLM_IMAGE_PREVIEW": "kitty", "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY,
           "GLM_IMAGE_OUTPUT_DIR": str(tmp_path / "out")}
    out = run_on_pty(["generate", "a cat", "--yes"], env)
    path_at = out.index(".png")
    assert out.index(ESC + "_G") > path_at  # the picture after the saved path
    assert ESC not in run_on_pty(["generate", "a cat", "--yes", "--json"], env)
    assert ESC not in run_on_pty(["generate", "a cat", "--yes", "--no-preview"], env)


def test_generate_off_a_terminal_writes_no_escape(cli, fake) -> None:
    result = cli("generate", "a cat", "--yes", "--preview", env={"GLM_IMAGE_PREVIEW": "blocks"})
    assert result.exit_code == 0 and ESC not in result.output


def test_batch_preview_is_one_contact_sheet(fake, tmp_path: Path) -> None:
    pytest.importorskip("PIL.Image")
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a cat\na dog\na bird\n", encoding="utf-8")
    env = {"GLM_IMAGE_PREVIEW": "kitty", "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY}
    out = run_on_pty(["batch", str(prompts), "--yes", "--preview", "-o", str(tmp_path / "out")], env)
    assert out.count(ESC + "_Ga=T") == 1, out[-300:]
    assert ESC not in run_on_pty(["batch", str(prompts), "--yes", "--json", "-o", str(tmp_path / "o2")], env)


def test_glm_image_preview_off_is_understood_not_a_config_error(cli, fake, monkeypatch) -> None:
    monkeypatch.setenv("GLM_IMAGE_PREVIEW", "off")
    result = cli("generate", "a cat", "-o", "out")
    assert result.exit_code == 0, result.stderr
    from glm_image_cli.cli.preview import choose_protocol

    assert choose_protocol(None, {"GLM_IMAGE_PREVIEW": "off"}) == "off"
