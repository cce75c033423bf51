"""Hostile files and answers (issue 25, items 10-14): deeply nested JSON, image bombs, FIFOs and devices, a
planted link beside the gallery and terminal escapes in other people's text.  Each ends in one line, a
documented exit code, in bounded time and memory; the CLI runs as a child with a timeout where a regression
would hang, so it fails instead."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from glm_image_cli import safejson
from glm_image_cli.cli.terminal import Terminal, visible
from glm_image_cli.storage.pngmeta import embed_text, read_recipe
from tests.conftest import SECRET_PART
from tests.fake_bigmodel import CHAT_ROUTE, SYNC_ROUTE, Reply, make_png

DEEP = b"[" * 100_000 + b"]" * 100_000  # json.loads: RecursionError
ESC = "\x1b"
POSIX = pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(), reason="POSIX only")


def run(*args: str, timeout: float = 20, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a child process with a deadline: a hang is a failure, not a stuck suite."""
    completed = subprocess.run([sys.executable, "-m", "glm_image_cli", *args], capture_output=True, text=True,
                               timeout=timeout, input=stdin.decode() if stdin is not None else None,
                               stdin=None if stdin is not None else subprocess.DEVNULL)
    shown = completed.stdout + completed.stderr
    assert "Traceback" not in shown and "Internal error" not in shown and SECRET_PART not in shown, shown
    return completed


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def recipe_png(path: Path, png: bytes | None = None, **fields: str) -> Path:
    """A PNG that says glm-image made it, with ``fields`` as its text."""
    path.write_bytes(embed_text(png or make_png(), {"Software": "glm-image 0.1.0", "prompt": "a cat", **fields}))
    return path


def data_dir() -> Path:
    return Path(os.environ["GLM_IMAGE_DATA_DIR"])


# --- 10. deeply nested JSON ----------------------------------------------------------------------------------

def test_the_json_reader_refuses_depth_and_size() -> None:
    with pytest.raises(safejson.UnsafeJson):
        safejson.loads(DEEP)
    with pytest.raises(safejson.UnsafeJson):
        safejson.loads("[" * 65 + "]" * 65)
    assert safejson.loads(b"[" * 64 + b"]" * 64) is not None
    with pytest.raises(safejson.UnsafeJson):
        safejson.loads('"' + "x" * 100 + '"', max_bytes=50)
    with pytest.raises(ValueError):
        safejson.loads(b"\xff")


def test_a_deep_image_answer_is_a_bad_response(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply(body=DEEP))
    result = cli("generate", "a cat", "--yes")
    assert result.exit_code == 10, result.stderr
    assert "BAD_RESPONSE" in result.stderr or "unexpected" in result.stderr.lower(), result.stderr
    assert fake.count(SYNC_ROUTE) == 1  # the answer came back: not sent again blindly


def test_a_deep_error_body_is_still_an_upstream_error(cli, fake) -> None:
    fake.script(SYNC_ROUTE, *[Reply(status=500, body=DEEP) for _ in range(10)])
    result = cli("generate", "a cat", "--yes")
    assert result.exit_code == 10, result.stderr
    assert "HTTP 500" in result.stderr or "500" in result.stderr


def test_a_deep_chat_answer_is_a_bad_response(cli, fake) -> None:
    fake.script(CHAT_ROUTE, Reply(body=DEEP))
    result = cli("generate", "a cat", "--yes", "--enhance")
    assert result.exit_code == 10, result.stderr
    assert fake.count(SYNC_ROUTE) == 0


def test_deep_local_json_files_are_damaged_files(cli, fake) -> None:
    """limits.json and the enhance cache are read as unreadable (an empty store, a cache miss)."""
    assert cli("generate", "a cat", "--yes", "--enhance", "-o", "out").exit_code == 0
    for cached in (data_dir() / "enhance-cache").glob("*.json"):
        cached.write_bytes(DEEP)
    (data_dir() / "limits.json").write_bytes(DEEP)
    result = cli("generate", "a cat", "--yes", "--enhance", "-o", "out")
    assert result.exit_code == 0, result.stderr
    assert fake.count(CHAT_ROUTE) == 2  # the damaged cache entry is a miss


def test_a_deep_manifest_line_is_a_damaged_line_and_the_batch_resumes(cli, fake) -> None:
    Path("items.txt").write_text("a cat\na dog\n", encoding="utf-8")
    assert cli("batch", "items.txt", "-o", "out", "--yes").exit_code == 0
    with open("out/manifest.jsonl", "ab") as manifest:
        manifest.write(DEEP + b"\n")
    result = cli("batch", "items.txt", "-o", "out", "--yes")
    assert result.exit_code == 0, result.stderr
    assert fake.count(SYNC_ROUTE) == 2  # both done already: nothing bought twice


def test_a_png_with_a_deep_recipe_field(cli, fake) -> None:
    """info and show read it (the field stays text), and a batch resumes past it in its output folder."""
    png = recipe_png(Path("deep.png"), content_filter=DEEP.decode())
    result = cli("info", str(png))
    assert result.exit_code == 0, result.stderr
    result = cli("show", "--json", str(png))
    assert result.exit_code == 0, result.stderr
    Path("out").mkdir()
    recipe_png(Path("out/deep.png"), content_filter=DEEP.decode(), batch_key="x")
    Path("items.txt").write_text("a cat\n", encoding="utf-8")
    result = cli("batch", "items.txt", "-o", "out", "--yes")
    assert result.exit_code == 0, result.stderr


def test_a_deep_batch_input_line_is_an_invalid_line(cli, fake) -> None:
    Path("items.jsonl").write_bytes(b'{"prompt": "fine"}\n{"prompt": ' + b"[" * 100 + b"]" * 100 + b"}\n")
    result = cli("batch", "items.jsonl", "-o", "out")
    assert result.exit_code == 2
    assert "line 2:" in result.stderr and "nested too deeply" in result.stderr
    assert fake.count(SYNC_ROUTE) == 0


# --- 11. image bombs -----------------------------------------------------------------------------------------

def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A PNG that declares ``width`` × ``height`` pixels in a few dozen bytes (the pixels are never there)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
            + chunk(b"IEND", b""))


KITTY = {"GLM_IMAGE_PREVIEW": "kitty"}


def test_a_paid_bomb_is_kept_and_the_preview_says_one_line(cli, fake) -> None:
    pytest.importorskip("PIL.Image")
    fake.result_mode = "b64"
    fake.image_bytes = bomb_png()
    terminal = Terminal(stdout_tty=True, environ=KITTY)
    result = cli("generate", "a cat", "--yes", "--preview", "-o", "out", env=KITTY, terminal=terminal)
    assert result.exit_code == 0, result.stderr
    [saved] = Path("out").glob("*.png")
    assert saved.read_bytes().startswith(b"\x89PNG") and read_recipe(saved.read_bytes())["prompt"] == "a cat"
    [warning] = [line for line in result.stderr.splitlines() if "preview" in line]
    assert "30000×30000" in warning
    assert ESC not in result.stdout


def test_a_paid_bomb_asked_as_jpeg_is_kept_as_it_came(cli, fake) -> None:
    pytest.importorskip("PIL.Image")
    fake.result_mode = "b64"
    fake.image_bytes = bomb_png()
    result = cli("generate", "a cat", "--yes", "--format", "jpeg", "-o", "out")
    assert result.exit_code == 0, result.stderr
    [saved] = Path("out").iterdir()
    assert saved.suffix == ".png" and saved.read_bytes().startswith(b"\x89PNG")
    assert fake.count(SYNC_ROUTE) == 1


def test_show_grid_and_gallery_refuse_a_bomb_in_one_line(cli) -> None:
    pytest.importorskip("PIL.Image")
    bomb = recipe_png(Path("bomb.png"), bomb_png())
    terminal = Terminal(stdout_tty=True, stderr_tty=True, environ=KITTY)
    started = time.monotonic()
    result = cli("show", str(bomb), env=KITTY, terminal=terminal)
    assert result.exit_code == 0 and "30000×30000" in one_line(result.stderr)
    result = cli("grid", str(bomb), str(recipe_png(Path("cat.png"))), "-o", "sheet.png")
    assert result.exit_code == 0, result.stderr
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "bomb.png" in warning and "30000×30000" in warning  # an empty cell, said once
    result = cli("gallery", ".")
    assert result.exit_code == 0, result.stderr
    assert time.monotonic() - started < 10


def test_a_jpeg_bomb_is_named_by_its_pixel_count(cli) -> None:
    pytest.importorskip("PIL.Image")
    from tests.fake_bigmodel import TINY_JPEG

    at = TINY_JPEG.index(b"\xff\xc0") + 5  # SOF0: length, precision, then height and width
    Path("bomb.jpg").write_bytes(TINY_JPEG[:at] + struct.pack(">HH", 60_000, 60_000) + TINY_JPEG[at + 4:])
    result = cli("grid", "bomb.jpg", str(recipe_png(Path("cat.png"))), "-o", "sheet.png")
    assert result.exit_code == 0, result.stderr
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "bomb.jpg" in warning and "3600000000 pixels" in warning


def test_a_compressed_text_chunk_is_inflated_only_up_to_a_limit(cli) -> None:
    """A zTXt or iTXt that inflates to 64 MiB (600 MB in the issue) is skipped, not inflated."""
    compressor = zlib.compressobj(9)
    block = b"a" * (1 << 20)
    inflated = b"".join(compressor.compress(block) for _ in range(64)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    base = recipe_png(Path("base.png")).read_bytes()
    at = base.index(b"IEND") - 4
    for kind, payload in ((b"zTXt", b"prompt\x00\x00" + inflated), (b"iTXt", b"prompt\x00\x01\x00\x00\x00" + inflated)):
        Path("bomb.png").write_bytes(base[:at] + chunk(kind, payload) + base[at:])
        started = time.monotonic()
        result = cli("info", "--json", "bomb.png")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)[0]["recipe"]["prompt"] == "a cat"  # the bomb is skipped
        assert time.monotonic() - started < 5


# --- 12. FIFOs and devices -----------------------------------------------------------------------------------

@POSIX
def test_limits_json_as_a_fifo_does_not_hang_generate(fake) -> None:
    data_dir().mkdir(parents=True, exist_ok=True)
    os.mkfifo(data_dir() / "limits.json")
    completed = run("generate", "a cat", "--yes", "-o", "out")
    assert completed.returncode == 0, completed.stderr
    assert fake.count(SYNC_ROUTE) == 1


@POSIX
def test_a_fifo_named_png_in_the_output_folder_does_not_hang_a_resume(fake) -> None:
    Path("out").mkdir()
    os.mkfifo("out/waiting.png")
    Path("items.txt").write_text("a cat\n", encoding="utf-8")
    completed = run("batch", "items.txt", "-o", "out", "--yes")
    assert completed.returncode == 0, completed.stderr
    completed = run("gallery", "out")
    assert completed.returncode == 0, completed.stderr
    assert "waiting.png" not in Path("out/index.html").read_text(encoding="utf-8")


@POSIX
@pytest.mark.parametrize("target", ["fifo", "/dev/zero"])
def test_info_on_a_fifo_or_a_device_is_one_line(target: str) -> None:
    if target == "fifo":
        os.mkfifo("fifo.png")
        target = "fifo.png"
    completed = run("info", target)
    assert completed.returncode == 2
    assert "not a regular file" in one_line(completed.stderr)


@POSIX
def test_grid_show_gallery_and_config_import_on_a_fifo() -> None:
    os.mkfifo("fifo.png")
    completed = run("grid", "fifo.png", str(recipe_png(Path("cat.png"))), "-o", "sheet.png")
    assert completed.returncode == 0, completed.stderr  # the FIFO is an empty cell
    assert "fifo.png" in completed.stderr and "not a regular file" in completed.stderr
    os.mkfifo("index.html")
    completed = run("gallery", ".")
    assert completed.returncode == 11 and "index.html" in one_line(completed.stderr)  # not ours: refused
    os.mkfifo("keys.env")
    completed = run("config", "import", "keys.env")
    assert completed.returncode == 3 and "not a regular file" in one_line(completed.stderr)


# --- 13. the gallery and a planted link ----------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_the_gallery_never_writes_through_a_planted_temporary_name(cli, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    recipe_png(Path("cat.png"))
    for name in (".index.html.part", ".index.html.tmp", "index.html.part"):
        os.symlink(victim, name)
    result = cli("gallery", ".")
    assert result.exit_code == 0, result.stderr
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert "generated by glm-image" in Path("index.html").read_text(encoding="utf-8")
    assert Path(".index.html.part").is_symlink()  # left alone


# --- 14. terminal escapes in other people's text -------------------------------------------------------------

TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
LINK = "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"


def test_visible_shows_control_characters_and_keeps_newlines_and_tabs() -> None:
    assert visible("a\tb\nc") == "a\tb\nc"
    assert visible(TITLE) == "\\x1b]0;pwned\\x07"
    assert visible("\x9b2J \u202e") == "\\x9b2J \\u202e"


def test_info_and_show_print_a_recipe_s_escapes_visibly(cli) -> None:
    png = recipe_png(Path("evil.png"), prompt=f"a cat {TITLE}{CLEAR}{LINK}", model=f"m{CLEAR}")
    for args in (("info", str(png)), ("show", str(png)), ("history",)):
        result = cli(*args)
        assert ESC not in result.stdout + result.stderr and "\x07" not in result.stdout, args
    result = cli("info", str(png))
    assert "\\x1b]0;pwned\\x07" in result.stdout
    result = cli("info", "--json", str(png))
    assert json.loads(result.stdout)[0]["recipe"]["prompt"].endswith(LINK)  # JSON keeps the text exactly


def test_a_rewrite_with_escapes_is_shown_visibly(cli, fake) -> None:
    fake.chat_reply = f"a cat {TITLE}"
    result = cli("generate", "a cat", "--yes", "--enhance", "-o", "out")
    assert ESC not in result.stdout + result.stderr
    assert "\\x1b]0;pwned" in result.stderr
    for args in (("history",), ("history", "show", "1")):  # the rewrite was sent and recorded
        result = cli(*args)
        assert result.exit_code == 0 and ESC not in result.stdout + result.stderr, args
    assert "\\x1b]0;pwned" in result.stdout  # history show: the prompt sent, visibly


def test_an_upstream_error_message_with_escapes_is_shown_visibly(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply.error(400, "1214", f"bad {CLEAR}{TITLE}"))
    result = cli("generate", "a cat", "--yes")
    assert result.exit_code != 0
    assert ESC not in result.stdout + result.stderr


@pytest.mark.parametrize("prompt", [f"a cat {TITLE}", "a cat \x9b2J", "a\x00cat", "cat\rdog"])
def test_a_prompt_with_control_characters_is_a_usage_error_before_paying(cli, fake, prompt: str) -> None:
    result = cli("generate", prompt, "--yes")
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert "control character" in line and ESC not in line
    assert fake.count(SYNC_ROUTE) == 0


def test_newlines_tabs_and_crlf_in_a_prompt_are_fine(cli, fake) -> None:
    result = cli("generate", "a cat\r\non a mat\twith a hat", "--yes", "-o", "out")
    assert result.exit_code == 0, result.stderr


def test_everything_the_tool_reads_as_json_goes_through_the_bounded_reader() -> None:
    """Only our own packaged files (the static help tree) may use json.loads directly."""
    package = Path(__file__).resolve().parents[1] / "glm_image_cli"
    allowed = {"safejson.py", "cli/entry.py", "cli/build_static.py"}
    direct = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                    if re.search(r"(?<!safe)json\.loads\(", path.read_text(encoding="utf-8"))
                    and str(path.relative_to(package)) not in allowed)
    assert direct == []


def test_the_gallery_shows_escapes_from_a_recipe_visibly(cli) -> None:
    """A planted PNG whose recipe holds a terminal escape: index.html says \\x1b, never the byte itself."""
    from glm_image_cli.storage.pngmeta import embed_recipe

    Path("out").mkdir()
    recipe = {"prompt": "cat \x1b]0;PWNED\x07 on a mat", "model": "cogview-4", "size": "1024x1024",
              "created": "2026-12-01T10:00:00+08:00"}
    Path("out/evil.png").write_bytes(embed_recipe(make_png(), recipe))
    assert cli("gallery", "out").exit_code == 0
    page = Path("out/index.html").read_text(encoding="utf-8")
    assert "\x1b" not in page and "\x07" not in page and "\\x1b]0;PWNED\\x07" in page
