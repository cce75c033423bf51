"""What `generate` does with its images besides saving them, as gh, llm and httpie users expect: `--dry-run` (the
plan and the estimate, nothing sent), `--open` (the system viewer, never in the way) and `-o -` (the image's bytes
on stdout for a pipe, a paid copy kept on disk)."""

from __future__ import annotations

import json
import os
import select
import subprocess
from pathlib import Path

import pytest

from glm_image_cli.cli.opener import viewer_command
from glm_image_cli.cli.terminal import Terminal
from tests.fake_bigmodel import CHAT_ROUTE, SYNC_ROUTE
from tests.test_console_script import child_env, console_script, wait_until_reached
from tests.test_ledger import entries

# --- --dry-run ------------------------------------------------------------------------------------------------

def test_dry_run_shows_the_plan_and_the_estimate_and_sends_nothing(cli, fake, monkeypatch) -> None:
    monkeypatch.delenv("GLM_API_KEY")  # no key needed to see what it would cost
    result = cli("generate", "一只猫", "--dry-run", "-n", "2", "--style", "水彩", "-o", "plans")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "2 image(s) of cogview-4-250304, size 1024x1024, quality (the model's default), style 水彩",
        "Prompt sent: 一只猫，水彩画风格，柔和晕染，透明色层，纸张纹理",
        "Saved in: plans",
        "Estimated cost: 0.12 CNY (reference price table).",
    ]
    assert result.stderr == "Dry run: nothing was sent.\n"
    assert fake.requests == [] and not Path("plans").exists()  # nothing sent, no folder made


def test_dry_run_in_chinese_counts_the_rewrite_and_the_consent(cli, fake) -> None:
    result = cli("generate", "一只猫", "--dry-run", "--enhance", "-n", "3", "--lang", "zh",
                 env={"GLM_IMAGE_CONFIRM_ABOVE": "0.1"})
    assert result.exit_code == 0, result.stderr
    assert "3 张 cogview-4-250304 图片" in result.stdout and "次对话调用" in result.stdout
    assert "预计费用：0.18 CNY" in result.stdout
    assert "超过 confirm-above（0.10 CNY）" in result.stderr and "试运行：未发送任何请求。" in result.stderr
    assert fake.requests == []


def test_dry_run_json_is_the_library_plan_and_estimate(cli, fake) -> None:
    from glm_image_cli.core.studio import Studio

    result = cli("generate", "a cat", "--dry-run", "--json", "-n", "2", "-m", "glm-image", "--size", "1280x1280")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    with Studio.from_config(overrides={"model": "glm-image", "size": "1280x1280"}) as studio:
        plan = studio.plan("a cat", samples=2)
        estimate = studio.estimate(plan)
    assert record["type"] == "plan" and record["dry_run"] is True
    assert (record["model"], record["size"], record["n"], record["prompt_sent"]) == \
        (plan.model, plan.size, 2, plan.prompt_sent)
    assert record["estimate"] == estimate.to_json() and record["estimate"]["images"] == {"glm-image": 2}
    assert fake.requests == []


def test_dry_run_checks_what_a_run_would_refuse(cli, fake) -> None:
    result = cli("generate", "a cat", "--dry-run", "--size", "1x1")
    assert result.exit_code == 2 and fake.requests == []


# --- --open ---------------------------------------------------------------------------------------------------

def fake_opener(folder: Path, program: str, body: str) -> dict[str, str]:
    folder.mkdir(exist_ok=True)
    script = folder / program
    script.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    script.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def test_open_starts_the_viewer_on_the_saved_image_and_never_waits_for_it(fake, tmp_path: Path) -> None:
    """The fake xdg-open blocks on a FIFO until the test reads it: the run is over by then."""
    fifo = tmp_path / "opened.fifo"
    os.mkfifo(fifo)
    env = {**child_env(fake), "DISPLAY": ":0",
           **fake_opener(tmp_path / "bin", "xdg-open", f'printf "%s\\n" "$@" > {fifo}\n')}
    done = subprocess.run([*console_script(), "generate", "a cat", "-o", "out", "--open"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    [saved] = done.stdout.split()
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        received = b""
        while not received.endswith(b"\n"):
            assert select.select([reader], [], [], 30)[0], "the viewer was never started"
            received += os.read(reader, 4096)
    finally:
        os.close(reader)
    assert received.decode().strip() == str(Path(saved).resolve())


@pytest.mark.parametrize("opener", ["missing", "failing"])
def test_open_without_a_working_viewer_is_quiet_and_keeps_the_exit_code(fake, tmp_path: Path, opener: str) -> None:
    env = {**child_env(fake), "DISPLAY": ":0"}
    if opener == "failing":
        env.update(fake_opener(tmp_path / "bin", "xdg-open", "exit 3\n"))
    else:
        env["PATH"] = str(Path(console_script()[0]).parent)  # no xdg-open anywhere on it
    done = subprocess.run([*console_script(), "generate", "a cat", "-o", "out", "--open", "--lang", "zh"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "错误" not in done.stderr and "警告" not in done.stderr
    assert Path(done.stdout.strip()).exists()


def test_the_viewer_for_each_system() -> None:
    found = {"xdg-open": "/usr/bin/xdg-open", "open": "/usr/bin/open"}.get
    image = Path("/p/cat.png")
    assert viewer_command(image, platform="linux", display=True, which=found) == ["/usr/bin/xdg-open", "/p/cat.png"]
    assert viewer_command(image, platform="linux", display=False, which=found) is None  # SSH: no desktop
    assert viewer_command(image, platform="linux", display=True, which=lambda _: None) is None
    assert viewer_command(image, platform="darwin", display=False, which=found) == ["/usr/bin/open", "/p/cat.png"]
    assert viewer_command(image, platform="win32", display=False, which=found) is None  # os.startfile instead


# --- -o - -----------------------------------------------------------------------------------------------------

def test_dash_writes_the_image_to_stdout_and_keeps_a_paid_copy(fake) -> None:
    done = subprocess.run([*console_script(), "generate", "一只猫", "-o", "-"], env=child_env(fake),
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    [kept] = Path("glm-images").glob("*.png")  # the default output folder
    assert done.stdout == kept.read_bytes() and done.stdout.startswith(b"\x89PNG")
    assert f"the image is kept at {kept}" in done.stderr.decode()
    [row] = entries()
    assert row.outcome == "saved" and fake.count(SYNC_ROUTE) == 1
    history = subprocess.run([*console_script(), "history", "--json"], env=child_env(fake), capture_output=True,
                             text=True, timeout=60)
    [entry] = json.loads(history.stdout)
    assert Path(entry["path"]).resolve() == kept.resolve() and entry["ok"] is True


@pytest.mark.parametrize(("args", "terminal", "english", "chinese"), [
    (("-o", "-"), Terminal(stdout_tty=True), "which is a terminal", "而标准输出是终端"),
    (("-o", "-", "-n", "2"), Terminal(), "not 2", "而不是 2 张"),
    (("-o", "-", "--json"), Terminal(), "both write to stdout", "都写标准输出"),
])
def test_dash_refuses_what_cannot_work_before_anything_is_sent(cli, fake, args, terminal, english,
                                                                chinese) -> None:
    for lang, words in (("en", english), ("zh", chinese)):
        result = cli("generate", "a cat", *args, "--lang", lang, terminal=terminal)
        assert result.exit_code == 2 and words in result.stderr and result.stderr.count("\n") == 1
        if "--json" in args:  # errors under --json are also a JSON object on stdout, with a stable code
            assert json.loads(result.stdout)["error"]["code"] == "STDOUT_NOT_JSON"
        else:
            assert result.stdout == ""
    assert fake.requests == [] and not Path("glm-images").exists()


def test_a_reader_that_leaves_early_loses_bytes_never_the_image_or_its_record(fake) -> None:
    """`| head -c 10`: the pipe closes while the image is on its way; it is still saved, in history and in the
    ledger, and the run ends as a closed pipe (141), not as a failure."""
    fake.latency = 60  # held until the test has closed the pipe
    process = subprocess.Popen([*console_script(), "generate", "一只猫", "-o", "-"], env=child_env(fake),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until_reached(fake, process, SYNC_ROUTE)
        process.stdout.close()  # the reader goes away
        fake.released.set()
        process.wait(timeout=60)
        stderr = process.stderr.read().decode()
    finally:
        process.kill()
        process.stderr.close()
    assert process.returncode == 141, stderr
    assert "Traceback" not in stderr
    [kept] = Path("glm-images").glob("*.png")
    assert kept.read_bytes().startswith(b"\x89PNG")
    [row] = entries()
    assert row.outcome == "saved" and fake.count(SYNC_ROUTE) == 1 and fake.count(CHAT_ROUTE) == 0


# --- again and edit take the same three ---------------------------------------------------------------------

def test_again_dry_run_and_dash_as_generate(cli, fake) -> None:
    assert cli("generate", "一只猫", "-o", "out").exit_code == 0
    entry = json.loads(cli("history", "--json").stdout)[0]["id"]
    planned = cli("again", str(entry), "--dry-run", "-n", "2", "--json")
    assert planned.exit_code == 0, planned.stderr
    record = json.loads(planned.stdout)
    assert (record["prompt"], record["n"], record["estimate"]["images"]) == ("一只猫", 2, {"cogview-4-250304": 2})
    assert fake.count(SYNC_ROUTE) == 1  # the dry run sent nothing
    piped = cli("again", str(entry), "-o", "-")
    assert piped.exit_code == 0, piped.stderr
    [kept] = Path("glm-images").glob("*.png")
    assert piped.stdout_bytes == kept.read_bytes() and fake.count(SYNC_ROUTE) == 2


def test_edit_dry_run_names_its_source_images(cli, fake, tmp_path: Path) -> None:
    from tests.fake_bigmodel import make_png

    Path("in.png").write_bytes(make_png())
    result = cli("edit", "in.png", "-p", "make it blue", "--dry-run", "--json",
                 env={"GLM_IMAGE_BACKEND": "openai", "GLM_BASE_URL": "http://127.0.0.1:9/v1"})
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["images"] == ["in.png"] and record["prompt"] == "make it blue"


def test_dry_run_of_alternatives_lists_every_prompt_with_one_estimate(cli, fake) -> None:
    result = cli("generate", "一只{猫|狗}", "--dry-run", "--json", "-m", "cogview-4", "--size", "1024x1024")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["type"] == "plans" and [plan["prompt"] for plan in shown["plans"]] == ["一只猫", "一只狗"]
    assert shown["estimate"]["images"] == {"cogview-4": 2}
    assert fake.requests == []


def test_dry_run_counts_every_best_of_candidate(cli, fake) -> None:
    result = cli("generate", "a cat", "--best-of", "3", "-n", "2", "--dry-run", "--json", "-m", "cogview-4",
                 "--size", "1024x1024")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["n"] == 6 and shown["estimate"]["images"] == {"cogview-4": 6}
    assert fake.requests == []
