"""Batch as a user meets it (issue 14): hints that can be run as printed, paths on stdout, honest counts and
times, a calm live display, early polling, and the -v/--verbose HTTP trace that never shows the key."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from glm_image_cli.backends.bigmodel import BigModelClient, ImageRequest, PollingPolicy
from glm_image_cli.core.batch import Selection, summarize
from glm_image_cli.core.runner import ImageOutcome
from glm_image_cli.errors import ContentBlocked, NetworkFailure
from glm_image_cli.messages import render
from tests.conftest import SECRET_PART
from tests.fake_bigmodel import DEFAULT_KEY, POLL_ROUTE, SYNC_ROUTE, Reply

# --- 5: the failed-batch hint can be run as printed, and says what to do by cause ------------------------


def test_failed_hint_keeps_the_output_folder_and_the_runs_flags(cli, fake) -> None:
    Path("p.txt").write_text("refused one\nfine one\n", encoding="utf-8")
    fake.script(SYNC_ROUTE, Reply.error(400, "1301", "unsafe"))
    result = cli("batch", "p.txt", "-o", "b401", "-j", "1", "--image-format", "png", "-m", "cogview-4")
    assert result.exit_code == 6
    hint = " ".join(result.stderr.split())  # the terminal may wrap it
    assert "rephrase them in b401/failed.jsonl, then run: glm-image batch b401/failed.jsonl -o b401 -j 1 " \
           "--image-format png" in hint
    # the model is in failed.jsonl's lines; repeating it (or --format, -n) for that file would be wrong
    assert "failed.jsonl -o b401 -j 1 --image-format png -m" not in hint
    assert json.loads(Path("b401/failed.jsonl").read_text(encoding="utf-8"))["model"] == "cogview-4"
    assert "fix them" not in hint and "run the same command" not in hint.lower()


def test_refused_parameters_are_to_be_fixed(cli, fake) -> None:
    Path("p.txt").write_text("one\n", encoding="utf-8")
    fake.script(SYNC_ROUTE, Reply.error(400, "1214", "bad size"))
    result = cli("batch", "p.txt", "-o", "out")
    hint = " ".join(result.stderr.split())
    assert "refused for their parameters (BAD_PARAMETERS): fix them in out/failed.jsonl, then run: " \
           "glm-image batch out/failed.jsonl -o out" in hint


def test_a_failure_on_the_upstreams_side_needs_the_same_command_again_not_an_edit(cli, fake) -> None:
    Path("p.txt").write_text("one\ntwo\n", encoding="utf-8")
    fake.script(SYNC_ROUTE, *[Reply.error(500, "500", "oops")] * 3)
    result = cli("batch", "p.txt", "-o", "out", "-j", "1", "--format", "txt")
    assert result.exit_code == 10
    hint = " ".join(result.stderr.split())
    assert "nothing needs editing" in hint
    assert "run the same command again once it has recovered" in hint.lower()
    assert hint.endswith("glm-image batch p.txt -o out --format txt -j 1")  # the input, not failed.jsonl
    assert "fix them" not in hint and "rephrase" not in hint


def test_an_account_wide_stop_gives_no_fix_hint_but_the_command_that_resumes(cli, fake) -> None:
    Path("p.txt").write_text("one\ntwo\nthree\n", encoding="utf-8")
    fake.script(SYNC_ROUTE, Reply.error(429, "1113", "no balance"))
    result = cli("batch", "p.txt", "-o", "out", "-j", "1")
    text = " ".join(result.stderr.split())
    assert "Stopped sending" in text and "failed.jsonl, then run" not in text
    assert "To resume (2 image(s) not sent), run: glm-image batch p.txt -o out -j 1" in text


def test_suggested_commands_quote_what_the_shell_would_split(cli, fake) -> None:
    Path("my prompts.txt").write_text("one\ntwo\n", encoding="utf-8")
    result = cli("batch", "my prompts.txt", "-o", "my out", "--max-images", "1", "--name", "{index}-{slug}")
    text = " ".join(result.stderr.split())
    assert "run: glm-image batch 'my prompts.txt' -o 'my out' --name '{index}-{slug}' --max-images 1" in text


# --- 11: saved paths on stdout, one per line ----------------------------------------------------------------

def test_batch_prints_each_saved_path_on_stdout(cli, fake) -> None:
    Path("p.txt").write_text("a cat\na dog\na fox\n", encoding="utf-8")
    result = cli("batch", "p.txt", "-o", "out", "-j", "2")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert sorted(lines) == sorted(str(Path("out") / name) for name in ("0001-a-cat.png", "0002-a-dog.png",
                                                                        "0003-a-fox.png"))
    assert all(Path(line).is_file() for line in lines)
    assert "made" in result.stderr  # the summary stays on stderr


def test_batch_json_keeps_stdout_to_json_lines(cli, fake) -> None:
    Path("p.txt").write_text("a cat\n", encoding="utf-8")
    result = cli("batch", "p.txt", "-o", "out", "--json")
    assert [json.loads(line)["type"] for line in result.stdout.splitlines()] == ["item", "summary"]


# --- 12: each image records when it was made ---------------------------------------------------------------

def test_created_is_each_images_save_time_while_names_keep_the_run_time(cli, fake, monkeypatch) -> None:
    from glm_image_cli.core import session
    from glm_image_cli.storage.pngmeta import recipe_in_file

    real = session.make_saver
    long_ago = datetime(2001, 2, 3, 4, 5, 6).astimezone()

    def saver_started_long_ago(*args, **kwargs):
        saver = real(*args, **kwargs)
        saver.created = long_ago  # the run "started" long before its images were made
        return saver

    monkeypatch.setattr(session, "make_saver", saver_started_long_ago)
    Path("p.txt").write_text("a cat\na dog\n", encoding="utf-8")
    before = datetime.now().astimezone()
    assert cli("batch", "p.txt", "-o", "out", "--name", "{date}-{time}-{slug}").exit_code == 0
    paths = sorted(Path("out").glob("*.png"))
    assert [p.name for p in paths] == ["20010203-040506-a-cat.png", "20010203-040506-a-dog.png"]
    for path in paths:
        created = datetime.fromisoformat(recipe_in_file(path)["created"])
        assert created >= before.replace(microsecond=0) - timedelta(seconds=1)


# --- 13: a lost answer is counted once, and the re-run says what may have happened ----------------------------

def test_a_maybe_billed_failure_is_uncertain_not_failed() -> None:
    first, second = (SimpleNamespace(item=SimpleNamespace(number=n)) for n in (1, 2))
    lost = ImageOutcome(first, error=NetworkFailure("response_timeout_maybe_charged", timeout="120"))
    refused = ImageOutcome(second, error=ContentBlocked("content_blocked"))
    summary = summarize(Selection([first, second], [], [], [], []), [lost, refused], 0, 1.0)
    assert (summary.failed, summary.uncertain) == (1, 1)


def test_lost_answer_is_counted_once_and_the_rerun_wording_fits_a_run_that_finished(cli, fake) -> None:
    Path("p.txt").write_text("one\n", encoding="utf-8")
    fake.script(SYNC_ROUTE, Reply(drop=True))
    first = cli("batch", "p.txt", "-o", "out", "--json")
    summary = json.loads(first.stdout.splitlines()[-1])
    assert (summary["failed"], summary["uncertain"]) == (0, 1)
    again = " ".join(cli("batch", "p.txt", "-o", "out").stderr.split())
    assert "1 image(s) may have been billed (their answer was lost or the run stopped while they were in flight)" \
        in again
    assert "earlier run stopped" not in again


# --- 14: the live display -------------------------------------------------------------------------------------

def _live(width: int = 100):
    from rich.console import Console

    from glm_image_cli.cli.console import BatchProgress, Ui

    ui = Ui()
    ui.rich_stderr = True
    screen = io.StringIO()
    ui._stderr = Console(file=screen, force_terminal=True, width=width, color_system=None)
    return BatchProgress(ui, 30, label_width=24), screen


def test_live_display_is_one_bar_and_recent_results_in_fixed_columns() -> None:
    from rich.console import Console

    progress, _ = _live()
    with progress:
        progress.started("a", "0001-a")
        progress.started("b", "0002-a-much-longer-name-than-the-first-one")
        progress.finished_one("a", "0001-a", True, "out/0001-a.png", 2.0)
        progress.finished_one("b", "0002-a-much-longer-name-than-the-first-one", True, "out/0002.png", 12.5)
        progress.retrying("c", "0003-c", "rate limited; retrying in 3.0 s (attempt 2 of 6).")
        stats = progress._stats()
        out = io.StringIO()
        Console(file=out, width=100, color_system=None).print(progress._recent_lines())
    assert "2 in flight" not in stats and "/min" in stats and "left" in stats  # both finished: none in flight
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    # the seconds and the detail start in the same column whatever the name's length
    assert lines[0].index("2.0s") + 4 == lines[1].index("12.5s") + 5
    assert lines[0].index("out/0001") == lines[1].index("out/0002")
    assert "…" in lines[1] and "rate limited" in lines[2]
    assert max(len(line.rstrip()) for line in lines) <= 96  # room at the right for the terminal's "^C"
    assert "0/?" not in out.getvalue()


def test_interrupt_clears_the_live_display_and_later_results_are_plain_lines(capsys) -> None:
    progress, _ = _live()
    with progress:
        assert progress.live
        progress.started("a", "0001-a")
        progress.interrupted()
        assert not progress.live
        progress.finished_one("a", "0001-a", True, "out/0001-a.png", 1.0, path="out/0001-a.png")
    captured = capsys.readouterr()
    assert captured.out == "out/0001-a.png\n"
    assert "[1/30] ✓ 0001-a" in captured.err


# --- 15: asynchronous tasks are looked at early ---------------------------------------------------------------

def test_polling_starts_after_a_second_and_backs_off_to_the_interval() -> None:
    delays = PollingPolicy().delays()
    assert [round(next(delays), 3) for _ in range(6)] == [1.0, 1.5, 2.25, 3.0, 3.0, 3.0]
    assert PollingPolicy().max_wait == 300.0


def test_a_task_ready_at_two_seconds_is_fetched_by_two_and_a_half(fake) -> None:
    fake.polls_before_success = 1  # the answer is there at the second look
    slept: list[float] = []
    with BigModelClient(DEFAULT_KEY, fake.base_url, polling=PollingPolicy(), sleep=slept.append) as client:
        client.request_image(ImageRequest("glm-image", "水墨"))
    assert slept == [1.0, 1.5]  # was [5.0, 3.0]: ready at 2 s, seen at 2.5 s instead of 5 s
    assert fake.count(POLL_ROUTE) == 2


# --- 16: -v/--verbose ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_traces_each_exchange_without_the_key(cli, fake, where) -> None:
    args = ["generate", "a cat", "-o", "out"]
    result = cli(*(["-v", *args] if where == "before" else [*args, "--verbose"]))
    assert result.exit_code == 0
    err = result.stderr
    assert f"[http 1] > POST {fake.base_url}/images/generations Authorization: Bearer ****" in err
    assert "[http 1] < 200 OK" in err and "request id req-1" in err
    assert "[http 2] > GET " in err and "image/png" in err  # the download, without the header it does not carry
    assert SECRET_PART not in err and DEFAULT_KEY not in err
    assert result.stdout.strip().endswith(".png")  # stdout stays the paths


def test_verbose_shows_retry_decisions_and_error_codes(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply.error(429, "1302", "busy", retry_after="0"))
    result = cli("-v", "batch", "-", "-o", "out", input="a cat\n")
    assert result.exit_code == 0
    assert "< 429 Too Many Requests" in result.stderr and "code 1302" in result.stderr
    assert "[retry] rate limited (429/1302: busy); retrying in 0.0 s (attempt 2 of 6)." in result.stderr
    assert SECRET_PART not in result.stderr


def test_verbose_covers_ping_and_ends_with_the_invocation(cli, fake) -> None:
    traced = cli("ping", "-v")
    assert "/async-result/glm-image-ping-" in traced.stderr and "code 1222" in traced.stderr
    assert SECRET_PART not in traced.stdout + traced.stderr
    quiet = cli("generate", "a cat", "-o", "out")
    assert "[http" not in quiet.stderr  # the previous invocation's -v does not leak into this one


def test_verbose_client_for_serve_traces_too(fake, capsys) -> None:
    with BigModelClient(DEFAULT_KEY, fake.base_url, verbose=True) as client:
        client.fetch(client.request_image(ImageRequest("cogview-4", "x")))
    err = capsys.readouterr().err
    assert "[http 1] > POST" in err and "Bearer ****" in err and SECRET_PART not in err


def test_trace_masks_query_values_and_user_info() -> None:
    from glm_image_cli.backends.httptrace import safe_url

    url = "https://user:pw@cdn.example.com/img/1.png?Expires=1&OSSAccessKeyId=AK&Signature=s3cr3t"
    assert safe_url(url) == "https://cdn.example.com/img/1.png?Expires=****&OSSAccessKeyId=****&Signature=****"


def test_verbose_is_in_the_help_and_the_message_is_in_both_languages() -> None:
    from glm_image_cli.messages import HELP

    english, chinese = HELP["opt.verbose"]
    assert "never" in english and "密钥" in chinese
    assert "{" not in render("batch_resume", count=1, command="x")
