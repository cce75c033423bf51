"""`glm-image mcp` as a subprocess, driven by the official `mcp` client over stdio, against the fake upstream."""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

import pytest

from tests.fake_bigmodel import DEFAULT_KEY, SYNC_ROUTE
from tests.test_console_script import console_script

mcp = pytest.importorskip("mcp", reason="the mcp extra is not installed (pip install '.[test]' installs it)")
anyio = pytest.importorskip("anyio")


async def _session_calls(env: dict[str, str], calls: list[tuple[str, dict]]) -> tuple[list[str], list]:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(command=console_script()[0], args=["mcp"], env=env)
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = [tool.name for tool in (await session.list_tools()).tools]
            results = [await session.call_tool(name, arguments) for name, arguments in calls]
    return tools, results


def run_session(fake, tmp_path: Path, calls: list[tuple[str, dict]]) -> tuple[list[str], list]:
    env = {"GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "GLM_IMAGE_CONFIG": str(tmp_path / "c.toml"),
           "GLM_IMAGE_DATA_DIR": str(tmp_path / "data"), "NO_PROXY": "127.0.0.1", "LANG": "en_US.UTF-8",
           "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    return anyio.run(_session_calls, env, calls)


def test_tools_generate_and_list(fake, tmp_path: Path) -> None:
    out = tmp_path / "made"
    tools, (made, styles, models) = run_session(fake, tmp_path, [
        ("generate_image", {"prompt": "一只橘猫", "style": "卡通", "n": 2, "output_dir": str(out)}),
        ("list_styles", {}),
        ("list_models", {}),
    ])
    assert set(tools) == {"generate_image", "submit_image", "job_status", "fetch_image", "compare_images",
                          "list_styles", "list_models"}
    assert not made.is_error
    text, preview = made.content[0], made.content[1]
    summary = json.loads(text.text)
    paths = [Path(image["path"]) for image in summary["images"]]
    assert len(paths) == 2 and all(path.exists() and path.parent == out for path in paths)
    assert {image["request_id"] for image in summary["images"]} == {"req-1", "req-2"}
    assert summary["images"][0]["prompt_sent"].startswith("一只橘猫，卡通插画风格")
    assert preview.type == "image" and preview.mime_type == "image/png"
    assert base64.b64decode(preview.data).startswith(b"\x89PNG")
    assert fake.count(SYNC_ROUTE) == 2
    assert "卡通" in {s["name"] for s in json.loads(styles.content[0].text)}
    assert "glm-image" in {m["model"] for m in json.loads(models.content[0].text)}


def test_bad_arguments_are_tool_errors_not_crashes(fake, tmp_path: Path) -> None:
    _, results = run_session(fake, tmp_path, [
        ("generate_image", {"prompt": "x", "size": "10x10"}),
        ("generate_image", {"prompt": "x", "style": "no-such-style"}),
        ("generate_image", {"prompt": "x", "n": 9}),
        ("generate_image", {"size": "1024x1024"}),
        ("generate_image", {"prompt": "x", "n": 4, "model": "glm-image"}),
        ("generate_image", {"prompt": "still alive"}),
    ])
    bad_size, bad_style, too_many, no_prompt, consent, fine = results
    assert bad_size.is_error and "Nearest valid size: 512x512" in bad_size.content[0].text
    assert "INVALID_SIZE" in bad_size.content[0].text
    assert bad_style.is_error and "Unknown style" in bad_style.content[0].text
    assert too_many.is_error and "between 1 and 4" in too_many.content[0].text
    assert no_prompt.is_error
    assert not consent.is_error  # 0.40 CNY is under the default confirm-above of 1
    assert not fine.is_error  # the server survived every bad call
    assert fake.count(SYNC_ROUTE) == 1


def test_spend_above_the_limit_needs_consent(fake, tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("confirm-above = 0.1\n")
    _, (refused, agreed) = run_session(fake, tmp_path, [
        ("generate_image", {"prompt": "x", "n": 3}),
        ("generate_image", {"prompt": "x", "n": 3, "allow_spend": True}),
    ])
    assert refused.is_error and "allow_spend=true" in refused.content[0].text
    assert not agreed.is_error and fake.count(SYNC_ROUTE) == 3


def test_missing_extra_is_a_clear_message(cli, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp.server.mcpserver", None)
    result = cli("mcp")
    assert result.exit_code == 2 and "pip install 'glm-image[mcp]'" in result.stderr


def test_a_paid_bomb_is_a_result_without_a_preview_not_a_failed_call(fake, tmp_path: Path) -> None:
    """An upstream image declaring 30000×30000 pixels: saved and reported, the thumbnail left out (an error
    here would invite the assistant to pay again)."""
    pytest.importorskip("PIL.Image")
    from tests.test_hostile_files import bomb_png

    fake.result_mode = "b64"
    fake.image_bytes = bomb_png()
    _, (made,) = run_session(fake, tmp_path, [("generate_image", {"prompt": "a cat", "output_dir": str(tmp_path)})])
    assert not made.is_error
    assert [item.type for item in made.content] == ["text"]
    [image] = json.loads(made.content[0].text)["images"]
    assert Path(image["path"]).read_bytes().startswith(b"\x89PNG")
    assert fake.count(SYNC_ROUTE) == 1
