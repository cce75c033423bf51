"""Images that remember how they were made: PNG recipes, `info`, history, `again`, `gallery`."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import tempfile
import threading
import zlib
from datetime import UTC
from pathlib import Path

import pytest

from glm_image_cli.storage.history import History, parse_since
from glm_image_cli.storage.pngmeta import embed_recipe, read_recipe, read_text
from tests.conftest import SECRET_PART
from tests.fake_bigmodel import DEFAULT_KEY, SYNC_ROUTE, Reply, make_png


def independent_chunk_walk(data: bytes) -> list[tuple[bytes, bytes]]:
    """A PNG reader written separately from glm_image_cli.storage.pngmeta: checks every CRC and inflates IDAT."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        payload = data[offset + 8:offset + 8 + length]
        assert struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])[0] == zlib.crc32(kind + payload)
        chunks.append((kind, payload))
        offset += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    zlib.decompress(b"".join(p for k, p in chunks if k == b"IDAT"))
    return chunks


def only_image(folder: str = "glm-images") -> Path:
    [image] = list(Path(folder).glob("*.png"))
    return image


def test_recipe_round_trip_with_chinese(cli, fake) -> None:
    result = cli("generate", "一只橘猫在屋顶上", "--style", "水彩", "--negative", "模糊，低质量", "--quality", "hd")
    assert result.exit_code == 0
    data = only_image().read_bytes()
    recipe = read_recipe(data)
    assert recipe["prompt"] == "一只橘猫在屋顶上"
    assert recipe["prompt_sent"] == fake.seen(SYNC_ROUTE)[0].body["prompt"]
    assert recipe["negative_prompt"] == "模糊，低质量" and recipe["style"] == "水彩"
    assert recipe["model"] == "cogview-4-250304" and recipe["size"] == "1024x1024" and recipe["quality"] == "hd"
    assert recipe["request_id"] == "req-1" and recipe["content_filter"] == [{"role": "assistant", "level": 3}]
    assert recipe["created"] and recipe["tool_version"]
    kinds = [kind for kind, _ in independent_chunk_walk(data)]
    assert b"iTXt" in kinds
    assert DEFAULT_KEY.encode() not in data and SECRET_PART.encode() not in data


def test_parameters_chunk_in_the_a1111_layout(cli, fake) -> None:
    cli("generate", "a red fox", "--negative", "blur")
    parameters = read_text(only_image().read_bytes())["parameters"].splitlines()
    assert parameters[0] == "a red fox. Avoid: blur."
    assert parameters[1] == "Negative prompt: blur"
    assert parameters[2].startswith("Steps: n/a, Size: 1024x1024, Model: cogview-4-250304")


def test_pillow_opens_the_image_and_sees_the_text() -> None:
    image_module = pytest.importorskip("PIL.Image")
    import io

    data = embed_recipe(make_png(16, 16), {"prompt": "水墨山水", "model": "cogview-4", "tool_version": "0.1.0"})
    with image_module.open(io.BytesIO(data)) as image:
        image.load()
        assert image.size == (16, 16)
        assert image.text["prompt"] == "水墨山水" and image.text["Software"] == "glm-image 0.1.0"


def test_no_metadata_writes_the_upstream_bytes(cli, fake) -> None:
    cli("generate", "x", "--no-metadata")
    assert only_image().read_bytes() == fake.image_bytes


def test_info_reads_it_back(cli, fake) -> None:
    cli("generate", "水墨山水", "-s", "国风")
    image = only_image()
    table = cli("info", str(image))
    assert table.exit_code == 0 and "水墨山水" in table.stdout and "国风" in table.stdout
    [entry] = json.loads(cli("info", str(image), "--json").stdout)
    assert entry["recipe"]["style"] == "国风" and entry["error"] is None


def test_info_on_foreign_files(cli, tmp_path: Path) -> None:
    plain = tmp_path / "plain.png"
    plain.write_bytes(make_png())
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = cli("info", str(plain), str(text), str(tmp_path / "missing.png"))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert "without a glm-image recipe" in lines[0]
    assert "not a PNG image" in lines[1] and "cannot read it" in lines[2]


def test_history_records_searches_and_shows(cli, fake) -> None:
    cli("generate", "一只橘猫", "-m", "cogview-4")
    cli("generate", "a red fox", "-n", "2")
    fake.script(SYNC_ROUTE, Reply.error(400, "1301", "x"))
    cli("generate", "refused prompt")
    everything = json.loads(cli("history", "--json").stdout)
    assert [e["prompt"] for e in everything] == ["refused prompt", "a red fox", "a red fox", "一只橘猫"]
    assert everything[0]["ok"] is False and everything[0]["error_code"] == "CONTENT_BLOCKED"
    assert [e["prompt"] for e in json.loads(cli("history", "--search", "橘猫", "--json").stdout)] == ["一只橘猫"]
    assert len(json.loads(cli("history", "--model", "cogview-4", "--json").stdout)) == 1
    assert len(json.loads(cli("history", "--failed", "--json").stdout)) == 1
    assert len(json.loads(cli("history", "--since", "1h", "--json").stdout)) == 4
    shown = json.loads(cli("history", "show", str(everything[-1]["id"]), "--json").stdout)
    assert Path(shown["path"]).exists() and shown["model"] == "cogview-4"
    assert "一只橘猫" in cli("history").stdout
    assert cli("history", "show", "999").exit_code == 2
    assert cli("history", "--since", "yesterday-ish").exit_code == 2


def test_again_sends_the_recorded_parameters(cli, fake) -> None:
    cli("generate", "城市夜景", "-s", "赛博朋克", "--negative", "雾", "--size", "1344x768", "-m", "cogview-4")
    entry_id = json.loads(cli("history", "--json").stdout)[0]["id"]
    assert cli("again", str(entry_id)).exit_code == 0
    first, second = (call.body for call in fake.seen(SYNC_ROUTE))
    assert first == second
    assert cli("again", str(entry_id), "-n", "2", "--style", "油画").exit_code == 0
    third = fake.seen(SYNC_ROUTE)[-1].body
    assert fake.count(SYNC_ROUTE) == 4 and "古典油画风格" in third["prompt"] and third["size"] == "1344x768"
    assert json.loads(cli("history", "--json").stdout)[0]["command"] == "again"


def test_history_can_be_turned_off(cli, fake) -> None:
    cli("config", "set", "history", "off")
    cli("generate", "x")
    cli("config", "set", "history", "on")
    cli("generate", "y", "--no-history")
    assert json.loads(cli("history", "--json").stdout) == []


def test_clearing_asks_first(cli, fake) -> None:
    cli("generate", "x")
    refused = cli("history", "--clear")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert "Removed 1 history entries" in cli("history", "--clear", "--yes").stderr
    assert json.loads(cli("history", "--json").stdout) == []


def test_concurrent_writers_do_not_corrupt_the_history(cli, fake) -> None:
    Path("p.txt").write_text("\n".join(f"prompt {i}" for i in range(24)))
    assert cli("batch", "p.txt", "-j", "8", "-o", "out", "--yes").exit_code == 0
    store = History()
    threads = [threading.Thread(target=lambda n=n: [store.add(command="test", prompt=f"t{n}-{i}") for i in range(25)])
               for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = store.search(limit=1000)
    assert len(entries) == 24 + 200
    assert len({e.id for e in entries}) == 224


def test_since_parsing() -> None:
    from datetime import datetime

    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert parse_since("2d", now) == datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert parse_since("30m", now).minute == 30
    assert parse_since("2026-11-20").date().isoformat() == "2026-11-20"


def test_gallery_page(cli, fake) -> None:
    cli("generate", "<script>alert(1)</script> 一只猫", "-o", "out")
    cli("generate", "a red fox", "-n", "2", "-o", "out")
    result = cli("gallery", "out")
    assert result.exit_code == 0 and result.stdout.strip() == str(Path("out") / "index.html")
    page = Path("out/index.html").read_text(encoding="utf-8")
    assert page.count('<figure class="card"') == 3
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "http://" not in page and "https://" not in page  # no external assets
    assert cli("gallery", "out").exit_code == 0  # regenerating its own page is fine


def test_gallery_leaves_a_foreign_index_alone(cli, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "index.html").write_text("<html>mine</html>")
    result = cli("gallery", str(folder))
    assert result.exit_code == 11 and "not written by glm-image" in result.stderr
    assert (folder / "index.html").read_text() == "<html>mine</html>"
    assert cli("gallery", str(tmp_path / "nope")).exit_code == 2


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def dump_dom(page: Path) -> str:
    """``page`` as a headless Chromium leaves it once its scripts ran (no network, a throw-away profile); fails
    the test on a browser error or a message on its console."""
    with tempfile.TemporaryDirectory() as profile:
        completed = subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
             f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--dump-dom", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert [line for line in completed.stderr.splitlines() if ":CONSOLE" in line] == []
    return completed.stdout


@pytest.mark.skipif(chromium() is None, reason="no headless Chromium here (.ci/run installs Debian's chromium)")
def test_gallery_in_a_real_headless_browser(cli, fake) -> None:
    cli("generate", "一只猫", "-o", "out")
    cli("generate", "a red fox", "-n", "3", "-o", "out")
    cli("gallery", "out")
    dom = dump_dom(Path("out/index.html"))
    assert len(re.findall(r'<figure class="card"', dom)) == 4
    assert re.search(r'<span id="count">4 / 4</span>', dom)  # the script ran and counted the cards
