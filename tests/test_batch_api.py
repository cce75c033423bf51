"""`batch --via batch-api`: the platform's Batch API at half price, against a fake of /files and /batches.

Every test counts what the fake upstream did (batches created, images made) and what is in the folder, not what
the tool says about itself: killed at any step and run again, one batch is created and every image saved once.
"""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pytest

from glm_image_cli.core.batchapi import split_parts
from glm_image_cli.core.ledger import Ledger
from glm_image_cli.storage.pngmeta import recipe_in_file
from tests.fake_batchapi import BATCHES_ROUTE, UPLOAD_ROUTE, FakeBatches
from tests.fake_bigmodel import FILE_ROUTE, SYNC_ROUTE, Reply
from tests.test_console_script import spawn_batch, wait_until_reached

PROMPTS = ["a red fox in snow", "a lighthouse at dusk", "FAIL a forbidden scene", "a bowl of noodles",
           "a paper crane"]
VIA = ("--via", "batch-api")


@pytest.fixture
def batches(fake, monkeypatch: pytest.MonkeyPatch) -> FakeBatches:
    """The fake's Batch API; the tool looks at a batch without pausing (the real default waits seconds)."""
    monkeypatch.setenv("GLM_IMAGE_BATCH_POLL", "0")
    mounted = FakeBatches(fake)
    mounted.fail_when = lambda body: (400, "1301", "系统检测到输入或生成内容可能包含不安全或敏感内容") \
        if body["prompt"].startswith("FAIL") else None

    def refused_directly(method: str, path: str, headers: dict, body: object) -> Reply | None:
        """The same prompt refused by a direct call, as the batch refuses its line."""
        if method == "POST" and path.endswith("/images/generations") and isinstance(body, dict):
            failure = mounted.fail_when(body)
            if failure is not None:
                return Reply.error(failure[0], failure[1], failure[2])
        return None

    fake.extensions.append(refused_directly)
    return mounted


def prompts(lines: list[str] = PROMPTS, name: str = "p.txt") -> str:
    Path(name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return name


def images(folder: str = "out") -> list[str]:
    return sorted(p.name for p in Path(folder).iterdir() if p.suffix == ".png" and not p.name.startswith("."))


def made_by_batches(batches: FakeBatches) -> int:
    """Images the fake's batches made (result lines that carry an image)."""
    made = 0
    for batch in batches.batches.values():
        if batch["output_file_id"]:
            made += len(batches.files[batch["output_file_id"]]["content"].splitlines())
    return made


def recipes(folder: str) -> dict[str, dict]:
    """Each image's recipe without what differs from call to call (ids, times, the upstream's URL)."""
    volatile = {"request_id", "created", "url", "time", "seconds", "date", "batch_key"}
    return {name: {k: v for k, v in (recipe_in_file(Path(folder) / name) or {}).items() if k not in volatile}
            for name in images(folder)}


def failed_lines(folder: str = "out") -> list[dict]:
    path = Path(folder) / "failed.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_a_batch_api_batch_makes_the_same_files_and_recipes_as_a_direct_batch(cli, fake, batches) -> None:
    prompts()
    direct = cli("batch", "p.txt", "-o", "direct", "--yes")
    via_api = cli("batch", "p.txt", "-o", "api", "--yes", *VIA)
    assert direct.exit_code == via_api.exit_code == 6, via_api.stderr  # one prompt refused, as directly
    assert images("api") == images("direct") and len(images("api")) == 4
    assert recipes("api") == recipes("direct")
    assert failed_lines("api") == failed_lines("direct")
    assert [line["prompt"] for line in failed_lines("api")] == ["FAIL a forbidden scene"]
    assert batches.created == 1 and fake.count(SYNC_ROUTE) == 5  # the direct run's 5 calls; none from the other
    lines = batches.lines_of(next(iter(batches.batches)))
    assert [line["url"] for line in lines] == ["/v4/images/generations"] * 5
    sent = sorted(json.dumps(seen.body, sort_keys=True) for seen in fake.seen(SYNC_ROUTE))
    assert sorted(json.dumps(line["body"], sort_keys=True) for line in lines) == sent  # the same requests
    assert "CONTENT_BLOCKED" in via_api.stderr and "Batch batch-" in via_api.stderr


def test_results_out_of_order_are_saved_under_their_own_names(cli, fake, batches) -> None:
    prompts([f"item {n} a lighthouse" for n in range(1, 7)])
    result = cli("batch", "p.txt", "-o", "out", "--yes", *VIA)
    assert result.exit_code == 0, result.stderr
    for name in images():  # the fake answers in reverse order; each file has its own prompt
        number = int(name.split("-")[0])
        assert (recipe_in_file(Path("out") / name) or {})["prompt"] == f"item {number} a lighthouse"
    manifest = [json.loads(line) for line in Path("out/manifest.jsonl").read_text().splitlines()]
    assert sum(1 for record in manifest if record["state"] == "done") == 6


def test_the_ledger_records_half_the_price_when_the_results_arrive(cli, fake, batches) -> None:
    prompts()
    plan = cli("batch", "p.txt", "-o", "out", "--dry-run", "--json", *VIA)
    estimate = json.loads(plan.stdout.splitlines()[-1])
    assert estimate["estimated_cost"] == pytest.approx(5 * 0.03)
    assert cli("batch", "p.txt", "-o", "out", "--yes", *VIA).exit_code == 6
    rows = [entry for entry in Ledger().entries() if entry.command == "batch"]
    assert sorted(entry.outcome for entry in rows) == ["failed", "saved", "saved", "saved", "saved"]
    assert all(entry.cost == pytest.approx(0.03) for entry in rows)


def test_prices_name_a_models_batch_price(cli, fake, batches, isolated: Path) -> None:
    isolated.parent.mkdir(parents=True, exist_ok=True)
    isolated.write_text('[prices]\n"batch:cogview-4-250304" = 0.02\n', encoding="utf-8")
    prompts()
    plan = cli("batch", "p.txt", "-o", "out", "--dry-run", "--json", *VIA)
    assert json.loads(plan.stdout.splitlines()[-1])["estimated_cost"] == pytest.approx(0.10)


def test_failed_lines_go_to_failed_jsonl_and_a_rerun_retries_only_them(cli, fake, batches) -> None:
    prompts()
    first = cli("batch", "p.txt", "-o", "out", "--yes", *VIA)
    assert first.exit_code == 6 and [line["prompt"] for line in failed_lines()] == ["FAIL a forbidden scene"]
    batches.fail_when = lambda body: None  # rephrased, say
    again = cli("batch", "p.txt", "-o", "out", "--yes", *VIA)
    assert again.exit_code == 0, again.stderr
    assert batches.created == 2 and len(batches.lines_of("batch-" + _last_id(batches))) == 1
    assert len(images()) == 5 and failed_lines() == []


def _last_id(batches: FakeBatches) -> str:
    return list(batches.batches)[-1].split("-", 1)[1]


def test_an_expired_batch_saves_what_was_made_and_the_next_run_asks_for_the_rest(cli, fake, batches) -> None:
    prompts(PROMPTS[:2] + PROMPTS[3:])
    batches.expire, batches.expire_done = True, 2
    first = cli("batch", "p.txt", "-o", "out", "--yes", *VIA)
    assert first.exit_code != 0 and "BATCH_EXPIRED" in first.stderr
    assert len(images()) == 2 and len(failed_lines()) == 2
    rows = [entry.outcome for entry in Ledger().entries()]
    assert sorted(rows) == ["failed", "failed", "saved", "saved"]  # the lines never run are not charged
    batches.expire = False
    again = cli("batch", "p.txt", "-o", "out", "--yes", *VIA)
    assert again.exit_code == 0, again.stderr
    assert batches.created == 2 and len(images()) == 4 and made_by_batches(batches) == 4


def test_a_refused_image_endpoint_is_one_line_nothing_charged(cli, fake, batches) -> None:
    prompts()
    batches.refuse_images = True
    result = cli("batch", "p.txt", "-o", "out", "--yes", *VIA)
    assert result.exit_code == 5
    assert "nothing was charged" in result.stderr and "without --via batch-api" in result.stderr
    assert "Traceback" not in result.stderr and batches.created == 0
    assert [entry.outcome for entry in Ledger().entries()] == ["refused"] * 5  # not counted by the budgets
    direct = cli("batch", "p.txt", "-o", "out", "--yes")  # the suggested way works, and buys each image once
    assert direct.exit_code == 6 and fake.count(SYNC_ROUTE) == 5


def test_a_lost_create_answer_is_found_by_listing_and_never_created_again(cli, fake, batches) -> None:
    prompts()
    batches.drop_answer = {"create"}
    lost = cli("batch", "p.txt", "-o", "out", "--yes", *VIA)
    assert lost.exit_code == 9 and "may have been created" in lost.stderr
    batches.drop_answer = set()
    again = cli("batch", "p.txt", "-o", "out", "--yes", *VIA)
    assert again.exit_code == 6, again.stderr
    assert batches.created == 1 and fake.count(BATCHES_ROUTE) == 1 and len(images()) == 4
    assert "Re-attached to batch" in again.stderr


def test_when_the_batches_cannot_be_listed_nothing_is_created(cli, fake, batches) -> None:
    prompts()
    fake.script(BATCHES_ROUTE, Reply(drop=True))  # the create never reached the platform, but who can tell
    assert cli("batch", "p.txt", "-o", "out", "--yes", *VIA).exit_code == 9
    batches.list_fails = True
    unsure = cli("batch", "p.txt", "-o", "out", "--yes", *VIA)
    assert unsure.exit_code == 9 and "Cannot tell whether" in unsure.stderr and batches.created == 0
    batches.list_fails = False
    done = cli("batch", "p.txt", "-o", "out", "--yes", *VIA)  # listed: not there, so created now, once
    assert done.exit_code == 6 and batches.created == 1 and len(images()) == 4


@pytest.mark.parametrize("step", ["upload", "create-unsent", "create", "poll", "download"])
def test_a_run_killed_at_any_step_and_run_again_makes_one_batch_and_saves_every_image_once(
        cli, fake, batches, step: str) -> None:
    prompts()
    route = {"upload": UPLOAD_ROUTE, "create-unsent": BATCHES_ROUTE, "create": BATCHES_ROUTE}.get(step)
    if step in ("upload", "create"):
        batches.hold_answer = {step}  # the platform did it; the answer never came back before the kill
    elif step == "create-unsent":
        fake.script(BATCHES_ROUTE, Reply(delay=3600))  # killed while the create was on its way: never made
    elif step == "poll":
        batches.paused = True
    elif step == "download":
        fake.script(FILE_ROUTE, Reply(delay=3600))  # the first image's download hangs
    first = spawn_batch(fake, "p.txt", "-o", "out", "--yes", *VIA)
    if step == "poll":
        wait_until_reached(fake, first, BATCHES_ROUTE)
        wait_until_reached(fake, first, f"GET /batches/{next(iter(batches.batches))}", 3)
    elif step == "download":
        wait_until_reached(fake, first, FILE_ROUTE, 4)  # every download asked for; one never answered
    else:
        wait_until_reached(fake, first, route)
    first.kill()
    first.communicate(timeout=30)
    batches.hold_answer, batches.paused = set(), False
    again = cli("batch", "p.txt", "-o", "out", "--yes", *VIA)
    assert again.exit_code == 6, again.stderr
    assert batches.created == 1 and made_by_batches(batches) == 4
    assert fake.count(UPLOAD_ROUTE) == 1  # an input file uploaded before the kill is found by its name, not sent again
    assert len(images()) == 4 and not any("-1.png" in name for name in images())
    done = [json.loads(line) for line in Path("out/manifest.jsonl").read_text().splitlines()]
    assert sum(1 for record in done if record["state"] == "done") == 4  # each image saved once
    third = cli("batch", "p.txt", "-o", "out", "--yes", "--no-retry-failed", *VIA)  # after completion
    assert third.exit_code == 6 and batches.created == 1 and len(images()) == 4
    assert "4 image(s) already made" in third.stderr or "skipped" in third.stderr


def test_ctrl_c_while_waiting_leaves_the_batch_running_and_the_same_command_collects_it(cli, fake, batches) -> None:
    prompts()
    batches.paused = True
    first = spawn_batch(fake, "p.txt", "-o", "out", "--yes", *VIA)
    wait_until_reached(fake, first, BATCHES_ROUTE)
    wait_until_reached(fake, first, f"GET /batches/{next(iter(batches.batches))}", 2)
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=30)
    assert first.returncode == 130 and "running on the platform" in err and "--via batch-api" in err
    status = cli("batch", "status", "out")
    assert status.exit_code == 0 and "batch-" in status.stdout and "validating" in status.stdout
    batches.paused = False
    again = cli("batch", "p.txt", "-o", "out", "--yes", *VIA)
    assert again.exit_code == 6 and batches.created == 1 and len(images()) == 4


def test_batch_cancel_cancels_it_and_what_was_made_is_still_saved(cli, fake, batches) -> None:
    prompts(PROMPTS[:2] + PROMPTS[3:])
    batches.paused, batches.expire_done = True, 1
    first = spawn_batch(fake, "p.txt", "-o", "out", "--yes", *VIA)
    wait_until_reached(fake, first, f"GET /batches/{_first_batch(fake, first, batches)}", 2)
    first.kill()
    first.communicate(timeout=30)
    cancelled = cli("batch", "cancel", "out")
    assert cancelled.exit_code == 0 and "cancelling" in cancelled.stderr
    again = cli("batch", "p.txt", "-o", "out", "--yes", "--no-retry-failed", *VIA)
    assert "BATCH_CANCELLED" in again.stderr and len(images()) == 1 and batches.created == 1
    assert [entry.outcome for entry in Ledger().entries()].count("failed") == 3  # not charged


def _first_batch(fake, process, batches: FakeBatches) -> str:
    wait_until_reached(fake, process, BATCHES_ROUTE)
    return next(iter(batches.batches))


def test_a_direct_run_is_refused_while_a_batch_api_batch_is_open(cli, fake, batches) -> None:
    prompts()
    fake.script(BATCHES_ROUTE, Reply(drop=True))
    assert cli("batch", "p.txt", "-o", "out", "--yes", *VIA).exit_code == 9
    direct = cli("batch", "p.txt", "-o", "out", "--yes")
    assert direct.exit_code == 2 and "glm-image batch cancel" in direct.stderr
    assert fake.count(SYNC_ROUTE) == 0


def test_the_batch_via_setting_chooses_the_batch_api(cli, fake, batches, monkeypatch) -> None:
    monkeypatch.setenv("GLM_IMAGE_BATCH_VIA", "api")
    prompts(PROMPTS[:2])
    assert cli("batch", "p.txt", "-o", "out", "--yes").exit_code == 0
    assert batches.created == 1 and fake.count(SYNC_ROUTE) == 0
    assert cli("batch", "p.txt", "-o", "out2", "--yes", "--via", "direct").exit_code == 0
    assert fake.count(SYNC_ROUTE) == 2


def test_batch_status_without_batches_and_json(cli, fake, batches) -> None:
    Path("out").mkdir()
    assert "No Batch API batches" in cli("batch", "status", "out").stderr
    prompts(PROMPTS[:2])
    assert cli("batch", "p.txt", "-o", "out", "--yes", *VIA).exit_code == 0
    shown = cli("batch", "status", "out", "--json")
    parts = json.loads(shown.stdout.splitlines()[-1])["parts"]
    assert [(p["status"], p["completed"], p["open"]) for p in parts] == [("saved", 2, False)]
    assert cli("batch", "status", "nowhere").exit_code == 2


def test_one_input_file_per_model_split_at_the_line_limit(cli, fake, batches) -> None:
    lines = [json.dumps({"prompt": f"p{n}", "model": "glm-image" if n % 2 else "cogview-4-250304"})
             for n in range(6)]
    Path("p.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    from glm_image_cli.core.batch import load_items, work_units

    units = work_units(load_items("p.jsonl", None, {"model": "cogview-4-250304"})[0])
    parts = split_parts(units, max_lines=2)
    assert [[unit.plan.model for unit in part] for part in parts] == [
        ["cogview-4-250304"] * 2, ["cogview-4-250304"], ["glm-image"] * 2, ["glm-image"]]
    assert sum(len(part) for part in split_parts(units, max_bytes=400)) == 6
    result = cli("batch", "p.jsonl", "-o", "out", "--yes", *VIA)
    assert result.exit_code == 0, result.stderr
    models = sorted({line["body"]["model"] for line in batches.lines_of(batch_id)} .pop()
                    for batch_id in batches.batches)
    assert models == ["cogview-4-250304", "glm-image"] and len(images()) == 6


def test_a_result_file_that_fails_to_download_once_is_fetched_again(cli, fake, batches) -> None:
    prompts(PROMPTS[:2])
    fake.script("GET /files/file-3/content", Reply.error(500, "500", "internal error"))  # the output file
    result = cli("batch", "p.txt", "-o", "out", "--yes", *VIA)
    assert result.exit_code == 0, result.stderr
    assert fake.count("GET /files/file-3/content") == 2 and len(images()) == 2


def test_the_openai_backend_has_no_batch_api_and_nothing_is_sent(cli, fake, batches, monkeypatch) -> None:
    monkeypatch.setenv("GLM_IMAGE_BACKEND", "openai")
    prompts(PROMPTS[:2])
    result = cli("batch", "p.txt", "-o", "out", "--yes", *VIA)
    assert result.exit_code == 2 and "needs the bigmodel backend" in result.stderr
    assert fake.requests == []


def test_json_output_has_the_progress_every_item_and_the_summary(cli, fake, batches) -> None:
    prompts(PROMPTS[:3])
    result = cli("batch", "p.txt", "-o", "out", "--yes", "--json", *VIA)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    progress = [r for r in records if r.get("type") == "batch_api"]
    assert [r["status"] for r in progress][-1] == "completed" and progress[-1]["completed"] == 2
    items = sorted((r["item"], r["ok"], (r["error"] or {}).get("code")) for r in records if r.get("type") == "item")
    assert items == [(1, True, None), (2, True, None), (3, False, "CONTENT_BLOCKED")]
    assert records[-1]["type"] == "summary" and records[-1]["done"] == 2 and records[-1]["failed"] == 1


def test_a_planted_batch_id_never_reaches_a_url(cli, fake, batches) -> None:
    """An edited batch-api.jsonl naming '../../files/x?evil=1#' as a batch: refused before any request."""
    prompts(PROMPTS[:2])
    batches.paused = True
    first = spawn_batch(fake, "p.txt", "-o", "out", "--yes", *VIA)
    wait_until_reached(fake, first, f"GET /batches/{_first_batch(fake, first, batches)}", 1)  # "created" written
    first.kill()
    first.communicate(timeout=30)
    journal = Path("out/batch-api.jsonl")
    planted = re.sub(r'"batch_id": "[^"]+"', '"batch_id": "../../files/x?evil=1#"', journal.read_text(encoding="utf-8"))
    journal.write_text(planted, encoding="utf-8")
    assert "evil" in journal.read_text(encoding="utf-8")
    before = len(fake.requests)
    status = cli("batch", "status", "out", "--json")
    assert not any("evil" in seen.path for seen in fake.requests[before:])
    # refused as no id the platform could have given, before any request
    shown = status.stdout + status.stderr
    assert "BATCH_API_BAD_ID" in shown, shown


def test_the_dry_run_says_the_platform_may_take_hours(cli, fake, batches) -> None:
    prompts(PROMPTS[:2])
    plan = cli("batch", "p.txt", "-o", "out", "--dry-run", *VIA)
    assert plan.exit_code == 0 and "up to 24 h" in plan.stdout + plan.stderr
    chinese = cli("--lang", "zh", "batch", "p.txt", "-o", "out", "--dry-run", *VIA)
    assert "最长 24 小时" in chinese.stdout + chinese.stderr
    assert fake.requests == []
