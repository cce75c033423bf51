"""Money fault matrix for `glm-image batch`: under each fault, is anything paid twice, or paid and lost?

A batch spends money per image.  Exit codes and messages are easy to test; what matters to the user is
whether, after a fault and the natural recovery (run the same command again with `--yes`), every image
paid for is in the folder exactly once, and nothing that may already have been billed is bought again.
This script measures that from the upstream's side, not from what the tool says about itself.

How: each case gets a fresh temp folder, a prompt file of 8 distinct prompts and its own fake BigModel
(tests/fake_bigmodel.py) on 127.0.0.1, instrumented here to record, for every generation call, what it
answered (an image, an error, a dropped connection) and whether the client was still there to receive it,
and for every image URL whether its bytes were served.  The CLI runs as a child process with an isolated
GLM_IMAGE_CONFIG / GLM_IMAGE_DATA_DIR, GLM_BASE_URL pointing at the fake.  A faulty first run (or two) is
followed by a plain re-run with the fault removed; then, from the fake's log and the folder:

  paid          generation calls the fake answered with an image (the upstream bills these, received or not)
  saved         non-hidden image files (PNG, JPEG, WebP) in the folder at the end
  paid twice    sum over prompts of max(0, images answered for that prompt - 1)
  paid & lost   images the tool received (answer delivered to a live client and the image's bytes served)
                whose prompt has no file at the end: money the tool itself lost
  answers lost  calls whose result never reached the tool, so it could not save it: connections dropped
                by the upstream, answers ready only after the client was killed, image URLs that never
                served their bytes (expired).  The upstream may have billed them; the tool must report
                them as "may have been billed" and must not send them again
  resent        generation calls sent for a prompt after one of its answers was lost (a possible 2nd charge);
                only --retry-unsafe may resend, and only in the run it was given to
  unrecorded    calls that may have been billed (answered with an image, or their answer lost) that the spend
                ledger does not count (`usage --json`, totals.billed): spend the budgets cannot see
  held          paid twice = 0, paid & lost = 0, resent = what --retry-unsafe asked for, unrecorded = 0, and
                the exit codes are the documented ones

Cases: kill -9 mid-batch; two batches started together into one folder; manifest deleted; image downloads
failing (503); expired image URLs (404); lost answers; a damaged manifest; a wrong key; a name template too
long for the file system; a full disk (RLIMIT_FSIZE); lost answers sent again with --retry-unsafe; SIGTERM
and SIGHUP mid-batch (drained like Ctrl-C); glm-image (asynchronous tasks) killed while polling, re-run as a
batch or collected after `generate`; --enhance resumed after --max-images with rewrites that differ every call;
a deleted manifest with --no-metadata and with JPEG images; a deleted lock file and a second batch on the same
folder.  Exits 0 whatever held (it is a benchmark); 1 if a run crashed (exit 1, a traceback) or timed out.
About 2 minutes.

    pip install -e '.[test]' && python benchmarks/faults.py
    python benchmarks/faults.py --only kill,disk -v        # some cases, with each run's last stderr lines
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import resource
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_bigmodel import (  # noqa: E402
    ASYNC_ROUTE,
    DEFAULT_KEY,
    FILE_ROUTE,
    POLL_ROUTE,
    SYNC_ROUTE,
    FakeBigModel,
    Reply,
    _route_of,
)

N_PROMPTS = 8
RUN_TIMEOUT = 40.0  # seconds for one CLI run; more is a hang
ITEM_TOKEN = re.compile(r"fault item (\d+)\b")
FILE_NUMBER = re.compile(r"^(\d{4})-")
WRONG_KEY = "wrong-key-0000000000000000.NOTTHEREALONE"
KILLED = -9
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


# --- the instrumented upstream --------------------------------------------------------------------------

@dataclass
class Call:
    """One generation call as the upstream saw it."""

    item: int | None  # the prompt's number, read from the prompt sent
    kind: str  # "image" (delivered), "gone" (made, but the client had died), "drop", "error",
    # "task" (an asynchronous task accepted: billed; its image can be collected by polling the task id)
    url_path: str | None = None  # the image URL's path, for an image answer


def _peer_gone(connection: socket.socket | None) -> bool:
    """True when the client closed its end (a killed process): readable, and a peek reads end-of-file."""
    if connection is None:
        return False
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class CountingFake(FakeBigModel):
    """The tests' fake upstream, recording what each call was answered and whether the answer arrived."""

    def __init__(self, latency: float = 0.0) -> None:
        self.calls: list[Call] = []
        self.served: Counter[str] = Counter()  # image URL path -> times its bytes went to a live client
        self.expire_new_urls = False  # URLs answered while set answer 404 forever (an expired link)
        self.expired: set[str] = set()
        self._local = threading.local()
        super().__init__(latency=latency)

    def _handler_class(self) -> type[Any]:
        base = super()._handler_class()
        local = self._local

        class Handler(base):  # type: ignore[misc, valid-type]
            def _handle(self, method: str) -> None:
                local.connection = self.connection
                super()._handle(method)

        return Handler

    def clear_scripts(self) -> None:
        """Forget scripted replies not used up: the fault is removed."""
        with self._lock:
            self._scripts.clear()

    def _answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> Reply:
        reply = super()._answer(method, path, headers, body)
        route = _route_of(method, path)
        if route == ASYNC_ROUTE:  # glm-image: the task is paid for when accepted
            prompt = body.get("prompt") if isinstance(body, dict) else None
            token = ITEM_TOKEN.search(prompt) if isinstance(prompt, str) else None
            accepted = reply.status == 200 and isinstance(reply.body, dict) and reply.body.get("id")
            with self._lock:
                self.calls.append(Call(int(token.group(1)) if token else None, "task" if accepted else "error"))
            return reply
        if route not in (SYNC_ROUTE, FILE_ROUTE):
            return reply
        if reply.delay and not reply.drop:  # wait here, so the answer is judged when it would be written
            self.released.wait(reply.delay)
            reply = dataclasses.replace(reply, delay=0.0)
        if route == FILE_ROUTE:
            file_path = path.split("?", 1)[0]
            if file_path in self.expired:
                reply = Reply(status=404, body={"error": "expired"})
            if reply.status == 200 and not reply.drop and not _peer_gone(getattr(self._local, "connection", None)):
                with self._lock:
                    self.served[file_path] += 1
            return reply
        prompt = body.get("prompt") if isinstance(body, dict) else None
        token = ITEM_TOKEN.search(prompt) if isinstance(prompt, str) else None
        item = int(token.group(1)) if token else None
        data = reply.body.get("data") if isinstance(reply.body, dict) else None
        if reply.drop:
            call = Call(item, "drop")
        elif reply.status == 200 and isinstance(data, list) and data:
            url_path = urlsplit(str(data[0].get("url", ""))).path or None
            gone = _peer_gone(getattr(self._local, "connection", None))
            call = Call(item, "gone" if gone else "image", url_path)
            if self.expire_new_urls and url_path:
                with self._lock:
                    self.expired.add(url_path)
        else:
            call = Call(item, "error")
        with self._lock:
            self.calls.append(call)
        return reply

    def settle(self, timeout: float = 15.0) -> None:
        """Wait (bounded) until no generation call is still being answered, so the log is complete."""
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)


def random_png(width: int = 256, height: int = 256) -> bytes:
    """A valid RGB PNG of random pixels stored uncompressed: about width*height*3 bytes (~197 KB at 256x256)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    stride = width * 3
    noise = os.urandom(stride * height)
    raw = b"".join(b"\x00" + noise[y * stride:(y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 0))
            + chunk(b"IEND", b""))


# --- running the CLI -------------------------------------------------------------------------------------

def cli_command() -> list[str]:
    found = shutil.which("glm-image", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "glm_image_cli"]


def child_env(fake: FakeBigModel, work: Path) -> dict[str, str]:
    """The developer's environment without keys, proxies or glm-image settings; config and data in ``work``."""
    dropped = ("GLM_", "ZAI_", "ZHIPUAI_", "LC_", "LANGUAGE")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(dropped) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update({"GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "NO_COLOR": "1",
                "GLM_IMAGE_CONFIG": str(work / "config" / "config.toml"), "GLM_IMAGE_DATA_DIR": str(work / "data"),
                "LANG": "en_US.UTF-8", "COLUMNS": "160", "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost"})
    return env


@dataclass
class Case:
    """A fresh folder, prompt file and fake upstream, and what its runs did."""

    name: str
    fake: CountingFake
    work: Path
    cli: list[str]
    logs: list[tuple[str, int, str]] = field(default_factory=list)  # (label, exit code, stderr)
    problems: list[str] = field(default_factory=list)  # crashes, timeouts, setup that did not happen

    def __post_init__(self) -> None:
        self.out = self.work / "out"
        self.prompts = self.work / "prompts.txt"
        lines = [f"fault item {i:02d}: a lighthouse on a cliff at dusk, waves breaking below, case {self.name}"
                 for i in range(1, N_PROMPTS + 1)]
        self.prompts.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.env = child_env(self.fake, self.work)

    def args(self, *extra: str) -> list[str]:
        return [*self.cli, "batch", str(self.prompts), "-o", str(self.out), "--yes", *extra]

    def start(self, *extra: str, env: dict[str, str] | None = None,
              preexec: Callable[[], None] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(self.args(*extra), env=env or self.env, cwd=self.work, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec)

    def finish(self, label: str, process: subprocess.Popen[str], expect_kill: bool = False) -> int:
        try:
            _, stderr = process.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate(timeout=10)
            self.problems.append(f"{label}: timed out after {RUN_TIMEOUT:.0f} s")
        code = process.returncode
        if (code == 1 or "Traceback" in stderr or (code < 0 and not expect_kill)):
            self.problems.append(f"{label}: crashed (exit {code}): {stderr.strip()[-600:]}")
        self.logs.append((label, code, stderr))
        return code

    def run(self, label: str, *extra: str, env: dict[str, str] | None = None,
            preexec: Callable[[], None] | None = None) -> int:
        return self.finish(label, self.start(*extra, env=env, preexec=preexec))

    def ledger_counted(self) -> int | None:
        """The requests the spend ledger counts as billed or maybe billed (`usage --json`); None if unreadable."""
        done = subprocess.run([*self.cli, "usage", "--json"], env=self.env, cwd=self.work, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=RUN_TIMEOUT)
        try:
            return int(json.loads(done.stdout)["totals"]["billed"])
        except (ValueError, KeyError, TypeError):
            self.problems.append(f"usage --json failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
            return None


# --- the faults --------------------------------------------------------------------------------------------
# Each returns (first-run exit codes, re-run exit code).  The re-run is the same command with --yes.

def case_kill(case: Case) -> tuple[list[int], int]:
    """kill -9 once two calls (1 s each, -j 2) are in flight: they are billed, their answers go nowhere."""
    case.fake.latency = 1.0
    process = case.start("-j", "2")
    if not case.fake.wait_for(SYNC_ROUTE, 2, timeout=20):
        case.problems.append("the two calls never arrived before the kill")
    process.kill()
    first = case.finish("killed run", process, expect_kill=True)
    case.fake.latency = 0.0
    return [first], case.run("re-run", "-j", "2")


def case_together(case: Case) -> tuple[list[int], int]:
    """Two identical batches into one folder, started at the same moment: one must refuse (13)."""
    case.fake.latency = 0.3
    one, two = case.start(), case.start()
    codes = [case.finish("run A", one), case.finish("run B", two)]
    case.fake.latency = 0.0
    return codes, case.run("re-run")


def case_manifest_deleted(case: Case) -> tuple[list[int], int]:
    """A complete run, then manifest.jsonl is deleted (by hand, a sync tool, a clean-up script)."""
    first = case.run("first run")
    (case.out / "manifest.jsonl").unlink(missing_ok=True)
    return [first], case.run("re-run")


def case_download_503(case: Case) -> tuple[list[int], int]:
    """Every image download answers 503 three times (all its attempts): paid for, not received."""
    case.fake.script(FILE_ROUTE, *[Reply(status=503, body={"error": "busy"}) for _ in range(3 * N_PROMPTS)])
    first = case.run("first run")
    case.fake.clear_scripts()
    return [first], case.run("re-run")


def case_download_404(case: Case) -> tuple[list[int], int]:
    """The image URLs of the first run are expired (404) and stay so: uncertain, never bought again."""
    case.fake.expire_new_urls = True
    first = case.run("first run")
    case.fake.expire_new_urls = False  # a URL answered from now on would work: buying again would "succeed"
    return [first], case.run("re-run")


def case_retry_unsafe(case: Case) -> tuple[list[int], int]:
    """--retry-unsafe, one call at a time: the first item's answer is lost 3 times (each attempt may be billed,
    2 resends asked for); the re-run, without the flag, must send none of it again."""
    case.fake.script(SYNC_ROUTE, Reply(drop=True), Reply(drop=True), Reply(drop=True))
    first = case.run("first run", "-j", "1", "--retry-unsafe")
    case.fake.clear_scripts()
    return [first], case.run("re-run", "-j", "1")


def case_lost_answers(case: Case) -> tuple[list[int], int]:
    """The first two calls are sent, then their connections drop: no answer, may have been billed."""
    case.fake.script(SYNC_ROUTE, Reply(drop=True), Reply(drop=True))
    first = case.run("first run", "-j", "2")
    case.fake.clear_scripts()
    return [first], case.run("re-run", "-j", "2")


def case_damaged_manifest(case: Case) -> tuple[list[int], int]:
    """Half the batch made (--max-images 4), then the manifest gets a stray byte line and a cut record."""
    first = case.run("first run", "--max-images", "4")
    manifest = case.out / "manifest.jsonl"
    if manifest.is_file():
        last = manifest.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        manifest.write_bytes(manifest.read_bytes() + b"\xff garbage\n" + last[: len(last) // 2])
    else:
        case.problems.append("no manifest after the first run")
    return [first], case.run("re-run")


def case_wrong_key(case: Case) -> tuple[list[int], int]:
    """A wrong key: every call is refused (401, not billed); the re-run has the right key."""
    first = case.run("first run", env={**case.env, "GLM_API_KEY": WRONG_KEY})
    return [first], case.run("re-run")


def case_name_too_long(case: Case) -> tuple[list[int], int]:
    """--name '{slug}' x 8: 8 x 40 characters, over 255 bytes: must be refused before paying."""
    first = case.run("first run", "--name", "{slug}" * 8)
    return [first], case.run("re-run")


DISK_LIMIT = 8 * 1024  # bytes per file: the manifest starts, a ~197 KB image cannot be written


def _small_disk() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (DISK_LIMIT, DISK_LIMIT))


def case_disk_full(case: Case) -> tuple[list[int], int]:
    """Files cannot grow past 8 KB (RLIMIT_FSIZE): the images, paid for, cannot be written."""
    case.fake.image_bytes = random_png()
    first = case.run("first run", preexec=_small_disk)
    return [first], case.run("re-run")


# Issue 25, round three: signals drain like Ctrl-C; glm-image's task ids are journaled before polling.

def _signal_once_in_flight(case: Case, signum: int) -> tuple[list[int], int]:
    """SIGTERM / SIGHUP once two calls (1 s each, -j 2) are in flight: drained, both saved; the re-run makes the
    rest.  SIGHUP with stdout already closed, as when the SSH session went away."""
    import signal

    case.fake.latency = 1.0
    process = case.start("-j", "2")
    if not case.fake.wait_for(SYNC_ROUTE, 2, timeout=20):
        case.problems.append("the two calls never arrived before the signal")
    if signum == signal.SIGHUP and process.stdout is not None:
        process.stdout.close()
    process.send_signal(signum)
    try:
        stderr = process.stderr.read() if process.stderr is not None else ""
        code = process.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        code, stderr = process.wait(timeout=10), ""
        case.problems.append(f"signal {signum}: timed out after {RUN_TIMEOUT:.0f} s")
    if code == 1 or "Traceback" in stderr or code < 0:
        case.problems.append(f"signalled run: crashed or killed (exit {code}): {stderr.strip()[-600:]}")
    case.logs.append((f"signal {signum}", code, stderr))
    case.fake.latency = 0.0
    return [code], case.run("re-run", "-j", "2")


def case_sigterm(case: Case) -> tuple[list[int], int]:
    import signal

    return _signal_once_in_flight(case, signal.SIGTERM)


def case_sighup(case: Case) -> tuple[list[int], int]:
    import signal

    return _signal_once_in_flight(case, signal.SIGHUP)


def case_async_kill(case: Case) -> tuple[list[int], int]:
    """glm-image, kill -9 while the upstream holds the first two polls: two tasks paid, no image made yet; the
    re-run must poll the recorded tasks, not submit them again."""
    case.fake.script(POLL_ROUTE, Reply(delay=3600), Reply(delay=3600))
    process = case.start("-m", "glm-image", "-j", "2")
    if not case.fake.wait_for(POLL_ROUTE, 2, timeout=20):
        case.problems.append("the two polls never arrived before the kill")
    process.kill()
    first = case.finish("killed run", process, expect_kill=True)
    return [first], case.run("re-run", "-m", "glm-image", "-j", "2")


def case_async_collect(case: Case) -> tuple[list[int], int]:
    """`generate` of one glm-image image killed while polling, then `glm-image collect`: saved, billed once."""
    prompt = case.prompts.read_text(encoding="utf-8").splitlines()[0]
    case.fake.script(POLL_ROUTE, Reply(delay=3600))
    process = subprocess.Popen([*case.cli, "generate", prompt, "-m", "glm-image", "-o", str(case.out), "--name",
                                "0001-collected"], env=case.env, cwd=case.work, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not case.fake.wait_for(POLL_ROUTE, 1, timeout=20):
        case.problems.append("the poll never arrived before the kill")
    process.kill()
    first = case.finish("killed generate", process, expect_kill=True)
    collect = subprocess.Popen([*case.cli, "collect"], env=case.env, cwd=case.work, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return [first], case.finish("collect", collect)


def case_enhance_resumed(case: Case) -> tuple[list[int], int]:
    """--enhance --no-cache --max-images 2, run again as the printed resume command says; every rewrite differs
    (temperature 0.7, no cache).  Keys from the typed prompt: each image bought once, 3-4 reached."""
    takes = iter(range(1, 10_000))
    case.fake.chat_reply = lambda body: f"take {next(takes)}: " + str((body.get("messages") or [{}])[-1].get("content"))
    flags = ("--enhance", "--no-cache", "--max-images", "2")
    firsts = [case.run(f"run {number}", *flags) for number in range(1, N_PROMPTS // 2 + 1)]
    return firsts, case.run("re-run", *flags)


def case_no_metadata(case: Case) -> tuple[list[int], int]:
    """--no-metadata (no recipe in the images), then manifest.jsonl is deleted: the folder's index knows them."""
    first = case.run("first run", "--no-metadata")
    (case.out / "manifest.jsonl").unlink(missing_ok=True)
    return [first], case.run("re-run", "--no-metadata")


def case_jpeg(case: Case) -> tuple[list[int], int]:
    """--image-format jpeg (JPEG carries no recipe), then manifest.jsonl is deleted."""
    first = case.run("first run", "--image-format", "jpeg")
    (case.out / "manifest.jsonl").unlink(missing_ok=True)
    return [first], case.run("re-run", "--image-format", "jpeg")


def case_lock_deleted(case: Case) -> tuple[list[int], int]:
    """Two images made, two calls held; the lock file is deleted and a second batch starts on the folder."""
    case.fake.hold_after = 2
    one = case.start("-j", "2")
    if not case.fake.wait_for(SYNC_ROUTE, 4, timeout=20):
        case.problems.append("the first run never had two calls in flight")
    (case.out / ".glm-image.lock").unlink(missing_ok=True)
    two = case.start()
    # Until the second run is refused, or (a folder shared) its first call arrives (held like the others).
    while two.poll() is None and not case.fake.wait_for(SYNC_ROUTE, 5, timeout=0.1):
        pass
    case.fake.released.set()
    return [case.finish("first run", one), case.finish("second run", two)], case.run("re-run")


@dataclass(frozen=True)
class Fault:
    key: str
    label: str
    run: Callable[[Case], tuple[list[int], int]]
    first_exit: tuple[int, ...]  # documented exit codes of the faulty run(s), sorted
    rerun_exit: int
    resends_asked: int = 0  # calls sent again after a lost answer because --retry-unsafe asked for them


FAULTS: tuple[Fault, ...] = (
    Fault("kill", "1 kill -9 mid-batch", case_kill, (KILLED,), 9),
    Fault("together", "2 two batches at once", case_together, (0, 13), 0),
    Fault("manifest", "3 manifest deleted", case_manifest_deleted, (0,), 0),
    Fault("503", "4 downloads fail (503)", case_download_503, (10,), 0),
    Fault("404", "5 URLs expired (404)", case_download_404, (10,), 10),
    Fault("lost", "6 answers lost (drop x2)", case_lost_answers, (9,), 9),
    Fault("damaged", "7 damaged manifest", case_damaged_manifest, (0,), 0),
    Fault("key", "8 wrong key", case_wrong_key, (4,), 0),
    Fault("name", "9 name too long", case_name_too_long, (2,), 0),
    Fault("disk", "10 disk full (FSIZE)", case_disk_full, (11,), 0),
    Fault("unsafe", "11 --retry-unsafe (drop x3)", case_retry_unsafe, (9,), 9, resends_asked=2),
    Fault("sigterm", "12 SIGTERM mid-batch", case_sigterm, (143,), 0),
    Fault("sighup", "13 SIGHUP mid-batch", case_sighup, (129,), 0),
    Fault("async-kill", "14 glm-image kill -9 poll", case_async_kill, (KILLED,), 0),
    Fault("async-collect", "15 generate killed+collect", case_async_collect, (KILLED,), 0),
    Fault("enhance", "16 --enhance resumed x4", case_enhance_resumed, (0, 0, 0, 0), 0),
    Fault("nometa", "17 no manifest, --no-meta", case_no_metadata, (0,), 0),
    Fault("jpeg", "18 no manifest, jpeg", case_jpeg, (0,), 0),
    Fault("lockdel", "19 lock file deleted", case_lock_deleted, (0, 13), 0),
)


# --- measuring ---------------------------------------------------------------------------------------------

@dataclass
class Row:
    fault: Fault
    first: list[int]
    rerun: int
    paid: int
    saved: int
    paid_twice: int
    paid_lost: int
    lost: int
    resent: int
    unrecorded: int
    problems: list[str]
    notes: list[str]

    @property
    def exits_ok(self) -> bool:
        return tuple(sorted(self.first)) == self.fault.first_exit and self.rerun == self.fault.rerun_exit

    @property
    def held(self) -> bool:
        return (self.paid_twice == 0 and self.paid_lost == 0 and self.resent == self.fault.resends_asked
                and self.unrecorded == 0 and self.exits_ok and not self.problems)


def measure(fault: Fault, case: Case, first: list[int], rerun: int) -> Row:
    case.fake.settle()
    with case.fake._lock:
        calls = list(case.fake.calls)
        served = Counter(case.fake.served)
    files = [p for p in case.out.iterdir() if p.suffix in IMAGE_SUFFIXES and not p.name.startswith(".")] \
        if case.out.is_dir() else []
    files_per_item: Counter[int] = Counter()
    for path in files:
        match = FILE_NUMBER.match(path.name)
        if match:
            files_per_item[int(match.group(1))] += 1
    paid_per_item: Counter[int | None] = Counter(c.item for c in calls if c.kind in ("image", "gone", "task"))
    paid_lost = lost = resent = 0
    for item in {c.item for c in calls}:
        mine = [c for c in calls if c.item == item]
        lost_at = next((i for i, c in enumerate(mine) if c.kind in ("drop", "gone")), None)
        if lost_at is not None:
            resent += len(mine) - lost_at - 1
        has_file = item is not None and files_per_item[item] > 0
        for call in mine:
            if call.kind in ("drop", "gone"):
                lost += 1
            elif call.kind == "image" and not has_file:
                if call.url_path and served[call.url_path]:
                    paid_lost += 1  # the tool had the bytes in hand and the folder does not have them
                else:
                    lost += 1  # the upstream never delivered the image
            elif call.kind == "task" and not has_file:
                paid_lost += 1  # a paid task whose id the tool could have polled: never saved
    notes = []
    extra = len(files) - sum(files_per_item.values())
    if extra:
        notes.append(f"{extra} PNG(s) not named after a prompt")
    doubles = sum(n - 1 for n in files_per_item.values() if n > 1)
    if doubles:
        notes.append(f"{doubles} prompt(s) saved more than once")
    if None in paid_per_item:
        notes.append(f"{paid_per_item[None]} paid call(s) with an unrecognised prompt")
    maybe_billed = sum(1 for c in calls if c.kind in ("image", "gone", "drop"))
    counted = case.ledger_counted()
    unrecorded = max(0, maybe_billed - counted) if counted is not None else maybe_billed
    leftovers = sorted(p.name for p in case.out.iterdir() if p.name.startswith(".") and p.suffix != ".lock"
                       and not p.name.endswith((".owner.json", ".index.jsonl"))) if case.out.is_dir() else []
    if leftovers:
        notes.append(f"hidden files left: {', '.join(leftovers[:4])}")
    return Row(fault, first, rerun, paid=sum(paid_per_item.values()), saved=len(files),
               paid_twice=sum(max(0, n - 1) for item, n in paid_per_item.items() if item is not None),
               paid_lost=paid_lost, lost=lost, resent=resent, unrecorded=unrecorded, problems=case.problems,
               notes=notes)


def run_case(fault: Fault, root: Path, cli: list[str]) -> tuple[Row, Case]:
    work = root / fault.key
    work.mkdir()
    with CountingFake() as fake:
        case = Case(fault.key, fake, work, cli)
        try:
            first, rerun = fault.run(case)
        except Exception as exc:  # a broken scenario must not hide the other cases
            case.problems.append(f"scenario failed: {exc!r}")
            first, rerun = [], -1
        return measure(fault, case, first, rerun), case


# --- reporting ---------------------------------------------------------------------------------------------

def exit_text(codes: list[int]) -> str:
    return ",".join("kill" if code == KILLED else str(code) for code in codes) or "-"


def report(rows: list[Row], seconds: float) -> None:
    header = (f"{'case':28} {'first exit':>10} {'re-run':>6} {'paid':>5} {'saved':>5} {'paid twice':>10} "
              f"{'paid&lost':>9} {'answers lost':>12} {'resent':>6} {'unrecorded':>10} {'held':>5}")
    print(header)
    print("-" * len(header))
    for row in rows:
        expected = "" if row.exits_ok else (f"  (documented: {exit_text(list(row.fault.first_exit))}"
                                            f" / {row.fault.rerun_exit})")
        print(f"{row.fault.label:28} {exit_text(row.first):>10} {row.rerun:>6} {row.paid:>5} {row.saved:>5} "
              f"{row.paid_twice:>10} {row.paid_lost:>9} {row.lost:>12} {row.resent:>6} {row.unrecorded:>10} "
              f"{'yes' if row.held else 'NO':>5}{expected}")
    print("-" * len(header))
    held = sum(row.held for row in rows)
    print(f"{'total':28} {'':>10} {'':>6} {sum(r.paid for r in rows):>5} {sum(r.saved for r in rows):>5} "
          f"{sum(r.paid_twice for r in rows):>10} {sum(r.paid_lost for r in rows):>9} "
          f"{sum(r.lost for r in rows):>12} {sum(r.resent for r in rows):>6} {sum(r.unrecorded for r in rows):>10} "
          f"{held:>3}/{len(rows)}")
    verdict = "every case held" if held == len(rows) else f"{len(rows) - held} case(s) did NOT hold"
    print(f"{verdict}; {seconds:.1f} s")
    for row in rows:
        for line in [*row.problems, *row.notes]:
            print(f"  {row.fault.label}: {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated case keys: " + ",".join(f.key for f in FAULTS))
    parser.add_argument("-v", "--verbose", action="store_true", help="print each run's last stderr lines")
    options = parser.parse_args()
    chosen = set(options.only.split(",")) if options.only else {f.key for f in FAULTS}
    unknown = chosen - {f.key for f in FAULTS}
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    cli = cli_command()
    root = Path(tempfile.mkdtemp(prefix="glm-image-faults-"))
    started = time.monotonic()
    rows: list[Row] = []
    try:
        for fault in FAULTS:
            if fault.key not in chosen:
                continue
            row, case = run_case(fault, root, cli)
            rows.append(row)
            if options.verbose:
                for label, code, stderr in case.logs:
                    tail = "\n      ".join(stderr.strip().splitlines()[-6:])
                    print(f"[{fault.label}] {label}: exit {code}\n      {tail}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report(rows, time.monotonic() - started)
    return 1 if any(row.problems for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
