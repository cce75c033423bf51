"""--enhance: a GLM chat model rewrites the prompt before the image call (issue 16), against the fake upstream."""

from __future__ import annotations

import json

from glm_image_cli.core.enhance import (
    _COGVIEW_SYSTEM,
    _GLM_IMAGE_SYSTEM_EN,
    _GLM_IMAGE_SYSTEM_ZH,
    clean_answer,
    recipe_for,
)
from glm_image_cli.storage.pngmeta import recipe_in_file
from tests.conftest import SECRET_PART
from tests.fake_bigmodel import ASYNC_ROUTE, CHAT_ROUTE, SYNC_ROUTE, Reply

REWRITE = "一只橘猫蜷坐在木窗台上，午后阳光从左侧照入，暖色调，写实摄影"


def _images(fake) -> int:
    return fake.count(SYNC_ROUTE) + fake.count(ASYNC_ROUTE)


def test_generate_enhance_makes_one_chat_call_then_one_image_call_with_the_rewrite(cli, fake, tmp_path):
    fake.chat_reply = REWRITE
    result = cli("generate", "一只猫", "--enhance", "--style", "油画", "-o", "out", "--json")
    assert result.exit_code == 0, result.stderr
    chats = fake.seen(CHAT_ROUTE)
    assert len(chats) == 1
    body = chats[0].body
    assert body["model"] == "glm-4-flash-250414"
    assert body["messages"][0]["role"] == "system" and body["messages"][-1]["role"] == "user"
    assert "一只猫" in body["messages"][-1]["content"]
    assert body["temperature"] == 0.01 and body["top_p"] == 0.7 and body["max_tokens"] == 300
    images = fake.seen(SYNC_ROUTE)
    assert len(images) == 1
    sent = images[0].body["prompt"]
    assert sent.startswith(REWRITE) and sent != REWRITE  # the style phrase folded into the rewrite
    assert REWRITE in result.stderr  # shown before the image was paid for
    record = json.loads(result.stdout)[0]
    assert record["prompt"] == "一只猫" and record["enhanced_prompt"] == REWRITE and record["prompt_sent"] == sent
    recipe = recipe_in_file(tmp_path / "work" / record["path"]) if not record["path"].startswith("/") \
        else recipe_in_file(__import__("pathlib").Path(record["path"]))
    assert recipe["prompt"] == "一只猫" and recipe["enhanced_prompt"] == REWRITE and recipe["prompt_sent"] == sent
    assert recipe["enhance_model"] == "glm-4-flash-250414"
    assert SECRET_PART not in json.dumps(body)


def test_without_enhance_no_chat_call(cli, fake):
    assert cli("generate", "一只猫", "-o", "out").exit_code == 0
    assert fake.count(CHAT_ROUTE) == 0


def test_setting_turns_it_on_and_the_cache_avoids_a_second_chat_call(cli, fake):
    fake.chat_reply = REWRITE
    assert cli("config", "set", "enhance", "on").exit_code == 0
    assert cli("generate", "一只猫", "-o", "out").exit_code == 0
    assert cli("generate", "一只猫", "-o", "out").exit_code == 0
    assert fake.count(CHAT_ROUTE) == 1 and fake.count(SYNC_ROUTE) == 2
    assert [s.body["prompt"] for s in fake.seen(SYNC_ROUTE)] == [REWRITE, REWRITE]
    assert cli("generate", "一只猫", "-o", "out", "--no-cache").exit_code == 0
    assert fake.count(CHAT_ROUTE) == 2


def test_failing_chat_call_pays_for_no_image(cli, fake):
    fake.script(CHAT_ROUTE, Reply.error(401, "1001", "bad token"))
    result = cli("generate", "一只猫", "--enhance", "-o", "out")
    assert result.exit_code == 4
    assert "enhancement" in result.stderr and _images(fake) == 0


def test_chat_errors_keep_their_codes_and_no_image(cli, fake):
    fake.script(CHAT_ROUTE, Reply.error(400, "1301", "unsafe content"))
    result = cli("generate", "一只猫", "--enhance", "-o", "out", "--json")
    assert result.exit_code == 6 and _images(fake) == 0
    assert json.loads(result.stdout)["error"]["code"] == "CONTENT_BLOCKED"
    fake.script(CHAT_ROUTE, Reply(drop=True))
    result = cli("generate", "一只狗", "--enhance", "-o", "out")
    assert result.exit_code == 9 and _images(fake) == 0
    assert fake.count(CHAT_ROUTE) == 2  # a dropped answer is never sent again blindly


def test_rate_limited_and_server_errors_are_retried(cli, fake):
    fake.chat_reply = REWRITE
    fake.script(CHAT_ROUTE, Reply.error(429, "1302", "slow down", retry_after="0"), Reply.error(500, "500", "oops"))
    result = cli("generate", "一只猫", "--enhance", "-o", "out")
    assert result.exit_code == 0, result.stderr
    assert fake.count(CHAT_ROUTE) == 3 and fake.seen(SYNC_ROUTE)[0].body["prompt"] == REWRITE


def test_enhance_command_makes_no_image(cli, fake):
    fake.chat_reply = "A tall lighthouse on a rocky cape at dusk, oil painting"
    result = cli("enhance", "a lighthouse", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["enhanced_prompt"] == "A tall lighthouse on a rocky cape at dusk, oil painting"
    assert data["family"] == "cogview" and data["cached"] is False
    assert _images(fake) == 0 and fake.count(CHAT_ROUTE) == 1
    plain = cli("enhance", "a lighthouse")
    assert plain.stdout.strip() == data["enhanced_prompt"] and fake.count(CHAT_ROUTE) == 1  # cached


def test_enhance_command_uses_the_glm_image_recipe(cli, fake):
    fake.chat_reply = "海报"
    assert cli("enhance", "爵士音乐节海报", "-m", "glm-image").exit_code == 0
    body = fake.seen(CHAT_ROUTE)[0].body
    assert body["messages"][0]["content"] == _GLM_IMAGE_SYSTEM_ZH and body["temperature"] == 0.7
    assert len(body["messages"]) == 2


def test_recipes_chosen_by_model_and_language():
    cog = recipe_for("一只\n猫  在睡觉", "cogview-4-250304")
    assert cog.family == "cogview" and cog.messages[0]["content"] == _COGVIEW_SYSTEM
    assert cog.messages[-1]["content"] == "一只 猫 在睡觉"  # newlines and double spaces stripped
    assert len(cog.messages) >= 1 + 2 * 2 + 1  # few-shot pairs
    assert recipe_for("a cat", "cogview-3-flash").family == "cogview"
    assert recipe_for("a cat", "glm-image").messages[0]["content"] == _GLM_IMAGE_SYSTEM_EN
    assert recipe_for("一只猫", "glm-image").messages[0]["content"] == _GLM_IMAGE_SYSTEM_ZH
    assert recipe_for("a cat", "glm-image").temperature > 0.5
    assert clean_answer("“一只猫\n\n在窗台上  睡觉”", "cogview") == "一只猫 在窗台上 睡觉"


def test_batch_enhance_rerun_makes_no_chat_and_no_image_call(cli, fake, tmp_path):
    fake.chat_reply = lambda body: "REWRITTEN " + body["messages"][-1]["content"]
    (tmp_path / "work" / "in.jsonl").write_text(
        '{"prompt": "一只猫"}\n{"prompt": "a dog", "enhance": false}\n{"prompt": "a fox"}\n', encoding="utf-8")
    first = cli("batch", "in.jsonl", "--enhance", "-o", "out")
    assert first.exit_code == 0, first.stderr
    assert fake.count(CHAT_ROUTE) == 2 and fake.count(SYNC_ROUTE) == 3
    prompts = sorted(s.body["prompt"] for s in fake.seen(SYNC_ROUTE))
    assert prompts == ["REWRITTEN a fox", "REWRITTEN 一只猫", "a dog"]
    again = cli("batch", "in.jsonl", "--enhance", "-o", "out")
    assert again.exit_code == 0, again.stderr
    assert fake.count(CHAT_ROUTE) == 2 and fake.count(SYNC_ROUTE) == 3


def test_batch_item_whose_rewrite_fails_fails_alone(cli, fake, tmp_path):
    fake.chat_reply = lambda body: "REWRITTEN " + body["messages"][-1]["content"]
    fake.script(CHAT_ROUTE, Reply.error(400, "1301", "unsafe"))
    (tmp_path / "work" / "in.txt").write_text("bad idea\n", encoding="utf-8")
    (tmp_path / "work" / "in2.txt").write_text("bad idea\na fox\n", encoding="utf-8")
    result = cli("batch", "in.txt", "--enhance", "-o", "out", "-j", "1")
    assert result.exit_code == 6
    assert _images(fake) == 0 and "enhancement failed" in result.stderr
    fake.script(CHAT_ROUTE, Reply.error(400, "1301", "unsafe"))
    result = cli("batch", "in2.txt", "--enhance", "-o", "out2", "-j", "1", "--json")
    assert result.exit_code == 6
    assert fake.count(SYNC_ROUTE) == 1 and fake.seen(SYNC_ROUTE)[0].body["prompt"] == "REWRITTEN a fox"
    invalid = [json.loads(line) for line in result.stdout.splitlines() if '"invalid"' in line]
    assert invalid and invalid[0]["error"]["code"] == "CONTENT_BLOCKED"


def test_again_reuses_the_recorded_rewrite(cli, fake):
    fake.chat_reply = REWRITE
    assert cli("generate", "一只猫", "--enhance", "-o", "out").exit_code == 0
    entry = json.loads(cli("history", "--json").stdout)[0]
    assert cli("again", str(entry["id"]), "-o", "out").exit_code == 0
    assert fake.count(CHAT_ROUTE) == 1 and fake.seen(SYNC_ROUTE)[-1].body["prompt"] == REWRITE
    fake.chat_reply = "另一种改写"
    assert cli("again", str(entry["id"]), "-o", "out", "--enhance").exit_code == 0
    assert fake.count(CHAT_ROUTE) == 2 and fake.seen(SYNC_ROUTE)[-1].body["prompt"] == "另一种改写"
    assert cli("again", str(entry["id"]), "-o", "out", "--no-enhance").exit_code == 0
    assert fake.seen(SYNC_ROUTE)[-1].body["prompt"] == "一只猫"
