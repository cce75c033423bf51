"""`glm-image batch` against the fake upstream: formats, validation, resume, storms, interrupts."""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path

from glm_image_cli.core.manifest import Manifest
from tests.fake_bigmodel import SYNC_ROUTE, Reply
from tests.test_console_script import spawn_batch


def prompts_sent(fake) -> Counter[str]:
    return Counter(call.body["prompt"] for call in fake.seen(SYNC_ROUTE))


def manifest_states(folder: str = "out") -> dict[str, str]:
    return {key: record["state"] for key, record in Manifest(Path(folder) / "manifest.jsonl").states.items()}


def test_text_file_with_bom_crlf_and_comments(cli, fake) -> None:
    Path("prompts.txt").write_bytes("\ufeff# my prompts\r\n一只橘猫\r\n\r\na red fox\r\n".encode())
    result = cli("batch", "prompts.txt", "-o", "out", "--style", "水彩")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in Path("out").glob("*.png")) == ["0001-一只橘猫.png", "0002-a-red-fox.png"]
    assert prompts_sent(fake) == Counter({"一只橘猫，水彩画风格，柔和晕染，透明色层，纸张纹理": 1,
                                          "a red fox, watercolor painting, soft washes, translucent layers, "
                                          "paper texture": 1})
    assert sorted(manifest_states().values()) == ["done", "done"]
    assert "made" in result.stderr and not Path("out/failed.jsonl").exists()


def test_jsonl_items_override_the_flags(cli, fake) -> None:
    Path("items.jsonl").write_text(
        '{"prompt": "城市夜景", "style": "赛博朋克", "size": "1344x768", "n": 2, "name": "city"}\n'
        '{"prompt": "a cat", "negative": "blur", "model": "cogview-3-flash"}\n', encoding="utf-8")
    result = cli("batch", "items.jsonl", "-o", "out", "-m", "cogview-4")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in Path("out").glob("*.png")) == ["0002-a-cat.png", "city-1.png", "city-2.png"]
    bodies = sorted((c.body for c in fake.seen(SYNC_ROUTE)), key=lambda b: b["prompt"])
    assert bodies[0] == {"model": "cogview-3-flash", "prompt": "a cat. Avoid: blur.", "size": "1024x1024"}
    assert {b["size"] for b in bodies[1:]} == {"1344x768"} and {b["model"] for b in bodies[1:]} == {"cogview-4"}


def test_csv_with_a_header(cli, fake) -> None:
    Path("items.csv").write_text("prompt,style,n\n一只橘猫,卡通,1\n\"a fox, running\",,2\n", encoding="utf-8")
    assert cli("batch", "items.csv", "-o", "out").exit_code == 0
    assert prompts_sent(fake)["a fox, running"] == 2
    assert len(list(Path("out").glob("*.png"))) == 3


def test_stdin_is_sniffed_or_told_its_format(cli, fake) -> None:
    assert cli("batch", "-", "-o", "out", input='{"prompt": "from stdin"}\n').exit_code == 0
    assert cli("batch", "-", "-o", "out", "--format", "txt", input="plain line\n").exit_code == 0
    assert set(prompts_sent(fake)) == {"from stdin", "plain line"}


def test_every_invalid_line_is_reported_and_nothing_is_sent(cli, fake) -> None:
    Path("bad.jsonl").write_text('{"prompt": "fine"}\n{"prompt": "a", "size": "10x10"}\nnot json\n'
                                 '{"prompt": "b", "colour": "red"}\n{"style": "卡通"}\n{"prompt": "c", "n": 99}\n',
                                 encoding="utf-8")
    result = cli("batch", "bad.jsonl", "-o", "out")
    assert result.exit_code == 2
    for line in ("line 2: Size 10x10", "line 3: not valid JSON", "line 4: unknown field(s) colour",
                 "line 5: no 'prompt' field", "line 6: -n/--samples must be between 1 and 10"):
        assert line in result.stderr
    assert "5 invalid line(s)" in result.stderr
    assert fake.requests == [] and not Path("out").exists()
    result = cli("batch", "bad.jsonl", "-o", "out", "--skip-invalid")
    assert result.exit_code == 0 and prompts_sent(fake) == Counter({"fine": 1})


def test_unreadable_inputs(cli, fake) -> None:
    assert "does not exist" in cli("batch", "nope.txt").stderr
    Path("latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    result = cli("batch", "latin1.txt")
    assert result.exit_code == 2 and "not UTF-8" in result.stderr
    Path("empty.txt").write_text("# nothing\n\n")
    assert "has no prompts" in cli("batch", "empty.txt").stderr


def test_dry_run_sends_nothing_and_estimates_cost(cli, fake) -> None:
    Path("p.txt").write_text("one\ntwo\nthree\n")
    result = cli("batch", "p.txt", "-n", "2", "--dry-run", "-o", "out")
    assert result.exit_code == 0
    assert "3 item(s), 6 image(s): 6 to make" in result.stdout
    assert "Estimated cost: 0.36 CNY" in result.stdout
    plan = json.loads(cli("batch", "p.txt", "-m", "glm-image", "--dry-run", "--json").stdout)
    assert plan == {"type": "plan", "items": 3, "images": 3, "to_run": 3, "done": 0, "uncertain": 0, "skipped": 0,
                    "capped": 0, "models": {"glm-image": 3}, "estimated_cost": 0.3, "currency": "CNY",
                    "unknown_price_images": 0}
    assert fake.requests == []


def test_failures_are_retried_on_the_next_run_and_successes_never_repeat(cli, fake) -> None:
    Path("p.txt").write_text("alpha\nbeta\ngamma\n")
    fake.script(SYNC_ROUTE, Reply.error(400, "1301", "unsafe"))
    result = cli("batch", "p.txt", "-o", "out", "-j", "1")
    assert result.exit_code == 6
    failed = Path("out/failed.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["prompt"] for line in failed] == ["alpha"]
    assert "CONTENT_BLOCKED" in result.stderr
    assert cli("batch", "p.txt", "-o", "out", "--no-retry-failed").exit_code == 6
    result = cli("batch", "p.txt", "-o", "out")
    assert result.exit_code == 0 and "2 image(s) already made are skipped" in result.stderr
    assert prompts_sent(fake) == Counter({"alpha": 2, "beta": 1, "gamma": 1})  # the refusal was not billed
    assert not Path("out/failed.jsonl").exists()
    assert cli("batch", "p.txt", "-o", "out").exit_code == 0
    assert sum(prompts_sent(fake).values()) == 4


def test_failed_file_can_be_fed_back(cli, fake) -> None:
    Path("p.txt").write_text("alpha\nbeta\n")
    fake.script(SYNC_ROUTE, Reply.error(400, "1214", "size invalid"))
    cli("batch", "p.txt", "-o", "out", "-j", "1", "--style", "油画")
    result = cli("batch", "out/failed.jsonl", "-o", "out")
    assert result.exit_code == 0
    assert Path("out/0001-alpha.png").exists()
    assert prompts_sent(fake)[fake.seen(SYNC_ROUTE)[0].body["prompt"]] == 2


def test_duplicate_prompts_get_their_own_images(cli, fake) -> None:
    Path("p.txt").write_text("same\nsame\n")
    assert cli("batch", "p.txt", "-o", "out").exit_code == 0
    assert cli("batch", "p.txt", "-o", "out").exit_code == 0
    assert prompts_sent(fake) == Counter({"same": 2})


def test_rate_limit_storm_finishes_with_less_concurrency(cli, fake) -> None:
    Path("p.txt").write_text("\n".join(f"prompt {i}" for i in range(8)))
    fake.script(SYNC_ROUTE, *[Reply.error(429, "1302", "Rate limit reached", retry_after="0")] * 10)
    result = cli("batch", "p.txt", "-o", "out", "-j", "4")
    assert result.exit_code == 0, result.stderr
    assert len(list(Path("out").glob("*.png"))) == 8
    assert fake.max_in_flight <= 4
    assert sum(1 for call in fake.seen(SYNC_ROUTE)) == 18  # 8 images + 10 refused (unbilled) attempts


def test_max_images_caps_the_spend(cli, fake) -> None:
    Path("p.txt").write_text("a\nb\nc\nd\n")
    result = cli("batch", "p.txt", "-o", "out", "--max-images", "2", "--json")
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["type"] for line in lines] == ["item", "item", "summary"]
    assert lines[-1]["done"] == 2 and lines[-1]["not_sent"] == 2
    assert fake.count(SYNC_ROUTE) == 2
    assert cli("batch", "p.txt", "-o", "out").exit_code == 0
    assert fake.count(SYNC_ROUTE) == 4


def test_json_lines_schema(cli, fake) -> None:
    Path("p.txt").write_text("a\n")
    item, summary = (json.loads(line) for line in cli("batch", "p.txt", "-o", "out", "--json").stdout.splitlines())
    assert set(item) == {"type", "key", "line", "item", "sample", "ok", "path", "prompt", "prompt_sent",
                         "enhanced_prompt", "model", "size", "request_id", "content_filter", "seconds", "error"}
    assert set(summary) == {"type", "total", "done", "skipped", "failed", "uncertain", "not_sent",
                            "failures_by_code", "seconds", "images_per_minute", "exit_code", "stopped_by", "limits"}


def test_crash_mid_batch_then_resume_pays_each_image_once(cli, fake) -> None:
    Path("p.txt").write_text("\n".join(f"prompt {i}" for i in range(1, 7)))
    fake.hold_after = 2  # the 3rd and 4th calls hang, as if the upstream were slow
    process = spawn_batch(fake, "p.txt", "-o", "out", "-j", "2")
    try:
        finished = 0
        while finished < 2:  # progress lines come after each image is recorded in the manifest
            line = process.stderr.readline()
            assert line, "the batch ended early"
            finished += "✓" in line
        assert fake.wait_for(SYNC_ROUTE, 4)
        process.kill()  # a crash: no chance to clean up
        process.communicate(timeout=30)
    finally:
        process.kill()
    fake.released.set()
    states = Counter(manifest_states().values())
    assert states == Counter({"done": 2, "dispatched": 2})
    result = cli("batch", "p.txt", "-o", "out", "-j", "2")
    assert result.exit_code == 9  # two images may have been billed: not resent, but not silently dropped
    assert "2 image(s) may have been billed (their answer was lost or the run stopped" in result.stderr
    assert set(prompts_sent(fake).values()) == {1} and len(prompts_sent(fake)) == 6
    result = cli("batch", "p.txt", "-o", "out", "--retry-unsafe")
    assert result.exit_code == 0
    assert len(list(Path("out").glob("*.png"))) == 6


def test_ctrl_c_lets_in_flight_images_finish_and_exits_130(cli, fake) -> None:
    Path("p.txt").write_text("\n".join(f"prompt {i}" for i in range(1, 9)))
    fake.hold_after = 0
    process = spawn_batch(fake, "p.txt", "-o", "out", "-j", "2")
    try:
        assert fake.wait_for(SYNC_ROUTE, 2)
        process.send_signal(signal.SIGINT)
        line = process.stderr.readline()
        while line and "waiting for" not in line:
            line = process.stderr.readline()
        assert "waiting for 2 in flight" in line
        fake.released.set()
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert len(stdout.splitlines()) == 2  # the two images in flight were kept, and their paths printed
    lines = stderr.strip().splitlines()
    assert lines[-2].endswith("Interrupted.")
    assert lines[-1] == "To resume (6 image(s) not sent), run: glm-image batch p.txt -o out -j 2"
    assert fake.count(SYNC_ROUTE) == 2
    assert Counter(manifest_states().values()) == Counter({"done": 2})
    assert cli("batch", "p.txt", "-o", "out").exit_code == 0
    assert set(prompts_sent(fake).values()) == {1} and len(prompts_sent(fake)) == 8


def test_torn_manifest_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    path.write_text('{"key": "a", "state": "done"}\n{"key": "b", "sta', encoding="utf-8")
    assert Manifest(path).states.keys() == {"a"}


def test_json_lines_stay_json_lines_to_the_end_and_quiet_drops_the_summary(cli, fake) -> None:
    Path("bad.jsonl").write_text('{"prompt": "ok"}\n{"nope": 1}\n', encoding="utf-8")
    result = cli("batch", "bad.jsonl", "-o", "out", "--json")
    assert result.exit_code == 2
    records = [json.loads(line) for line in result.stdout.splitlines()]  # every line is one JSON object
    assert records[0]["type"] == "invalid" and records[-1]["error"]["code"] == "BATCH_INVALID"
    Path("p.txt").write_text("one\n", encoding="utf-8")
    quiet = cli("batch", "p.txt", "-o", "out", "-q")
    assert quiet.exit_code == 0 and "summary" not in quiet.stderr.lower()
