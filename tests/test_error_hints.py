"""Honest hints (issue 14, items 6-10): errors name what the user typed, near-miss model names are caught
before anything is sent, `ping` and the content filter speak plain words, and small things say what they did."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from glm_image_cli.backends.models import likely_typo
from glm_image_cli.cli.console import describe_content_filter
from glm_image_cli.core.plans import plan_generation
from glm_image_cli.errors import GlmImageError, UsageError
from glm_image_cli.messages import CATALOGUE, render, using_language
from glm_image_cli.storage.files import display_path
from tests.fake_bigmodel import SYNC_ROUTE, Reply, make_png

README = Path(__file__).resolve().parents[1] / "README.md"


# --- 6. a bad value names where it came from ----------------------------------------------------------

def test_a_bad_flag_value_names_the_flag_and_is_a_usage_error(cli, fake) -> None:
    result = cli("generate", "a cat", "--timeout", "1")
    assert result.exit_code == 2
    assert "Invalid value for --timeout: must be a number from 5 to 1800." in result.stderr
    assert fake.count(SYNC_ROUTE) == 0

    result = cli("generate", "a cat", "--timeout", "1", "--json")
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "FLAG_BAD_VALUE" and error["exit_code"] == 2 and "--timeout" in error["message"]

    assert "--concurrency" in cli("generate", "a cat", "-j", "0").stderr
    zh = cli("--lang", "zh", "generate", "a cat", "--timeout", "1")
    assert zh.exit_code == 2 and "--timeout 的值无效" in zh.stderr
    assert fake.count(SYNC_ROUTE) == 0


def test_a_bad_serve_port_names_the_flag(cli) -> None:
    result = cli("serve", "--port", "70000")
    assert result.exit_code == 2
    assert "Invalid value for --port: must be a whole number from 0 to 65535." in result.stderr


def test_a_bad_environment_value_names_the_variable_and_is_a_settings_error(cli, fake) -> None:
    result = cli("generate", "a cat", "--json", env={"GLM_IMAGE_TIMEOUT": "1"})
    assert result.exit_code == 3
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "CONFIG_BAD_VALUE"
    assert "GLM_IMAGE_TIMEOUT" in error["message"] and "setting timeout" in error["message"]
    assert fake.count(SYNC_ROUTE) == 0


def test_config_set_names_the_setting(cli) -> None:
    result = cli("config", "set", "timeout", "1")
    assert result.exit_code == 3
    assert "Invalid value for timeout: must be a number from 5 to 1800." in result.stderr


def test_the_readme_states_the_ranges() -> None:
    readme = README.read_text(encoding="utf-8")
    assert re.search(r"\| `timeout` \|.*5–1800", readme)
    assert re.search(r"\| `--timeout` \|.*5–1800", readme)
    assert re.search(r"\| `concurrency` \|.*1–32", readme)
    assert re.search(r"\| `server-port` \|.*0–65535", readme)
    assert "`FLAG_BAD_VALUE`" in readme


# --- 7. model names: a near miss is an error, a new name is sent -------------------------------------

@pytest.mark.parametrize(("typed", "meant"), [
    ("cogview4", "cogview-4"), ("cogveiw-4", "cogview-4"), ("cogview_4", "cogview-4"), ("glmimage", "glm-image"),
    ("glm-imgae", "glm-image"), ("cogview-3-flsh", "cogview-3-flash"), ("Cogview-3-Plu", "cogview-3-plus"),
])
def test_near_misses_of_known_models(typed: str, meant: str) -> None:
    assert likely_typo(typed) == meant


@pytest.mark.parametrize("name", ["cogview-4", "CogView-4", "cogview-5", "cogview-4-250305", "glm-image-2",
                                  "cogview-4-flash", "dall-e-3", "x"])
def test_known_or_new_names_are_not_typos(name: str) -> None:
    assert likely_typo(name) is None


def test_a_mistyped_model_flag_is_refused_before_sending(cli, fake) -> None:
    result = cli("generate", "a cat", "-m", "cogview4")
    assert result.exit_code == 2
    assert "did you mean cogview-4" in result.stderr
    assert fake.count(SYNC_ROUTE) == 0
    assert json.loads(cli("generate", "a cat", "-m", "cogview4", "--json").stdout)["error"]["code"] \
        == "FLAG_BAD_VALUE"
    assert "你是不是想用 cogview-4" in cli("--lang", "zh", "generate", "a cat", "-m", "cogview4").stderr
    assert fake.count(SYNC_ROUTE) == 0


def test_a_new_model_name_is_still_sent_with_a_warning(cli, fake) -> None:
    result = cli("generate", "a cat", "-m", "cogview-5", "-o", "out")
    assert result.exit_code == 0, result.stderr
    assert "is not in glm-image's table" in result.stderr
    assert fake.count(SYNC_ROUTE) == 1 and fake.seen(SYNC_ROUTE)[0].body["model"] == "cogview-5"


def test_config_set_refuses_a_mistyped_model(cli, isolated: Path) -> None:
    result = cli("config", "set", "model", "cogview4")
    assert result.exit_code == 3 and "did you mean cogview-4" in result.stderr
    assert not isolated.exists() or "cogview4" not in isolated.read_text()
    assert cli("config", "set", "model", "cogview-5").exit_code == 0


def test_a_mistyped_model_in_a_batch_line_is_an_invalid_line(cli, fake) -> None:
    Path("p.jsonl").write_text('{"prompt": "x", "model": "cogveiw-4"}\n{"prompt": "y"}\n', encoding="utf-8")
    result = cli("batch", "p.jsonl", "-o", "out")
    assert result.exit_code == 2
    assert "line 1: Unknown model 'cogveiw-4': did you mean cogview-4?" in result.stderr
    assert fake.count(SYNC_ROUTE) == 0


def test_every_caller_of_plan_generation_gets_the_same_refusal() -> None:
    with pytest.raises(UsageError) as caught:
        plan_generation("a cat", model="glm_image")
    assert caught.value.code == "UNKNOWN_MODEL" and "did you mean glm-image" in str(caught.value)
    assert plan_generation("a cat", model="cogview-5").model == "cogview-5"


# --- 8. ping speaks plain words ------------------------------------------------------------------------

def test_ping_says_what_the_probe_means(cli, fake) -> None:
    table = cli("ping").stdout
    assert "TLS" not in table and "HTTP, HTTP" not in table
    assert "answered over plain HTTP (not encrypted)" in table
    report = {c["name"]: c["detail"] for c in json.loads(cli("ping", "--json").stdout)["checks"]}
    assert "no such task" in report["key_accepted"] and "only once the key is accepted" in report["key_accepted"]
    assert "HTTP 404 / 1222" in report["key_accepted"]
    zh = cli("--lang", "zh", "ping").stdout
    assert "TLS" not in zh and "未加密" in zh and "任务不存在" in zh


def test_ping_over_https_says_encrypted(cli, monkeypatch) -> None:
    from glm_image_cli.backends.bigmodel import BigModelClient

    monkeypatch.setenv("GLM_BASE_URL", "https://127.0.0.1:9/api/paas/v4")
    monkeypatch.setenv("GLM_API_KEY", "fake-key-0123456789abcdef.SECRETPART")
    monkeypatch.setattr(BigModelClient, "probe_key", lambda self: (404, "1222", "not found", 0.01))
    report = {c["name"]: c["detail"] for c in json.loads(cli("ping", "--json").stdout)["checks"]}
    assert report["reach"] == "answered over HTTPS (encrypted)"


# --- 9. the content filter is shown only when it says something ---------------------------------------

def _filtered_reply(fake, level: int) -> Reply:
    return Reply(body={"created": 1760000000, "data": [{"url": f"{fake.origin}/files/x_0.png"}],
                       "content_filter": [{"role": "assistant", "level": level}], "request_id": "req-f"})


def test_level_3_means_nothing_found_and_is_not_shown(cli, fake) -> None:
    result = cli("generate", "a cat", "-o", "out")
    assert result.exit_code == 0
    assert "content" not in result.stderr and "assistant" not in result.stderr
    assert describe_content_filter([{"role": "assistant", "level": 3}]) == ""
    assert describe_content_filter(None) == "" and describe_content_filter([{"role": "user"}]) == ""


def test_a_flagged_image_is_said_in_words(cli, fake) -> None:
    fake.script(SYNC_ROUTE, _filtered_reply(fake, 1))
    result = cli("generate", "a cat", "-o", "out")
    assert result.exit_code == 0
    assert "content review flagged the image: moderate" in result.stderr
    assert "assistant" not in result.stderr
    fake.script(SYNC_ROUTE, _filtered_reply(fake, 0))
    assert "内容审核标记了图片：严重" in cli("--lang", "zh", "generate", "a cat", "-o", "out").stderr
    assert describe_content_filter([{"role": "user", "level": 2}]) == "content review flagged the prompt: mild"


def test_the_json_keeps_every_level(cli, fake) -> None:
    [record] = json.loads(cli("generate", "a cat", "-o", "out", "--json").stdout)
    assert record["content_filter"] == [{"role": "assistant", "level": 3}]


# --- 10. small things that say what they did ---------------------------------------------------------

def test_info_on_a_text_file_says_it_once(cli) -> None:
    Path("prompts.txt").write_text("a cat\n", encoding="utf-8")
    result = cli("info", "prompts.txt")
    assert result.exit_code == 2
    assert "prompts.txt: not a PNG image;" in result.stderr
    assert "not a PNG file" not in result.stderr and result.stderr.count("not a PNG") == 1


def test_info_on_a_damaged_png_says_damaged(cli) -> None:
    Path("broken.png").write_bytes(make_png()[:30])
    result = cli("info", "broken.png")
    assert result.exit_code == 2 and "broken.png: a damaged PNG image (" in result.stderr


def test_history_keeps_paths_whole_and_says_how_many_it_shows(cli, fake) -> None:
    prompts = [f"a rather long prompt number {i} about a cat on a windowsill" for i in range(25)]
    Path("p.txt").write_text("\n".join(prompts) + "\n", encoding="utf-8")
    assert cli("batch", "p.txt", "-o", "some-folder/run", "--yes").exit_code == 0
    records = json.loads(cli("history", "--json", "--limit", "100").stdout)
    paths = [display_path(Path(record["path"])) for record in records]
    assert len(paths) == 25
    for columns in ("120", "100"):
        result = cli("history", env={"COLUMNS": columns})
        assert result.exit_code == 0
        assert "Showing 20 of 25; --limit N for more." in result.stderr
        shown = [path for path in paths if path in result.stdout]
        assert len(shown) == 20  # every listed path on one line, never broken mid-word
        assert all(len(line) <= int(columns) for line in result.stdout.splitlines())
    everything = cli("history", "--limit", "30")
    assert "Showing" not in everything.stderr
    assert "显示了 25 条中最新的 20 条" in cli("--lang", "zh", "history").stderr


def test_gallery_open_without_a_browser_says_where_the_page_is(cli, monkeypatch) -> None:
    import webbrowser

    folder = Path("pics")
    folder.mkdir()
    (folder / "one.png").write_bytes(make_png())
    monkeypatch.setattr(webbrowser, "open", lambda url: False)
    result = cli("gallery", "pics", "--open")
    assert result.exit_code == 0
    page = str((folder / "index.html").resolve())
    assert "No web browser could be opened here; open" in result.stderr and page in result.stderr

    def refuse(url: str) -> bool:
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "open", refuse)
    assert "No web browser" in cli("gallery", "pics", "--open").stderr


_CJK = r"[\u3400-\u9fff\u3000-\u303f\uff01-\uff5e“”]"


def test_chinese_messages_use_full_width_punctuation() -> None:
    """No half-width parenthesis or colon next to Chinese text, and no doubled full stop."""
    mixed = re.compile(rf"{_CJK}[(:]|[()]{_CJK}|{_CJK}\s[()]|[()]\s{_CJK}")
    offenders = {key: zh for key, (_, zh) in CATALOGUE.items() if mixed.search(zh) or "。。" in zh or "。）。" in zh}
    assert offenders == {}


def test_a_sentence_inside_a_sentence_is_not_closed_twice() -> None:
    problem = GlmImageError("history_unusable", path="h.sqlite", detail="locked")
    for lang in ("en", "zh"):
        line = render("history_not_recorded", lang=lang, detail=str(problem) if lang == "en" else
                      render("history_unusable", lang="zh", path="h.sqlite", detail="locked"))
        assert not re.search(r"[.。][)）][.。]", line) and "。。" not in line and ".." not in line
    with using_language("zh"):
        assert describe_content_filter([{"role": "assistant", "level": 2}]) == "内容审核标记了图片：轻微"
