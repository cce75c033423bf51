"""`glm-image generate` end to end against the fake BigModel server."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from glm_image_cli import __version__
from tests.fake_bigmodel import ASYNC_ROUTE, DEFAULT_KEY, FILE_ROUTE, POLL_ROUTE, SYNC_ROUTE, TINY_JPEG, Reply

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def saved_files(folder: str = "glm-images") -> list[Path]:
    path = Path(folder)
    return sorted(path.iterdir()) if path.exists() else []


def test_generates_and_saves_a_png_with_a_readable_name(cli, fake) -> None:
    result = cli("generate", "一只可爱的卡通猫，白色背景", "--style", "卡通")
    assert result.exit_code == 0, result.stderr
    [image] = saved_files()
    assert image.read_bytes().startswith(PNG_MAGIC)
    assert image.name.endswith("-一只可爱的卡通猫-白色背景.png")
    assert result.stdout.strip() == str(Path("glm-images") / image.name)
    [call] = fake.seen(SYNC_ROUTE)
    assert call.body == {"model": "cogview-4-250304", "size": "1024x1024",
                         "prompt": "一只可爱的卡通猫，白色背景，卡通插画风格，线条干净，色彩明快，造型可爱"}
    assert call.headers["authorization"] == f"Bearer {DEFAULT_KEY}"
    assert call.headers["user-agent"] == f"glm-image/{__version__}"
    assert call.headers["accept-language"].startswith("en")


def test_the_image_download_does_not_carry_the_key(cli, fake) -> None:
    cli("generate", "a red fox")
    [download] = fake.seen(FILE_ROUTE)
    assert "authorization" not in download.headers


def test_base64_results_are_decoded(cli, fake) -> None:
    fake.result_mode = "b64"
    assert cli("generate", "a red fox", "--no-metadata").exit_code == 0
    [image] = saved_files()
    assert image.read_bytes() == fake.image_bytes
    assert fake.count(FILE_ROUTE) == 0


def test_non_png_bytes_keep_their_real_extension_without_the_convert_extra(cli, fake, monkeypatch) -> None:
    from glm_image_cli.storage import saving

    monkeypatch.setattr(saving, "converter_available", lambda: False)
    fake.image_bytes = TINY_JPEG
    result = cli("generate", "a red fox")
    assert result.exit_code == 0
    [image] = saved_files()
    assert image.suffix == ".jpg" and image.read_bytes() == TINY_JPEG
    assert "JPEG" in result.stderr


def test_original_format_keeps_the_bytes(cli, fake) -> None:
    fake.image_bytes = TINY_JPEG
    assert cli("generate", "a red fox", "--format", "original").exit_code == 0
    [image] = saved_files()
    assert image.suffix == ".jpg" and image.read_bytes() == TINY_JPEG


def test_several_images_respect_concurrency_and_options(cli, fake) -> None:
    fake.latency = 0.05
    result = cli("generate", "a lighthouse at dusk", "-n", "4", "-j", "2", "--size", "1344x768",
                 "--model", "cogview-4-250304", "--quality", "hd", "-o", "out")
    assert result.exit_code == 0, result.stderr
    images = saved_files("out")
    assert len(images) == 4 and len(set(result.stdout.split())) == 4
    assert [p.stem[-2:] for p in images] == ["-1", "-2", "-3", "-4"]
    assert fake.count(SYNC_ROUTE) == 4
    assert fake.max_in_flight <= 2
    assert {c.body["size"] for c in fake.seen(SYNC_ROUTE)} == {"1344x768"}
    assert {c.body["quality"] for c in fake.seen(SYNC_ROUTE)} == {"hd"}


def test_width_and_height_options(cli, fake) -> None:
    assert cli("generate", "x", "--width", "768", "--height", "1344").exit_code == 0
    assert fake.seen(SYNC_ROUTE)[0].body["size"] == "768x1344"
    result = cli("generate", "x", "--width", "768")
    assert result.exit_code == 2 and "--height" in result.stderr


def test_prompt_from_stdin(cli, fake) -> None:
    result = cli("generate", "-", input="水墨山水\n")
    assert result.exit_code == 0
    assert fake.seen(SYNC_ROUTE)[0].body["prompt"] == "水墨山水"


def test_negative_prompt_is_folded_in_the_prompts_language(cli, fake) -> None:
    cli("generate", "城市夜景", "--negative", "模糊，低质量")
    cli("generate", "a city at night", "--negative", "blur, low quality")
    chinese, english = (c.body["prompt"] for c in fake.seen(SYNC_ROUTE))
    assert chinese == "城市夜景。画面中不要出现：模糊，低质量"
    assert english == "a city at night. Avoid: blur, low quality."


def test_json_output_schema(cli, fake) -> None:
    result = cli("generate", "a red fox", "--json", "--style", "watercolor")
    [record] = json.loads(result.stdout)
    assert set(record) == {"index", "ok", "path", "prompt", "prompt_sent", "enhanced_prompt", "model", "size",
                           "quality", "style", "request_id", "format", "content_filter", "seconds"}
    assert record["ok"] is True and Path(record["path"]).exists()
    assert record["style"] == "水彩" and record["request_id"] == "req-1" and record["format"] == "png"


def test_existing_files_are_never_overwritten(cli, fake) -> None:
    for _ in range(3):
        assert cli("generate", "same prompt").exit_code == 0
    assert len(saved_files()) == 3


def test_flags_beat_environment_beat_file(cli, fake, monkeypatch) -> None:
    cli("config", "set", "model", "cogview-3-flash")
    cli("generate", "x")
    monkeypatch.setenv("GLM_IMAGE_MODEL", "cogview-4")
    cli("generate", "x")
    cli("generate", "x", "-m", "cogview-4-250304")
    assert [c.body["model"] for c in fake.seen(SYNC_ROUTE)] == ["cogview-3-flash", "cogview-4", "cogview-4-250304"]


def test_glm_image_goes_through_the_async_endpoint_and_polls(cli, fake) -> None:
    fake.polls_before_success = 2
    result = cli("generate", "水墨山水", "-m", "glm-image")
    assert result.exit_code == 0, result.stderr
    assert fake.count(ASYNC_ROUTE) == 1 and fake.count(SYNC_ROUTE) == 0
    assert fake.count(POLL_ROUTE) == 3
    assert fake.seen(ASYNC_ROUTE)[0].body["size"] == "1280x1280"
    assert "task PROCESSING" in result.stderr
    assert len(saved_files()) == 1


def test_failed_async_task(cli, fake) -> None:
    fake.async_outcome = "FAIL"
    result = cli("generate", "水墨山水", "-m", "glm-image")
    assert result.exit_code == 10
    assert "reported task task-1 as failed" in result.stderr


# --- validation before spending -----------------------------------------------------------------

def test_bad_size_shows_the_nearest_valid_one_and_sends_nothing(cli, fake) -> None:
    result = cli("generate", "x", "--size", "1000x1000")
    assert result.exit_code == 2
    assert "Nearest valid size: 1008x1008" in result.stderr
    # glm-image's floor is 512 (issue 26): 992 is nearer 1000 than 1024, which the old 1024 floor forced
    result = cli("generate", "x", "--size", "1000x1000", "-m", "glm-image")
    assert "Nearest valid size: 992x992" in result.stderr
    assert cli("generate", "x", "--size", "huge").exit_code == 2
    assert fake.requests == []


def test_unknown_style_suggests_close_names(cli, fake) -> None:
    result = cli("generate", "x", "--style", "watercolour-ish")
    assert result.exit_code == 2
    assert "Did you mean: watercolor" in result.stderr
    assert fake.requests == []


def test_user_styles_from_the_config_file(cli, fake, isolated) -> None:
    isolated.parent.mkdir()
    isolated.write_text('[styles]\n"胶片" = "35mm 胶片摄影，颗粒感"\n', encoding="utf-8")
    assert cli("generate", "街头", "-s", "胶片").exit_code == 0
    assert fake.seen(SYNC_ROUTE)[0].body["prompt"] == "街头，35mm 胶片摄影，颗粒感"


def test_empty_prompt_and_bad_counts(cli, fake) -> None:
    assert cli("generate", "   ").exit_code == 2
    assert cli("generate", "-", input="\n").exit_code == 2
    result = cli("generate", "x", "-n", "0")
    assert result.exit_code == 2 and "between 1 and 10" in result.stderr
    result = cli("generate", "x", "-m", "glm-image", "--quality", "standard")
    assert result.exit_code == 2 and "does not support quality" in result.stderr
    result = cli("generate", "字" * 1001, "-m", "glm-image")
    assert result.exit_code == 2 and "at most 1000" in result.stderr
    assert fake.requests == []


def test_unknown_model_is_sent_with_a_warning(cli, fake) -> None:
    result = cli("generate", "x", "-m", "cogview-5-preview", "--size", "999x777")
    assert result.exit_code == 0
    assert "not in glm-image's table" in result.stderr
    assert fake.seen(SYNC_ROUTE)[0].body == {"model": "cogview-5-preview", "prompt": "x", "size": "999x777"}


def test_missing_key_says_how_to_set_one(cli, fake, monkeypatch) -> None:
    monkeypatch.delenv("GLM_API_KEY")
    result = cli("generate", "x")
    assert result.exit_code == 3
    assert "glm-image config set api-key" in result.stderr and "open.bigmodel.cn" in result.stderr
    assert result.stderr.count("\n") == 1
    assert fake.requests == []


def test_unwritable_output_folder_fails_before_any_request(cli, fake) -> None:
    Path("blocker").write_text("a file, not a folder")
    result = cli("generate", "x", "-o", "blocker/images")
    assert result.exit_code == 11
    assert "Cannot write to the output folder" in result.stderr
    assert fake.requests == []


# --- upstream refusals and failures ---------------------------------------------------------------

def test_rejected_key(cli, fake, monkeypatch) -> None:
    monkeypatch.setenv("GLM_API_KEY", "wrong-key-000000000000")
    result = cli("generate", "x", "-n", "3", "-j", "1")
    assert result.exit_code == 4
    assert "rejected the API key" in result.stderr and "1001" in result.stderr
    assert "the environment variable that holds it, which wins" in result.stderr  # this key came from there
    assert fake.count(SYNC_ROUTE) == 1  # the other samples would fail the same way: not sent


def test_balance_exhausted_is_not_retried(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply.error(429, "1113", "您的账户已欠费，请充值后重试。"))
    result = cli("generate", "x")
    assert result.exit_code == 7
    assert "balance is used up" in result.stderr
    assert fake.count(SYNC_ROUTE) == 1


def test_content_refusal_has_its_own_exit_code(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply.error(400, "1301", "系统检测到输入或生成内容可能包含不安全或敏感内容"))
    result = cli("generate", "x", "--json")
    assert result.exit_code == 6
    [record] = json.loads(result.stdout)
    assert record["ok"] is False and record["error"]["code"] == "CONTENT_BLOCKED"
    assert record["error"]["upstream_code"] == "1301" and record["request_id"] == "req-error"


def test_rate_limit_is_retried_after_retry_after(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply.error(429, "1302", "Rate limit reached for requests", retry_after="0"),
                Reply.error(429, "1305", "overloaded", retry_after="0"))
    result = cli("generate", "x")
    assert result.exit_code == 0, result.stderr
    assert fake.count(SYNC_ROUTE) == 3
    assert "retrying in 0.0 s" in result.stderr


def test_rate_limit_that_never_ends(cli, fake) -> None:
    fake.script(SYNC_ROUTE, *[Reply.error(429, "1302", "Rate limit reached", retry_after="0")] * 10)
    result = cli("generate", "x")
    assert result.exit_code == 8
    assert "still rate limiting after 6 attempts" in result.stderr
    assert fake.count(SYNC_ROUTE) == 6


def test_server_error_is_retried_a_few_times(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply.error(500, "500", "Internal Error"))
    assert cli("generate", "x").exit_code == 0
    assert fake.count(SYNC_ROUTE) == 2


def test_dropped_connection_after_sending_is_not_retried(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply(drop=True))
    result = cli("generate", "x")
    assert result.exit_code == 9
    assert "may have been billed" in result.stderr and "--retry-unsafe" in result.stderr
    assert fake.count(SYNC_ROUTE) == 1  # never a blind second POST
    assert saved_files() == []


def test_retry_unsafe_opts_in_to_repeating(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply(drop=True))
    assert cli("generate", "x", "--retry-unsafe").exit_code == 0
    assert fake.count(SYNC_ROUTE) == 2


def test_gateway_timeout_is_not_retried(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply(status=504, body=b"<html>504 Gateway Time-out</html>",
                                  headers={"Content-Type": "text/html"}))
    result = cli("generate", "x")
    assert result.exit_code == 9 and "may still have been" in result.stderr
    assert fake.count(SYNC_ROUTE) == 1


def test_unreachable_upstream(cli, monkeypatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("GLM_BASE_URL", f"http://127.0.0.1:{port}/api/paas/v4")
    monkeypatch.setenv("GLM_API_KEY", DEFAULT_KEY)
    result = cli("generate", "x")
    assert result.exit_code == 9
    assert f"Cannot reach 127.0.0.1:{port} after 3 attempts" in result.stderr
    assert "nothing was sent or billed" in result.stderr


def test_errors_in_chinese(cli, fake, monkeypatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    fake.script(SYNC_ROUTE, Reply.error(429, "1113", "余额不足"))
    result = cli("generate", "一只猫")
    assert result.exit_code == 7
    assert result.stderr.splitlines()[-1].startswith("错误：BigModel 账户余额不足")
    assert fake.seen(SYNC_ROUTE)[0].headers["accept-language"].startswith("zh")


def test_json_error_object_for_validation_failures(cli, fake) -> None:
    result = cli("generate", "x", "--size", "10x10", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "INVALID_SIZE" and error["exit_code"] == 2
