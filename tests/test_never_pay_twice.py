"""Never pay twice, never pay and lose: concurrent runs, journal faults, names, resume, repeated failures.
Every test counts what the fake upstream was asked to make (what was paid), not just exit codes."""

from __future__ import annotations

import json
import resource
import subprocess
from pathlib import Path

from tests.fake_bigmodel import SYNC_ROUTE, Reply
from tests.test_console_script import child_env, console_script, spawn_batch, wait_until_reached


def ten_prompts(name: str = "p.txt") -> Path:
    path = Path(name)
    path.write_text("".join(f"prompt {i}\n" for i in range(10)), encoding="utf-8")
    return path


def test_a_second_batch_into_a_folder_in_use_is_refused_and_nothing_is_paid_twice(cli, fake) -> None:
    ten_prompts()
    fake.hold_after = 0  # the first run's calls wait until released: it is surely running
    first = spawn_batch(fake, "p.txt", "-o", "out", "--yes", "-j", "2")
    try:
        wait_until_reached(fake, first, SYNC_ROUTE, 2)
        second = cli("batch", "p.txt", "-o", "out", "--yes", "--json")
        assert second.exit_code == 13, second.stderr
        assert f"pid {first.pid}" in second.stderr and "nothing was sent" in second.stderr
        assert json.loads(second.stdout)["error"]["code"] == "FOLDER_IN_USE"
        assert fake.count(SYNC_ROUTE) == 2
    finally:
        fake.released.set()
        first.communicate(timeout=60)
    assert first.returncode == 0
    assert fake.count(SYNC_ROUTE) == 10 and len(list(Path("out").glob("*.png"))) == 10
    third = cli("batch", "p.txt", "-o", "out", "--yes")  # the lock went with the first run
    assert third.exit_code == 0 and fake.count(SYNC_ROUTE) == 10


def test_a_killed_run_leaves_no_lock_behind(cli, fake) -> None:
    ten_prompts()
    fake.hold_after = 0
    first = spawn_batch(fake, "p.txt", "-o", "out", "--yes", "-j", "1")
    wait_until_reached(fake, first, SYNC_ROUTE, 1)
    first.kill()
    first.communicate(timeout=30)  # also closes its pipes
    fake.hold_after = None
    fake.released.set()
    again = cli("batch", "p.txt", "-o", "out", "--yes")
    assert again.exit_code == 9, again.stderr  # the killed call may have been billed: reported, not resent
    assert fake.count(SYNC_ROUTE) == 10


def test_a_journal_that_cannot_grow_stops_the_run_before_anything_is_paid(fake) -> None:
    ten_prompts()
    Path("out").mkdir()

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (120, 120))  # a manifest record is longer than this

    run = subprocess.run([*console_script(), "batch", "p.txt", "-o", "out", "--yes", "-j", "2"],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, env=child_env(fake),
                         preexec_fn=small_files, timeout=60)
    assert run.returncode == 11, run.stderr
    assert "Cannot write the batch manifest" in run.stderr and "Internal error" not in run.stderr
    assert fake.count(SYNC_ROUTE) == 0
    assert "✓" not in run.stderr


def test_a_damaged_manifest_never_blocks_resume_and_no_record_is_glued_to_a_cut_line(cli, fake) -> None:
    ten_prompts()
    assert cli("batch", "p.txt", "-o", "out", "--yes", "--max-images", "4").exit_code == 0
    manifest = Path("out/manifest.jsonl")
    manifest.write_bytes(manifest.read_bytes() + b'\xff\xfe not json\n{"key": "cut-by-a-cra')
    result = cli("batch", "p.txt", "-o", "out", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "2 damaged line(s)" in result.stderr
    assert fake.count(SYNC_ROUTE) == 10  # the 4 made before were kept, 6 made now
    lines = manifest.read_bytes().splitlines()
    cut = lines.index(b'{"key": "cut-by-a-cra')  # the cut line stands alone; the next record starts anew
    assert all(json.loads(line)["key"] for line in lines[cut + 1:])


def test_manifest_and_failed_file_are_never_written_through_a_link(cli, fake, tmp_path) -> None:
    ten_prompts()
    Path("out").mkdir()
    target = tmp_path / "precious.txt"
    target.write_text("keep me", encoding="utf-8")
    Path("out/manifest.jsonl").symlink_to(target)
    result = cli("batch", "p.txt", "-o", "out", "--yes")
    assert result.exit_code == 11 and "Traceback" not in result.stderr
    assert target.read_text(encoding="utf-8") == "keep me" and fake.count(SYNC_ROUTE) == 0
    Path("out/manifest.jsonl").unlink()
    Path("out/failed.jsonl.part").symlink_to(target)
    fake.script(SYNC_ROUTE, *[Reply.error(400, "1214", "bad") for _ in range(10)])
    assert cli("batch", "p.txt", "-o", "out", "--yes").exit_code == 5
    assert target.read_text(encoding="utf-8") == "keep me"
    assert Path("out/failed.jsonl").is_file() and not Path("out/failed.jsonl").is_symlink()


def test_a_failed_record_with_a_malformed_error_is_just_a_failure(cli, fake) -> None:
    Path("p.txt").write_text("one\n", encoding="utf-8")
    fake.script(SYNC_ROUTE, Reply.error(400, "1214", "bad"))
    assert cli("batch", "p.txt", "-o", "out", "--yes").exit_code == 5
    manifest = Path("out/manifest.jsonl")
    record = json.loads(manifest.read_text(encoding="utf-8").splitlines()[-1])
    record["error"] = "not an object"
    manifest.write_text(json.dumps(record) + "\n", encoding="utf-8")
    result = cli("batch", "p.txt", "-o", "out", "--yes", "--no-retry-failed")
    assert result.exit_code == 1 and "Traceback" not in result.stderr and "Internal error" not in result.stderr


def test_two_lost_answers_in_a_row_stop_a_batch(cli, fake) -> None:
    ten_prompts()
    fake.script(SYNC_ROUTE, *[Reply(drop=True) for _ in range(10)])  # sent, then the answer is lost
    result = cli("batch", "p.txt", "-o", "out", "--yes", "-j", "1", "--json")
    assert result.exit_code == 9
    assert fake.count(SYNC_ROUTE) == 2  # not 10: each lost answer may have been billed
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["stopped_by"]["code"] == "RESPONSE_LOST_MAYBE_CHARGED"
    assert summary["uncertain"] == 2 and summary["not_sent"] == 8


def test_a_failing_upstream_stops_generate_after_three_failures_in_a_row(cli, fake) -> None:
    fake.script(SYNC_ROUTE, *[Reply.error(500, "500", "busy") for _ in range(40)])
    result = cli("generate", "a cat", "-n", "6", "-j", "1", "--yes")
    assert result.exit_code == 10
    assert "3 image(s) were not sent" in result.stderr


def test_a_name_too_long_for_the_file_system_is_refused_before_paying(cli, fake) -> None:
    Path("p.txt").write_text("a very long prompt about a cat sitting on a windowsill at dawn\n", encoding="utf-8")
    long_name = "{slug}" * 8  # 8 × 40 characters: more than 255 bytes
    result = cli("batch", "p.txt", "-o", "out", "--yes", "--name", long_name)
    assert result.exit_code == 2 and "this file system allows 255" in result.stderr
    result = cli("generate", "很长的提示词" * 20, "-o", "out", "--name", "{slug}{slug}{slug}")
    assert result.exit_code == 2 and "nothing was sent" in result.stderr
    assert fake.count(SYNC_ROUTE) == 0


def test_an_image_that_cannot_take_its_name_is_kept_under_a_plain_one(cli, fake, monkeypatch) -> None:
    from glm_image_cli.errors import OutputError
    from glm_image_cli.storage import saving

    real_publish = saving.publish_new_file

    def refuse_the_asked_name(temp, folder, stem, ext):
        if stem.startswith("wanted"):
            raise OutputError("output_not_writable", path=str(folder), detail="File name too long")
        return real_publish(temp, folder, stem, ext)

    monkeypatch.setattr(saving, "publish_new_file", refuse_the_asked_name)
    result = cli("generate", "a fox", "-o", "out", "--name", "wanted-{index}", "--json")
    assert result.exit_code == 0, result.stderr
    [record] = json.loads(result.stdout)
    assert Path(record["path"]).is_file() and Path(record["path"]).name.startswith("0001-1-req-")
    assert "it was kept as" in result.stderr and fake.count(SYNC_ROUTE) == 1


def test_a_deleted_manifest_does_not_buy_the_images_again(cli, fake) -> None:
    ten_prompts()
    assert cli("batch", "p.txt", "-o", "out", "--yes").exit_code == 0
    Path("out/manifest.jsonl").unlink()
    result = cli("batch", "p.txt", "-o", "out", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "10 image(s) missing from the manifest were found" in result.stderr
    assert fake.count(SYNC_ROUTE) == 10 and len(list(Path("out").glob("*.png"))) == 10
    states = [json.loads(line)["state"] for line in Path("out/manifest.jsonl").read_text().splitlines()]
    assert states == ["done"] * 10  # written down again, so the next run need not look


def test_an_image_paid_for_but_not_downloaded_is_fetched_later_not_bought_again(cli, fake) -> None:
    from tests.fake_bigmodel import FILE_ROUTE

    Path("p.txt").write_text("one\n", encoding="utf-8")
    fake.script(FILE_ROUTE, *[Reply(status=503, body={"error": "busy"}) for _ in range(3)])
    first = cli("batch", "p.txt", "-o", "out", "--yes")
    assert first.exit_code == 10 and fake.count(SYNC_ROUTE) == 1
    second = cli("batch", "p.txt", "-o", "out", "--yes")
    assert second.exit_code == 0, second.stderr
    assert "fetched from their recorded URLs" in second.stderr
    assert fake.count(SYNC_ROUTE) == 1 and len(list(Path("out").glob("*.png"))) == 1


def test_an_expired_recorded_url_leaves_the_image_uncertain_never_rebought(cli, fake) -> None:
    from tests.fake_bigmodel import FILE_ROUTE

    Path("p.txt").write_text("one\n", encoding="utf-8")
    fake.script(FILE_ROUTE, *[Reply(status=404, body={"error": "gone"}) for _ in range(2)])
    assert cli("batch", "p.txt", "-o", "out", "--yes").exit_code == 10
    assert cli("batch", "p.txt", "-o", "out", "--yes").exit_code == 10
    assert fake.count(SYNC_ROUTE) == 1 and fake.count(FILE_ROUTE) == 2


def test_retry_unsafe_may_buy_again_an_image_whose_recorded_url_expired(cli, fake) -> None:
    from tests.fake_bigmodel import FILE_ROUTE

    Path("p.txt").write_text("one\n", encoding="utf-8")
    fake.script(FILE_ROUTE, *[Reply(status=404, body={"error": "gone"}) for _ in range(2)])
    assert cli("batch", "p.txt", "-o", "out", "--yes").exit_code == 10
    assert cli("batch", "p.txt", "-o", "out", "--yes").exit_code == 10  # tried the URL again: no new charge
    assert fake.count(SYNC_ROUTE) == 1
    assert cli("batch", "p.txt", "-o", "out", "--yes", "--retry-unsafe").exit_code == 0  # the user's say-so
    assert fake.count(SYNC_ROUTE) == 2 and len(list(Path("out").glob("*.png"))) == 1


def test_a_full_disk_under_the_spend_ledger_is_an_output_error_not_a_settings_one(tmp_path) -> None:
    import errno
    import sqlite3

    from glm_image_cli.errors import ExitCode
    from glm_image_cli.storage.history import database_error

    full = database_error("ledger_unusable", tmp_path, sqlite3.OperationalError("database or disk is full"))
    too_big = database_error("ledger_unusable", tmp_path, OSError(errno.EFBIG, "File too large"))
    broken = database_error("ledger_unusable", tmp_path, sqlite3.DatabaseError("file is not a database"))
    assert full.exit_code == too_big.exit_code == ExitCode.OUTPUT and broken.exit_code == ExitCode.CONFIG
    assert full.code == broken.code == "LEDGER_UNUSABLE"
