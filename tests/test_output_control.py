"""Output control and spend safety: name templates, privacy, watermark, content filter, consent, formats."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from glm_image_cli.storage.pngmeta import read_recipe
from tests.fake_bigmodel import DEFAULT_KEY, SYNC_ROUTE, TINY_JPEG, TINY_WEBP, Reply
from tests.terminal import Terminal
from tests.test_console_script import console_script


def files_in(folder: str = "glm-images") -> list[str]:
    root = Path(folder)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# --- name templates ---------------------------------------------------------------------------------

def test_template_tokens_and_sub_folders(cli, fake) -> None:
    result = cli("generate", "一只橘猫", "-s", "卡通", "--size", "1344x768",
                 "--name", "{date}/{model}_{size}_{style}_{slug}_{hash}_{request_id}.{ext}")
    assert result.exit_code == 0, result.stderr
    [name] = files_in()
    folder, stem = name.split("/")
    assert len(folder) == 8 and folder.isdigit()
    model, size, style, slug, digest, request = stem.removesuffix(".png").split("_")
    assert (model, size, style, slug, request) == ("cogview-4-250304", "1344x768", "卡通", "一只橘猫", "req-1")
    assert len(digest) == 8


def test_several_images_get_an_index_and_nothing_is_overwritten(cli, fake) -> None:
    cli("generate", "a cat", "-n", "3", "--name", "{slug}")
    assert files_in() == ["a-cat-1.png", "a-cat-2.png", "a-cat-3.png"]
    cli("generate", "a cat", "--name", "{slug}")
    cli("generate", "a cat", "--name", "{slug}")  # a-cat.png and a-cat-1..3.png are taken: the next free name
    assert files_in() == ["a-cat-1.png", "a-cat-2.png", "a-cat-3.png", "a-cat-4.png", "a-cat.png"]
    cli("generate", "a dog", "-n", "2", "--name", "pets/{index:03d}-{slug}")
    assert "pets/001-a-dog.png" in files_in() and "pets/002-a-dog.png" in files_in()


@pytest.mark.parametrize("template", ["../{slug}", "/tmp/{slug}", "{slug}/../../x", "..", "{date}/../../{slug}"])
def test_templates_cannot_escape_the_output_folder(cli, fake, template: str) -> None:
    result = cli("generate", "x", "--name", template)
    assert result.exit_code == 2
    assert "outside the output folder" in result.stderr
    assert fake.requests == []


def test_unknown_token_lists_the_valid_ones(cli, fake) -> None:
    result = cli("generate", "x", "--name", "{slug}-{seed}")
    assert result.exit_code == 2
    assert "unknown token(s) seed" in result.stderr and "{request_id}" in result.stderr
    assert cli("generate", "x", "--name", "{slug").exit_code == 2
    assert fake.requests == []


def test_name_template_from_the_config(cli, fake) -> None:
    assert cli("config", "set", "name-template", "{model}/{slug}").exit_code == 0
    cli("generate", "x")
    assert files_in() == ["cogview-4-250304/x.png"]
    assert cli("config", "set", "name-template", "{nope}").exit_code == 3


def test_batch_uses_templates_and_item_names(cli, fake) -> None:
    Path("p.jsonl").write_text('{"prompt": "a", "name": "fixed"}\n{"prompt": "b"}\n', encoding="utf-8")
    assert cli("batch", "p.jsonl", "-o", "out", "--name", "{style}/{index}-{slug}", "-s", "3D").exit_code == 0
    # the lock stays, hidden; so does the index that names each image for a resume without the manifest
    assert files_in("out") == [".glm-image.index.jsonl", ".glm-image.lock", "3D/2-b.png", "fixed.png",
                               "manifest.jsonl"]


# --- privacy ------------------------------------------------------------------------------------------

def test_metadata_can_be_turned_off_in_the_config(cli, fake) -> None:
    cli("config", "set", "metadata", "off")
    cli("generate", "x")
    [name] = files_in()
    assert read_recipe((Path("glm-images") / name).read_bytes()) is None


# --- platform options ---------------------------------------------------------------------------------

def test_no_watermark_and_user_id_are_sent(cli, fake) -> None:
    cli("generate", "default")
    assert cli("generate", "x", "--no-watermark", "--user-id", "user-123456").exit_code == 0
    cli("config", "set", "watermark", "off")
    cli("generate", "y")
    default, flagged, configured = (call.body for call in fake.seen(SYNC_ROUTE))
    assert "watermark_enabled" not in default and "user_id" not in default  # the platform's defaults apply
    assert flagged["watermark_enabled"] is False and flagged["user_id"] == "user-123456"
    assert configured["watermark_enabled"] is False


def test_user_id_is_validated(cli, fake) -> None:
    result = cli("generate", "x", "--user-id", "abc")
    assert result.exit_code == 2 and "6 to 128 characters" in result.stderr
    assert fake.requests == []


def test_watermark_refusal_says_what_to_do(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply.error(400, "1214", "去除水印需先签署免责声明 (watermark_enabled not allowed)"))
    result = cli("generate", "x", "--no-watermark")
    assert result.exit_code == 5
    assert "has not signed the platform's disclaimer" in result.stderr and "without --no-watermark" in result.stderr


# --- content filter -------------------------------------------------------------------------------------

def test_content_filter_levels_are_shown_and_kept(cli, fake) -> None:
    result = cli("generate", "x")
    assert "content" not in result.stderr  # level 3 (nothing found) is not worth a word; see test_error_hints.py
    [record] = json.loads(cli("generate", "y", "--json").stdout)
    assert record["content_filter"] == [{"role": "assistant", "level": 3}]


def test_batch_gives_content_refusals_their_own_line(cli, fake) -> None:
    Path("p.txt").write_text("fine\nrefused\n")
    fake.script(SYNC_ROUTE, Reply.error(400, "1301", "unsafe"))
    result = cli("batch", "p.txt", "-o", "out", "-j", "1")
    assert result.exit_code == 6
    assert "1 prompt(s) were refused on content-safety grounds" in result.stderr


# --- spend consent ---------------------------------------------------------------------------------------

def test_expensive_runs_need_yes_without_a_terminal(cli, fake) -> None:
    assert cli("generate", "x", "-n", "10", "-m", "glm-image").exit_code == 0  # 1.00 CNY: not above the default 1
    result = cli("generate", "x", "-n", "10", "-m", "glm-image", env={"GLM_IMAGE_CONFIRM_ABOVE": "0.5"})
    assert result.exit_code == 2
    assert "--yes" in result.stderr and "1.00 CNY" in result.stderr
    sent = fake.count("POST /async/images/generations")
    assert cli("generate", "x", "-n", "10", "-m", "glm-image", "--yes",
               env={"GLM_IMAGE_CONFIRM_ABOVE": "0.5"}).exit_code == 0
    assert fake.count("POST /async/images/generations") == sent + 10


def test_free_models_never_ask(cli, fake) -> None:
    cli("config", "set", "confirm-above", "0")
    assert cli("generate", "x", "-n", "10", "-m", "cogview-3-flash").exit_code == 0
    assert cli("generate", "x", "-m", "cogview-4").exit_code == 2


def test_batch_asks_too(cli, fake) -> None:
    Path("p.txt").write_text("\n".join(f"p{i}" for i in range(20)))
    result = cli("batch", "p.txt", "-o", "out")
    assert result.exit_code == 2 and "--yes" in result.stderr and "1.20 CNY" in result.stderr
    assert fake.requests == []
    assert cli("batch", "p.txt", "-o", "out", "--max-images", "5").exit_code == 0  # 0.30 CNY: no question


def _run_on_a_terminal(args: list[str], env: dict[str, str], answer: bytes) -> tuple[str, int]:
    """Run the console script on a pseudo-terminal and answer its question once."""
    answered: list[bool] = []

    def answer_once(terminal: Terminal) -> None:
        if not answered and b"[y/N]" in terminal.output:
            terminal.type(answer)
            answered.append(True)

    return Terminal(args, env).run(answer_once)


@pytest.mark.parametrize(("answer", "expected_code", "expected_posts"), [(b"y", 0, 10), (b"n", 130, 0)])
def test_consent_on_a_terminal(fake, tmp_path: Path, answer: bytes, expected_code: int, expected_posts: int) -> None:
    env = {**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "NO_COLOR": "1"}
    output, code = _run_on_a_terminal([*console_script(), "generate", "x", "-n", "10", "-o", str(tmp_path / "o"),
                                       "-m", "cogview-4", "--size", "1024x1024"], env | {"GLM_IMAGE_CONFIRM_ABOVE":
                                                                                        "0.1"}, answer)
    assert "This will make 10 image(s) with cogview-4, estimated 0.60 CNY. Continue? [y/N]" in output
    assert code == expected_code, output
    assert fake.count(SYNC_ROUTE) == expected_posts


# --- output formats --------------------------------------------------------------------------------------

def test_conversion_with_pillow(cli, fake) -> None:
    image_module = pytest.importorskip("PIL.Image")
    assert cli("generate", "x", "--format", "jpeg").exit_code == 0
    assert cli("generate", "y", "--format", "webp").exit_code == 0
    names = files_in()
    assert [Path(n).suffix for n in names] == [".jpg", ".webp"]
    for name, expected in zip(names, ("JPEG", "WEBP"), strict=True):
        with image_module.open(Path("glm-images") / name) as image:
            assert image.format == expected


def test_default_png_converts_other_upstream_formats_when_it_can(cli, fake) -> None:
    pytest.importorskip("PIL.Image")
    fake.image_bytes = TINY_WEBP
    assert cli("generate", "x").exit_code == 0
    [name] = files_in()
    data = (Path("glm-images") / name).read_bytes()
    assert name.endswith(".png") and read_recipe(data)["prompt"] == "x"


def test_same_format_is_written_unchanged(cli, fake) -> None:
    fake.image_bytes = TINY_JPEG
    assert cli("generate", "x", "--format", "jpeg").exit_code == 0
    [name] = files_in()
    assert (Path("glm-images") / name).read_bytes() == TINY_JPEG


def test_explicit_conversion_without_pillow_fails_before_any_request(cli, fake, monkeypatch) -> None:
    from glm_image_cli.storage import convert

    monkeypatch.setattr(convert, "converter_available", lambda: False)
    result = cli("generate", "x", "--format", "webp")
    assert result.exit_code == 2 and "pip install 'glm-image[convert]'" in result.stderr
    assert cli("generate", "x", "--format", "gif").exit_code == 2
    assert fake.requests == []


def test_batch_and_serve_follow_the_platform_options(cli, fake) -> None:
    Path("p.txt").write_text("a\n")
    assert cli("batch", "p.txt", "-o", "out", "--no-watermark", "--user-id", "batch-user-1").exit_code == 0
    body = fake.seen(SYNC_ROUTE)[0].body
    assert body["watermark_enabled"] is False and body["user_id"] == "batch-user-1"


def test_serve_sends_the_configured_platform_options(fake) -> None:
    import httpx

    from glm_image_cli.backends.bigmodel import BigModelClient
    from glm_image_cli.serve.server import GlmImageHTTPServer
    from glm_image_cli.serve.service import ImageService, ServeOptions
    from tests.conftest import serve_studio

    options = ServeOptions(port=0, rate_per_minute=0)
    with BigModelClient(DEFAULT_KEY, fake.base_url) as client:
        studio = serve_studio(client, model="cogview-4", watermark=False, user_id="server-user-1")
        server = GlmImageHTTPServer(options, ImageService(studio, options), lambda line: None)
        import threading

        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        try:
            host, port = server.server_address[:2]
            assert httpx.post(f"http://{host}:{port}/txt2img", json={"prompt": "x"}).status_code == 200
        finally:
            server.shutdown()
            server.server_close()
    body = fake.seen(SYNC_ROUTE)[0].body
    assert body["watermark_enabled"] is False and body["user_id"] == "server-user-1"
