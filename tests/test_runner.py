"""The one engine: account-wide failures stop every command, refusals skip a request's other samples,
serve makes samples in parallel, failure meanings are declared data, and no outcome keeps image bytes."""

from __future__ import annotations

import ast
import gc
import json
import re
import threading
from pathlib import Path

from glm_image_cli import errors
from glm_image_cli.backends.bigmodel import BigModelClient, ImageResult
from glm_image_cli.core.plans import plan_generation
from glm_image_cli.core.runner import Runner, SaveImages, Stage, samples_of
from glm_image_cli.errors import MEANINGS, GlmImageError
from glm_image_cli.messages import render
from glm_image_cli.storage.saving import ImageSaver
from tests.fake_bigmodel import DEFAULT_KEY, SYNC_ROUTE, Reply, make_png

PACKAGE = Path(__file__).resolve().parents[1] / "glm_image_cli"


def thirty_prompts() -> None:
    Path("p.txt").write_text("".join(f"prompt number {i}\n" for i in range(30)), encoding="utf-8")


def test_batch_with_a_rejected_key_sends_at_most_its_concurrency_and_says_why_once(cli, fake, monkeypatch) -> None:
    thirty_prompts()
    monkeypatch.setenv("GLM_API_KEY", "wrong-key.12345")
    result = cli("batch", "p.txt", "-o", "out", "-j", "3", "--yes")
    assert result.exit_code == 4, result.stderr
    assert 1 <= fake.count(SYNC_ROUTE) <= 3
    assert result.stderr.count("Stopped sending") == 1
    assert result.stderr.count("rejected the API key") == 1  # the full sentence once, in the stop line
    states = [json.loads(line)["state"] for line in Path("out/manifest.jsonl").read_text().splitlines()]
    assert "done" not in states and len({json.loads(line)["key"] for line in
                                         Path("out/manifest.jsonl").read_text().splitlines()}) <= 3


def test_batch_with_no_balance_stops_with_exit_7_and_resumes_later(cli, fake) -> None:
    thirty_prompts()
    fake.script(SYNC_ROUTE, *[Reply.error(429, "1113", "余额不足") for _ in range(2)])
    first = cli("batch", "p.txt", "-o", "out", "-j", "2", "--json", "--yes")
    assert first.exit_code == 7, first.stderr
    summary = json.loads(first.stdout.splitlines()[-1])
    assert summary["stopped_by"]["code"] == "BALANCE_EXHAUSTED"
    assert summary["done"] + summary["failed"] <= 2 and summary["not_sent"] >= 28
    sent_before = fake.count(SYNC_ROUTE)
    assert sent_before <= 2
    second = cli("batch", "p.txt", "-o", "out", "-j", "2", "--yes")  # balance topped up: everything else is made
    assert second.exit_code == 0, second.stderr
    assert len(list(Path("out").glob("*.png"))) == 30
    assert fake.count(SYNC_ROUTE) == sent_before + 30


def test_generate_with_no_balance_sends_no_more_than_its_concurrency(cli, fake) -> None:
    fake.script(SYNC_ROUTE, *[Reply.error(429, "1113", "余额不足") for _ in range(6)])
    result = cli("generate", "a cat", "-n", "6", "-j", "2", "--yes")
    assert result.exit_code == 7
    assert fake.count(SYNC_ROUTE) <= 2


def test_a_refused_prompt_skips_its_own_samples_but_not_other_items(cli, fake) -> None:
    Path("items.jsonl").write_text('{"prompt": "bad one", "n": 4}\n{"prompt": "good one"}\n', encoding="utf-8")
    fake.script(SYNC_ROUTE, Reply.error(400, "1301", "内容不安全"))
    result = cli("batch", "items.jsonl", "-o", "out", "-j", "1", "--json")
    assert result.exit_code == 6
    sent = [call.body["prompt"] for call in fake.seen(SYNC_ROUTE)]
    assert sent.count("bad one") == 1 and sent.count("good one") == 1
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["not_sent"] == 3 and summary["stopped_by"] is None


def test_batch_messages_in_worker_threads_follow_the_language(cli, fake) -> None:
    Path("p.txt").write_text("一只猫\n", encoding="utf-8")
    fake.script(SYNC_ROUTE, Reply.error(400, "1214", "参数错误"))
    result = cli("--lang", "zh", "batch", "p.txt", "-o", "out")
    assert result.exit_code == 5
    zh_sentence = render("bad_parameters", lang="zh", detail="400/1214: 参数错误", request_id="req-error")
    en_sentence = render("bad_parameters", lang="en", detail="400/1214: 参数错误", request_id="req-error")
    assert zh_sentence in result.stderr and en_sentence not in result.stderr


def test_serve_makes_samples_in_parallel(serve, fake) -> None:
    from concurrent.futures import ThreadPoolExecutor

    fake.hold_after = 0  # every generation waits until released: only parallel calls can all arrive
    served = serve()
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(served.post, "/txt2img", {"prompt": "四只猫", "samples": 4})
        assert fake.wait_for(SYNC_ROUTE, 4)  # all four calls reached the upstream before any was answered
        fake.released.set()
        response = answer.result()
    assert response.status_code == 200
    assert response.json()["count"] == 4


def test_serve_answers_the_images_it_paid_for_when_one_sample_fails(serve, fake) -> None:
    fake.script(SYNC_ROUTE, Reply.error(500, "500", "upstream hiccup"), Reply.error(500, "500", "again"),
                Reply.error(500, "500", "and again"))
    served = serve()
    response = served.post("/v1/images/generations", {"prompt": "two cats", "n": 2, "response_format": "b64_json"})
    assert response.status_code == 200
    assert 1 <= len(response.json()["data"]) <= 2


def test_no_image_bytes_are_kept_after_they_are_saved(fake, tmp_path) -> None:
    fake.image_bytes = make_png(64, 64)
    plan = plan_generation("a cat", model="cogview-4-250304", samples=5)
    saver = ImageSaver(folder=tmp_path)
    with BigModelClient(DEFAULT_KEY, fake.base_url) as client:
        runner = Runner(samples_of(plan), client, SaveImages(saver), concurrency=2)
        outcomes = runner.run()
        runner.shutdown()
        gc.collect()
        assert [o for o in gc.get_objects() if isinstance(o, ImageResult)] == []
    assert len(outcomes) == 5 and all(o.path is not None and o.path.exists() for o in outcomes)
    for outcome in outcomes:
        assert outcome.payload is None
        assert not any(isinstance(value, (bytes, bytearray, ImageResult)) for value in vars(outcome).values())


def test_events_are_typed_and_end_with_one_final_stage_per_unit(fake, tmp_path) -> None:
    plan = plan_generation("a cat", model="cogview-4-250304", samples=3)
    seen: list = []
    with BigModelClient(DEFAULT_KEY, fake.base_url) as client:
        runner = Runner(samples_of(plan), client, SaveImages(ImageSaver(folder=tmp_path)), concurrency=3,
                        on_event=seen.append)
        runner.run()
        runner.shutdown()
    finals = [event for event in seen if event.stage in (Stage.SAVED, Stage.FAILED)]
    assert sorted(event.unit.sample for event in finals) == [1, 2, 3]
    assert all(isinstance(event.stage, Stage) for event in seen)


# --- failure meanings as data ---------------------------------------------------------------------------

FAILURE_CLASSES = {name for name, value in vars(errors).items()
                   if isinstance(value, type) and issubclass(value, GlmImageError)}


def _raised_message_ids() -> set[str]:
    """Every message id the package raises an expected failure with."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FAILURE_CLASSES
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.add(node.args[0].value)
    return found


def test_every_failure_the_package_raises_has_a_declared_meaning() -> None:
    missing = sorted(_raised_message_ids() - set(MEANINGS))
    assert missing == []


# The public codes are an interface: rewording or renaming a message must not change them.
PINNED_CODES = {
    "auth_failed": "AUTH_FAILED", "balance_exhausted": "BALANCE_EXHAUSTED", "content_blocked": "CONTENT_BLOCKED",
    "rate_limited": "RATE_LIMITED", "response_lost_maybe_charged": "RESPONSE_LOST_MAYBE_CHARGED",
    "network_unreachable": "NETWORK_UNREACHABLE", "output_not_writable": "OUTPUT_NOT_WRITABLE",
    "port_in_use": "PORT_IN_USE", "missing_api_key": "MISSING_API_KEY", "invalid_size": "INVALID_SIZE",
    "unknown_style": "UNKNOWN_STYLE", "unknown_style_no_match": "UNKNOWN_STYLE", "empty_prompt": "EMPTY_PROMPT",
    "journal_unwritable": "JOURNAL_UNWRITABLE", "daily_quota": "DAILY_QUOTA",
    "gateway_maybe_charged": "GATEWAY_MAYBE_CHARGED", "download_failed": "DOWNLOAD_FAILED",
}


def test_public_codes_are_pinned_and_documented() -> None:
    assert {key: MEANINGS[key].code for key in PINNED_CODES} == PINNED_CODES
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    undocumented = sorted({m.code for m in MEANINGS.values()} - set(re.findall(r"`([A-Z_]{3,})`", readme)))
    assert undocumented == []


def test_meanings_follow_money_rules() -> None:
    for name, meaning in MEANINGS.items():
        assert not (meaning.maybe_billed and meaning.retryable), name  # a maybe-billed call is never resent blindly
        assert not (meaning.maybe_billed and not meaning.sent), name
    assert MEANINGS["network_unreachable"].sent is False
    assert MEANINGS["auth_failed"].account_wide and MEANINGS["balance_exhausted"].account_wide
    assert MEANINGS["content_blocked"].same_request and not MEANINGS["content_blocked"].account_wide


def test_a_reworded_message_keeps_its_code() -> None:
    error = GlmImageError("auth_failed", detail="x", request_id="r")
    assert error.code == "AUTH_FAILED" and error.account_wide and error.sent


# --- streaming to disk -------------------------------------------------------------------------------

def test_a_streamed_image_gets_its_recipe_and_valid_chunks(cli, fake) -> None:
    from glm_image_cli.storage.pngmeta import iter_chunks, read_recipe

    fake.image_bytes = make_png(300, 200)
    result = cli("generate", "一只猫", "-o", "out", "--json")
    assert result.exit_code == 0, result.stderr
    path = Path(json.loads(result.stdout)[0]["path"])
    data = path.read_bytes()
    kinds = [kind for kind, _, _ in iter_chunks(data)]  # every length and CRC checked
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"iTXt" in kinds
    assert read_recipe(data)["prompt"] == "一只猫"
    assert not list(Path("out").glob(".*.part"))


def test_a_broken_download_is_restarted_from_the_first_byte(cli, fake) -> None:
    from glm_image_cli.storage.pngmeta import read_recipe
    from tests.fake_bigmodel import FILE_ROUTE

    fake.script(FILE_ROUTE, Reply(drop=True))
    result = cli("generate", "a fox", "-o", "out", "--json")
    assert result.exit_code == 0, result.stderr
    assert fake.count(FILE_ROUTE) == 2 and fake.count(SYNC_ROUTE) == 1
    assert read_recipe(Path(json.loads(result.stdout)[0]["path"]).read_bytes())["prompt"] == "a fox"


def test_bytes_that_are_not_an_image_leave_no_file_behind(cli, fake) -> None:
    fake.image_bytes = b"<html>not an image</html>"
    result = cli("generate", "a fox", "-o", "out")
    assert result.exit_code == 10
    assert list(Path("out").iterdir()) == []


def test_an_image_paid_for_but_not_saved_is_not_bought_again_on_resume(cli, fake, monkeypatch) -> None:
    from glm_image_cli.errors import OutputError
    from glm_image_cli.storage.saving import ImageSaver

    Path("p.txt").write_text("one\n", encoding="utf-8")

    def full_disk(self, *args, **kwargs):
        raise OutputError("output_not_writable", path="out", detail="No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(ImageSaver, "save_streamed", full_disk)
        first = cli("batch", "p.txt", "-o", "out", "--json")
    assert first.exit_code == 11
    assert json.loads(first.stdout.splitlines()[-1])["uncertain"] == 1
    second = cli("batch", "p.txt", "-o", "out")  # disk freed: fetched from its recorded URL, not bought twice
    assert second.exit_code == 0 and "recorded URLs" in second.stderr
    assert fake.count(SYNC_ROUTE) == 1 and len(list(Path("out").glob("*.png"))) == 1


def test_a_nearly_full_disk_is_refused_before_anything_is_bought(cli, fake, monkeypatch) -> None:
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 4096, 4096))
    result = cli("generate", "a cat", "-o", "out")
    assert result.exit_code == 11 and "4 KiB free" in result.stderr
    assert fake.count(SYNC_ROUTE) == 0


def test_a_stopped_batch_advises_rerunning_not_the_failed_file(cli, fake, monkeypatch) -> None:
    thirty_prompts()
    monkeypatch.setenv("GLM_API_KEY", "wrong-key.12345")
    result = cli("batch", "p.txt", "-o", "out", "-j", "2", "--yes")
    assert result.exit_code == 4
    assert "run the same command again" in result.stderr and "glm-image batch out/failed.jsonl" not in result.stderr


# --- reporting never decides an image's fate ------------------------------------------------------------------

class _Records:
    """A journal and a spend ledger that write down, in order, what the runner recorded and reported."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self._keys: dict[int, str] = {}  # ledger row -> unit key

    def dispatched(self, unit) -> None:
        self.log.append(("dispatched", unit.key))

    def refused(self, unit) -> None:
        self.log.append(("refused", unit.key))

    def answered(self, unit, generated) -> None:
        self.log.append(("answered", unit.key))

    def done(self, unit, outcome) -> None:
        self.log.append(("done", unit.key))

    def failed(self, unit, outcome) -> None:
        self.log.append(("failed", unit.key))

    def reserve(self, unit) -> int:
        entry = len(self._keys) + 1
        self._keys[entry] = unit.key
        self.log.append(("reserved", unit.key))
        return entry

    def settle(self, entry: int, outcome: str) -> None:
        self.log.append((f"settled {outcome}", self._keys[entry]))


def test_an_event_sink_that_raises_never_fails_an_image(fake, tmp_path) -> None:
    """A closed pipe, a console that cannot encode a character, a bug: the images are saved and recorded as
    saved all the same, and the first failure is kept for the front end."""
    plan = plan_generation("a cat", model="cogview-4-250304", samples=4)
    records = _Records()
    failures = iter([BrokenPipeError(32, "Broken pipe"), UnicodeEncodeError("gbk", "✓", 0, 1, "illegal"),
                     RuntimeError("a bug in the display")] * 20)
    raised: list[Exception] = []
    lock = threading.Lock()

    def sink(event) -> None:
        records.log.append((f"reported {event.stage.value}", event.unit.key))
        if event.stage is not Stage.QUEUED:
            with lock:
                failure = next(failures)
                raised.append(failure)
            raise failure

    with BigModelClient(DEFAULT_KEY, fake.base_url) as client:
        runner = Runner(samples_of(plan), client, SaveImages(ImageSaver(folder=tmp_path)), concurrency=2,
                        journal=records, spend=records, on_event=sink)
        outcomes = runner.run()
        runner.shutdown()
        # One image, so one thread reports: the first failure raised is the one kept.
        alone = Runner(samples_of(plan_generation("a dog", model="cogview-4-250304")), client,
                       SaveImages(ImageSaver(folder=tmp_path)), concurrency=1,
                       on_event=lambda event: (_ for _ in ()).throw(BrokenPipeError(32, "Broken pipe"))
                       if event.stage is Stage.REQUESTING else None)
        alone.run()
        alone.shutdown()
    assert [outcome.ok for outcome in outcomes] == [True] * 4 and runner.halted_by is None
    assert all(outcome.path is not None and outcome.path.exists() for outcome in outcomes)
    assert any(runner.output_failed is failure for failure in raised)  # threads race: one of those raised is kept
    assert isinstance(alone.output_failed, BrokenPipeError) and alone.sorted_outcomes()[0].ok
    assert fake.count(SYNC_ROUTE) == 4 + 1
    log = records.log
    for key in ("1", "2", "3", "4"):  # journal and ledger say saved before anything says so on the terminal
        assert log.index(("done", key)) < log.index(("settled saved", key)) < log.index(("reported saved", key))
        assert ("failed", key) not in log


def test_only_a_write_of_the_run_itself_is_unwritable_output(fake, tmp_path) -> None:
    """A journal that cannot be written stops the run as unwritable output; the event sink is not such a write."""
    plan = plan_generation("a cat", model="cogview-4-250304", samples=2)

    class FullJournal(_Records):
        def dispatched(self, unit) -> None:
            raise OSError(28, "No space left on device", "out/manifest.jsonl")

    with BigModelClient(DEFAULT_KEY, fake.base_url) as client:
        runner = Runner(samples_of(plan), client, SaveImages(ImageSaver(folder=tmp_path)), concurrency=1,
                        journal=FullJournal())
        outcomes = runner.run()
        runner.shutdown()
    assert outcomes[0].error is not None and outcomes[0].error.code == "OUTPUT_NOT_WRITABLE"
    assert "out/manifest.jsonl" in str(outcomes[0].error) and not outcomes[0].maybe_billed
    assert fake.count(SYNC_ROUTE) == 0 and runner.output_failed is None


def test_a_trace_line_that_cannot_be_written_never_fails_the_paid_call(fake, monkeypatch) -> None:
    """-v writes from inside the call (httpx's hooks): a closed writer, or no stderr at all (`2>&-`), loses the
    line, never the answer that was paid for."""
    from glm_image_cli.backends.httptrace import TRACE_WRITER

    def closed(line: str) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    request = plan_generation("a cat", model="cogview-4-250304").image_request()
    token = TRACE_WRITER.set(closed)
    try:
        with BigModelClient(DEFAULT_KEY, fake.base_url, verbose=True) as client:
            assert client.request_image(request).url
    finally:
        TRACE_WRITER.reset(token)
    monkeypatch.setattr("sys.stderr", None)
    with BigModelClient(DEFAULT_KEY, fake.base_url, verbose=True) as client:
        assert client.request_image(request).url
    assert fake.count(SYNC_ROUTE) == 2
