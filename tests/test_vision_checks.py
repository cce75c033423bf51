"""--check, --best-of, `check` and `caption` against the fake upstream's scripted vision model (tests/fake_vision)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from glm_image_cli.core.ledger import Ledger
from glm_image_cli.core.textmatch import compare, requested_texts
from tests.fake_bigmodel import CHAT_ROUTE, SYNC_ROUTE, Reply
from tests.fake_vision import FakeVision, image_key, image_parts

POSTER = "海报，上面写着'新年快乐'"


@pytest.fixture
def vision(fake) -> FakeVision:
    fake.vision = FakeVision(score=8, text="新年快乐")
    return fake.vision


def images(folder: str = "glm-images") -> list[Path]:
    return sorted(Path(folder).glob("*.png"))


def recipe(path: Path) -> dict:
    from glm_image_cli.storage.pngmeta import recipe_in_file

    found = recipe_in_file(path)
    assert found is not None
    return found


def test_check_puts_the_verdict_in_json_recipe_history_and_info(cli, fake, vision) -> None:
    result = cli("generate", POSTER, "--check", "--json")
    assert result.exit_code == 0, result.stderr
    [record] = json.loads(result.stdout)
    check = record["check"]
    assert check["status"] == "checked" and check["score"] == 8.0 and check["model"] == "glm-4.6v-flash"
    assert check["texts"] == [{"wanted": "新年快乐", "ned": 1.0, "ok": True}] and check["text_ok"] is True
    assert check["ned"] == 1.0 and check["word_accuracy"] == 1.0
    [image] = images()
    assert recipe(image)["check"] == check
    # asked in the prompt's language, about the prompt as typed, with the fresh URL (nothing uploaded)
    [body] = vision.seen
    assert body["model"] == "glm-4.6v-flash" and body["response_format"] == {"type": "json_object"}
    [part] = image_parts(body)
    assert part.startswith("http://127.0.0.1") and image_key(part) == "1"
    assert "提示词：" + POSTER in body["messages"][0]["content"][1]["text"]
    shown = cli("info", str(image))
    assert "8.0/10" in shown.stdout and "新年快乐" in shown.stdout
    from glm_image_cli.storage.verdicts import CheckRecords

    assert CheckRecords().latest([str(image.resolve())])[str(image.resolve())]["score"] == 8.0


def test_a_free_check_is_in_the_ledger_at_zero(cli, fake, vision) -> None:
    assert cli("generate", "a red fox", "--check").exit_code == 0
    rows = [(row.command, row.model, row.cost, row.outcome) for row in Ledger().entries()]
    assert ("check", "glm-4.6v-flash", 0.0, "saved") in rows
    assert next(row for row in rows if row[0] == "generate")[3] == "saved"


def test_text_mismatch_is_flagged_with_ned_and_word_accuracy(cli, fake, vision) -> None:
    vision.text = "新年快东"
    result = cli("generate", POSTER, "--check", "--json")
    check = json.loads(result.stdout)[0]["check"]
    assert check["text_ok"] is False and check["ned"] == 0.75 and check["word_accuracy"] == 0.75
    assert "text ✗" in result.stderr and "“新年快乐”" in result.stderr


@pytest.mark.parametrize("answer", ["prose", Reply.error(400, "1301", "图片输入包含不安全或敏感内容")])
def test_an_unreadable_or_refused_check_leaves_the_image_saved_and_unchecked(cli, fake, vision, answer) -> None:
    vision.script.append(answer)
    result = cli("generate", "a red fox", "--check", "--json")
    assert result.exit_code == 0, result.stderr
    [record] = json.loads(result.stdout)
    assert record["ok"] is True and Path(record["path"]).exists()
    assert record["check"]["status"] == "unchecked" and record["check"]["reason"]
    assert "unchecked" in result.stderr and "the image is kept" in result.stderr
    assert fake.count(SYNC_ROUTE) == 1 and fake.count(CHAT_ROUTE) == 1  # nothing bought or asked again


def test_a_fenced_answer_amid_prose_is_read(cli, fake, vision) -> None:
    vision.script.append("fenced")
    result = cli("generate", "a red fox", "--check", "--json")
    assert json.loads(result.stdout)[0]["check"]["score"] == 8.0


def test_best_of_three_bills_three_and_keeps_the_highest_scored(cli, fake, vision) -> None:
    vision.score = lambda key: {"1": 5, "2": 9, "3": 7}[key]
    result = cli("generate", POSTER, "--best-of", "3", "--check", "--json")
    assert result.exit_code == 0, result.stderr
    assert fake.count(SYNC_ROUTE) == 3 and fake.count(CHAT_ROUTE) == 3
    records = json.loads(result.stdout)
    kept = [r for r in records if not r.get("candidate")]
    assert len(kept) == 1 and kept[0]["check"]["score"] == 9.0
    [image] = images()
    assert str(image) == kept[0]["path"]
    candidates = sorted(Path("glm-images/candidates").iterdir())
    assert len(candidates) == 2
    listing = recipe(image)["candidates"]
    assert sorted(item["check"]["score"] for item in listing) == [5.0, 7.0, 9.0]
    assert [item["kept"] for item in listing].count(True) == 1
    assert {row.model for row in Ledger().entries() if row.command == "generate"} == {"cogview-4-250304"}
    assert len([row for row in Ledger().entries() if row.command == "generate"]) == 3


def test_best_of_prefers_a_text_match_to_a_higher_score(cli, fake, vision) -> None:
    vision.score = lambda key: {"1": 9, "2": 6}[key]
    vision.text = lambda key: "新年快东" if key == "1" else "新年快乐"
    records = json.loads(cli("generate", POSTER, "--best-of", "2", "--json").stdout)
    [kept] = [r for r in records if not r.get("candidate")]
    assert kept["check"]["text_ok"] is True and kept["check"]["score"] == 6.0


def test_best_of_can_discard_the_candidates(cli, fake, vision) -> None:
    result = cli("generate", "a red fox", "--best-of", "2", "--discard-candidates")
    assert result.exit_code == 0 and len(images()) == 1
    assert not Path("glm-images/candidates").exists()
    assert len(result.stdout.split()) == 1


def test_best_of_out_of_range_is_refused_before_anything_is_sent(cli, fake, vision) -> None:
    result = cli("generate", "a red fox", "--best-of", "9")
    assert result.exit_code == 2 and "--best-of" in result.stderr
    assert fake.count(SYNC_ROUTE) == 0


def test_without_a_fresh_url_the_saved_file_goes_as_bare_base64(cli, fake, vision) -> None:
    fake.result_mode = "b64"
    assert cli("generate", "a red fox", "--check").exit_code == 0
    [part] = image_parts(vision.seen[0])
    assert not part.startswith("data:")
    assert base64.b64decode(part).startswith(b"\x89PNG")


def test_check_on_a_folder_judges_each_image_against_its_own_prompt(cli, fake, vision) -> None:
    assert cli("generate", "a red fox", "-n", "2").exit_code == 0
    result = cli("check", "glm-images")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all("8.0/10" in line for line in lines)
    assert len(vision.seen) == 2
    for body in vision.seen:
        assert "Prompt: a red fox" in body["messages"][0]["content"][1]["text"]
        assert not image_parts(body)[0].startswith(("http", "data:"))  # no fresh URL: the file, as base64
    for image in images():
        assert recipe(image)["check"]["score"] == 8.0


def test_check_needs_a_prompt_for_a_foreign_image(cli, fake, vision, tmp_path) -> None:
    foreign = tmp_path / "foreign.png"
    foreign.write_bytes(fake.image_bytes)
    result = cli("check", str(foreign))
    assert "unchecked" in result.stderr and "--prompt" in result.stderr and not vision.seen
    result = cli("check", str(foreign), "--prompt", "an orange square", "--json")
    assert json.loads(result.stdout)[0]["check"]["score"] == 8.0


def test_check_of_a_missing_file_is_a_usage_error(cli, fake, vision) -> None:
    result = cli("check", "nowhere.png")
    assert result.exit_code == 2 and "nowhere.png" in result.stderr


def test_caption_writes_a_description_pillow_reads(cli, fake, vision) -> None:
    from PIL import Image

    assert cli("generate", "a red fox").exit_code == 0
    vision.caption = "一只红狐狸站在雪地里。"
    result = cli("caption", "glm-images", "--lang", "zh")
    assert result.exit_code == 0, result.stderr
    [image] = images()
    with Image.open(image) as opened:
        assert opened.info["Description"] == "一只红狐狸站在雪地里。"
    assert "用一句中文描述" in vision.seen[0]["messages"][0]["content"][1]["text"]
    assert recipe(image)["prompt"] == "a red fox"  # the recipe is kept beside it


def test_generate_caption_writes_the_description(cli, fake, vision) -> None:
    from PIL import Image

    assert cli("generate", "a red fox", "--caption").exit_code == 0
    [image] = images()
    with Image.open(image) as opened:
        assert opened.info["Description"] == vision.caption


def test_too_large_an_image_without_pillow_is_skipped_naming_the_extra(cli, fake, vision, monkeypatch) -> None:
    from glm_image_cli.core import vision as vision_module
    from glm_image_cli.storage import convert

    monkeypatch.setattr(vision_module, "MAX_IMAGE_BYTES", 10)
    monkeypatch.setattr(convert, "converter_available", lambda: False)
    fake.result_mode = "b64"
    result = cli("generate", "a red fox", "--check", "--json")
    assert result.exit_code == 0
    check = json.loads(result.stdout)[0]["check"]
    assert check["status"] == "unchecked" and "glm-image[preview]" in check["reason"]
    assert not vision.seen


def test_too_large_an_image_with_pillow_is_scaled_down_first(cli, fake, vision, monkeypatch) -> None:
    from glm_image_cli.core import vision as vision_module

    monkeypatch.setattr(vision_module, "MAX_IMAGE_SIDE", 4)
    fake.result_mode = "b64"
    assert cli("generate", "a red fox", "--check").exit_code == 0
    sent = base64.b64decode(image_parts(vision.seen[0])[0])
    assert sent.startswith(b"\xff\xd8")  # a JPEG, within the limits


def test_a_check_does_not_wait_for_an_image_slot() -> None:
    from glm_image_cli.core.limits import Limiter

    limiter = Limiter(1)
    limiter.own_pool("glm-4.6v-flash")
    assert limiter.acquire("cogview-4")
    assert limiter.acquire("glm-4.6v-flash")  # -j 1 and an image in flight: the check still goes
    limiter.release("glm-4.6v-flash", True)
    assert not limiter.acquire("cogview-4", cancelled=lambda: True)  # images still wait for their own slot


def test_the_requested_text_is_found_in_every_quoting_style() -> None:
    assert requested_texts("海报，上面写着'新年快乐'") == ["新年快乐"]
    assert requested_texts("“春节” and 「福」") == ["春节", "福"]
    assert requested_texts('a sign that says "OPEN"') == ["OPEN"]
    assert requested_texts("a shop sign reading Fresh Bread, at dawn") == ["Fresh Bread"]
    assert requested_texts("a cat's hat") == []
    matches, ned, accuracy = compare(["Happy New Year"], "HAPPY NEW YEAR! from all of us")
    assert matches[0].ok and ned == 1.0 and accuracy == 1.0
    matches, ned, accuracy = compare(["Happy New Year"], "HAPY NEW YEAR")
    assert not matches[0].ok and 0.9 < ned < 1.0 and accuracy == pytest.approx(0.667)


# --- batch: the item is the unit of resume ------------------------------------------------------------------

def test_a_batch_rerun_makes_no_image_call_and_no_check_call(cli, fake, vision) -> None:
    Path("prompts.txt").write_text("a red fox\n一只橘猫\n", encoding="utf-8")
    first = cli("batch", "prompts.txt", "-o", "out", "--check", "--best-of", "2", "--json")
    assert first.exit_code == 0, first.stderr
    assert fake.count(SYNC_ROUTE) == 4 and len(vision.seen) == 4
    assert len(list(Path("out").glob("*.png"))) == 2 and len(list(Path("out/candidates").glob("*.png"))) == 2
    for image in Path("out").glob("*.png"):
        assert len(recipe(image)["candidates"]) == 2
    second = cli("batch", "prompts.txt", "-o", "out", "--check", "--best-of", "2")
    assert second.exit_code == 0, second.stderr
    assert fake.count(SYNC_ROUTE) == 4 and len(vision.seen) == 4  # nothing bought, nothing asked again
    assert len(list(Path("out").glob("*.png"))) == 2 and len(list(Path("out/candidates").glob("*.png"))) == 2


def test_a_batch_line_may_ask_for_its_own_check(cli, fake, vision) -> None:
    Path("items.jsonl").write_text('{"prompt": "a red fox", "check": true}\n{"prompt": "a blue bird"}\n',
                                   encoding="utf-8")
    result = cli("batch", "items.jsonl", "-o", "out", "--json")
    assert result.exit_code == 0, result.stderr
    assert len(vision.seen) == 1 and "a red fox" in vision.seen[0]["messages"][0]["content"][1]["text"]
    [verdict] = [line for line in map(json.loads, result.stdout.splitlines()) if line["type"] == "check"]
    assert verdict["item"] == 1 and verdict["check"]["score"] == 8.0 and verdict["candidate"] is False
    assert recipe(Path("out/0001-a-red-fox.png"))["check"]["score"] == 8.0
    assert "check" not in recipe(Path("out/0002-a-blue-bird.png"))


def test_a_batch_image_saved_before_its_check_is_checked_on_the_rerun_without_buying_it(cli, fake, vision) -> None:
    Path("prompts.txt").write_text("a red fox\n", encoding="utf-8")
    assert cli("batch", "prompts.txt", "-o", "out").exit_code == 0  # made without --check
    result = cli("batch", "prompts.txt", "-o", "out", "--check")
    assert result.exit_code == 0, result.stderr
    assert fake.count(SYNC_ROUTE) == 1 and len(vision.seen) == 1
    assert recipe(Path("out/0001-a-red-fox.png"))["check"]["score"] == 8.0
    assert cli("batch", "prompts.txt", "-o", "out", "--check").exit_code == 0
    assert fake.count(SYNC_ROUTE) == 1 and len(vision.seen) == 1


# --- the gallery: a badge, the failing items, the caption as alt text --------------------------------------

def test_the_gallery_shows_the_badge_the_failing_text_and_the_caption_as_alt(cli, fake, vision) -> None:
    import html
    import re

    from glm_image_cli.storage.gallery import collect_cards, render_html

    vision.text = "新年快东"
    vision.caption = "一张写着“新年快东”的橙色海报。"
    assert cli("generate", POSTER, "--check", "--caption", "-o", "out").exit_code == 0
    page = render_html(collect_cards(Path("out")), "out")
    [alt] = re.findall(r'<img [^>]*alt="([^"]*)"', page)
    assert html.unescape(alt) == "一张写着“新年快东”的橙色海报。"
    assert '<span class="badge good"' in page and "8/10" in page
    assert 'class="failing">✗ “新年快乐”' in page


@pytest.mark.skipif(__import__("tests.test_metadata_history", fromlist=["chromium"]).chromium() is None,
                    reason="no headless Chromium here (.ci/run installs Debian's chromium)")
def test_the_gallery_alt_text_in_a_real_headless_browser(cli, fake, vision) -> None:
    import re

    from tests.test_metadata_history import dump_dom

    vision.caption = "An orange square on a white table."
    assert cli("generate", "a red fox", "--caption", "-o", "out").exit_code == 0
    vision.caption = "A small blue bird on a branch."  # a check's caption is the alt text too
    assert cli("generate", "a blue bird", "--check", "-o", "out").exit_code == 0
    assert cli("gallery", "out").exit_code == 0
    dom = dump_dom(Path("out/index.html"))
    assert sorted(re.findall(r'<img loading="lazy" src="[^"]*" alt="([^"]*)"', dom)) == [
        "A small blue bird on a branch.", "An orange square on a white table."]
    assert re.search(r'<span class="badge good" title="[^"]*">8/10</span>', dom)
    assert re.search(r'<span id="count">2 / 2</span>', dom)


# --- the other front ends: serve (both APIs), MCP, chat -----------------------------------------------------

def test_serve_answers_the_verdict_in_both_apis_and_the_best_of_n(serve, fake, vision) -> None:
    import httpx

    vision.score = lambda key: float(key)  # the fake's numbers: image 1, its check 2, then images 3 and 4
    served = serve()
    answer = httpx.post(f"{served.url}/txt2img", json={"prompt": "a red fox", "check": True}, timeout=30).json()
    assert answer["count"] == 1 and answer["images"][0]["check"]["score"] == 1.0
    best = httpx.post(f"{served.url}/v1/images/generations", timeout=30,
                      json={"prompt": "a red fox", "best_of": 2, "response_format": "b64_json"}).json()
    [image] = best["data"]
    assert image["check"]["score"] == 4.0 and base64.b64decode(image["b64_json"]).startswith(b"\x89PNG")
    assert fake.count(SYNC_ROUTE) == 3 and len(vision.seen) == 3
    assert not image_parts(vision.seen[-1])[0].startswith("data:")
    plain = httpx.post(f"{served.url}/v1/images/generations", json={"prompt": "a cat"}, timeout=30).json()
    assert "check" not in plain["data"][0] and len(vision.seen) == 3
    bad = httpx.post(f"{served.url}/v1/images/generations", json={"prompt": "a cat", "best_of": 9}, timeout=30)
    assert bad.status_code == 400 and fake.count(SYNC_ROUTE) == 4


def test_mcp_generate_image_checks_and_keeps_the_best(fake, tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    from tests.test_mcp import run_session

    fake.vision = FakeVision(score=lambda key: {"1": 3, "2": 8}.get(key, 5))
    _, (made,) = run_session(fake, tmp_path, [
        ("generate_image", {"prompt": "a red fox", "best_of": 2, "output_dir": str(tmp_path / "made")})])
    assert not made.is_error
    images = json.loads(made.content[0].text)["images"]
    [kept] = [image for image in images if not image.get("candidate")]
    assert kept["check"]["score"] == 8.0 and Path(kept["path"]).parent == tmp_path / "made"
    assert len(list((tmp_path / "made" / "candidates").iterdir())) == 1
    assert fake.count(SYNC_ROUTE) == 2


def test_chat_check_on_shows_each_verdict(fake, vision) -> None:
    from tests.test_chat import session

    chat, io = session()
    assert chat.handle("/check on") and chat.handle("/enhance off") and chat.handle("a harbour at dawn")
    assert "check: on" in io.said("note")
    assert any(line.startswith("check ") and "8.0/10" in line for line in io.said("note"))
    assert len(vision.seen) == 1
    assert chat.handle("/check off") and chat.handle("a harbour at dusk") and len(vision.seen) == 1


def test_verdicts_are_said_in_the_users_language(cli, fake, vision) -> None:
    vision.text = "新年快东"
    result = cli("--lang", "zh", "generate", POSTER, "--check")
    assert "检查 " in result.stderr and "文字 ✗ 识别为“新年快东”" in result.stderr and "未满足" in result.stderr


def test_ctrl_c_while_waiting_for_verdicts_keeps_the_image_and_marks_it_unchecked(fake, vision, tmp_path) -> None:
    from glm_image_cli import Studio
    from glm_image_cli.core.bestof import VisionSetup
    from glm_image_cli.core.checks import CheckOptions
    from glm_image_cli.core.runner import ImageOutcome, SampleUnit

    image = tmp_path / "made.png"
    image.write_bytes(fake.image_bytes)
    notices: list = []
    with Studio.from_config() as studio:
        session = VisionSetup(CheckOptions(check=True), best_of=2).start(studio, notices.append)
        outcomes = [ImageOutcome(SampleUnit(studio.plan("a red fox", samples=2), sample), path=image)
                    for sample in (1, 2)]
        for outcome in outcomes:
            session.futures[id(outcome.unit)] = _StillOut()
        assert session.finish(outcomes, notices.append) is True  # the run says it was interrupted
    assert [outcome.check["reason_code"] for outcome in outcomes] == ["interrupted", "interrupted"]
    assert not any(outcome.candidate for outcome in outcomes) and image.exists()  # nothing chosen, nothing moved
    assert not vision.seen


class _StillOut:
    """A verdict still out when the user pressed Ctrl-C."""

    def result(self):
        raise KeyboardInterrupt


def test_history_and_show_carry_the_verdict(cli, fake, vision) -> None:
    assert cli("generate", "a red fox", "--check").exit_code == 0
    [entry] = json.loads(cli("history", "--json").stdout)
    assert entry["check"]["score"] == 8.0
    listing = cli("history").stdout
    assert "Check" in listing and "8.0/10" in listing
    assert "8.0/10" in cli("history", "show", str(entry["id"])).stdout
    from glm_image_cli.cli.commands.show_cmd import caption

    [image] = images()
    assert caption(image, recipe(image)).endswith("· 8.0/10")


# --- a priced check model: consent, budget, ledger -----------------------------------------------------------

def test_a_priced_check_model_is_in_the_ledger_consent_and_budget(cli, fake, vision, isolated: Path) -> None:
    from tests.test_prices_and_chat_spend import write_config

    write_config(isolated, 'check-model = "glm-4.6v"\nconfirm-above = 0.2\n[prices]\n"glm-4.6v" = 0.05\n'
                           '"cogview-4-250304" = 0.1\n')
    refused = cli("generate", "a red fox", "--best-of", "2")  # 2 × 0.1 + 2 × 0.05 > 0.2: asked, no terminal
    assert refused.exit_code == 2 and "0.30" in refused.stderr and fake.count(SYNC_ROUTE) == 0
    assert cli("generate", "a red fox", "--best-of", "2", "--yes").exit_code == 0
    rows = [(row.command, row.model, row.cost) for row in Ledger().entries()]
    assert sorted(rows) == [("check", "glm-4.6v", 0.05), ("check", "glm-4.6v", 0.05),
                            ("generate", "cogview-4-250304", 0.1), ("generate", "cogview-4-250304", 0.1)]
    assert vision.seen[0]["model"] == "glm-4.6v"


def test_an_unpriced_check_model_under_a_budget_is_refused_before_anything_is_sent(cli, fake, vision,
                                                                                   isolated: Path) -> None:
    from tests.test_prices_and_chat_spend import write_config

    write_config(isolated, 'check-model = "glm-4.5v"\nbudget-daily = 5\n')
    result = cli("generate", "a red fox", "--check")
    assert result.exit_code == 14 and "glm-4.5v" in result.stderr
    assert fake.count(SYNC_ROUTE) == 0 and not vision.seen


def test_a_lost_check_answer_is_unchecked_and_never_sent_again(cli, fake, vision) -> None:
    vision.script.append(Reply(drop=True))
    result = cli("generate", "a red fox", "--check", "--json")
    assert result.exit_code == 0, result.stderr
    [record] = json.loads(result.stdout)
    assert record["check"]["status"] == "unchecked" and Path(record["path"]).exists()
    assert len(vision.seen) == 1 and fake.count(SYNC_ROUTE) == 1


def test_a_check_refused_for_concurrency_waits_and_goes_again(cli, fake, vision) -> None:
    vision.script.append(Reply.error(429, "1302", "您当前使用该API的并发数过高"))
    result = cli("generate", "a red fox", "--check", "--json")
    assert json.loads(result.stdout)[0]["check"]["score"] == 8.0
    assert len(vision.seen) == 2 and fake.count(SYNC_ROUTE) == 1


def test_the_library_api_checks_chooses_and_captions(fake, vision, tmp_path: Path) -> None:
    from glm_image_cli import Studio, Verdict, VisionSetup

    vision.score = lambda key: {"1": 5.0, "2": 9.5}.get(key, 6.0)
    with Studio.from_config() as studio:
        run = studio.generate(studio.plan("a red fox"), output_dir=tmp_path / "out",
                              vision=VisionSetup.of(check=True, best_of=2))
        [kept] = [result for result in run if not result.record.get("candidate")]
        assert kept.record["check"]["score"] == 9.5 and kept.path.parent == tmp_path / "out"
        found = studio.check([tmp_path / "out"], prompt="a red fox")
        assert [type(item.verdict) for item in found] == [Verdict] and found[0].path == kept.path
        captioned = studio.caption([kept.path], lang="en")
    assert captioned[0].verdict.caption == vision.caption
    assert fake.count(SYNC_ROUTE) == 2 and len(vision.seen) == 4


def test_a_batch_counts_priced_checks_in_its_consent(cli, fake, vision, isolated: Path) -> None:
    from tests.test_prices_and_chat_spend import write_config

    write_config(isolated, 'check-model = "glm-4.6v"\nconfirm-above = 0.5\n[prices]\n"glm-4.6v" = 0.2\n'
                           '"cogview-4-250304" = 0.1\n')
    Path("prompts.txt").write_text("a red fox\na blue bird\n", encoding="utf-8")
    assert cli("batch", "prompts.txt", "-o", "out").exit_code == 0  # 0.2: below the threshold
    Path("more.txt").write_text("a green frog\na grey cat\n", encoding="utf-8")
    refused = cli("batch", "more.txt", "-o", "more", "--check")  # 0.2 + 2 × 0.2 = 0.6: above it
    assert refused.exit_code == 2 and fake.count(SYNC_ROUTE) == 2 and not vision.seen


def test_no_text_read_at_all_is_said_plainly(cli, fake, vision) -> None:
    vision.text = ""
    result = cli("generate", POSTER, "--check", "--json")
    assert json.loads(result.stdout)[0]["check"]["word_accuracy"] == 0.0
    assert "text ✗ none read" in result.stderr
