"""Batch memory: peak RSS of `glm-image batch` must not grow with the number of images.

A 2048x2048 glm-image result is about 8 MB.  A batch that keeps every downloaded image (or its
result) alive until the end grows by that much per image; one that streams each image to disk
and lets it go needs about "a couple of images per call in flight" on top of the bare CLI.

A fake BigModel (tests/fake_bigmodel.py) on 127.0.0.1 serves a valid ~8 MB PNG of random pixels
(stored uncompressed) behind the URL each sync generation returns.  `glm-image batch --yes -j J
--no-history` runs as a child process per case, with an isolated config and data dir in a temp
folder; its peak RSS comes from os.wait4 on that child, so each number is that run's own.  The child is
started by a small fresh Python runner, not by this process: a child's ru_maxrss counts the address
space it was forked from, and this process holds the image and the fake server.
Baselines (the largest counts): `glm-image models --json`, `glm-image batch --dry-run` (the CLI loaded,
nothing sent) and `glm-image batch` of one prompt with the fake's tiny 8x8 PNG (the whole download and
save path loaded: httpx and all, but no big image).

Cases: N=24 at -j 2, N=96 at -j 2, N=96 at -j 8.  Targets, reported PASS/FAIL:
  (a) peak RSS at N=96 within 10% of N=24 at the same -j (no per-image growth);
  (b) peak RSS <= baseline + j * 2 * image size.
Every case must write all N images (counted).  Exits 0 whatever the targets say; 1 if a run failed.

    pip install -e '.[test]' && python benchmarks/memory.py    # all three cases, about a minute
    python benchmarks/memory.py --quick                        # only N=24 and N=96 at -j 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_bigmodel import DEFAULT_KEY, FILE_ROUTE, FakeBigModel  # noqa: E402

MIB = 1024 * 1024
CASES: tuple[tuple[int, int], ...] = ((24, 2), (96, 2), (96, 8))  # (N, -j)


@dataclass
class Row:
    case: str
    n: int
    jobs: int
    wall: float
    rss_mib: float
    code: int
    made: int
    baseline: bool = False

    @property
    def ok(self) -> bool:
        """The run exited 0 and wrote every image it was asked for."""
        return self.code == 0 and self.made == self.n


def big_png(width: int = 2048, height: int = 1366) -> bytes:
    """A valid RGB PNG of random pixels, IDAT stored with zlib level 0: about width*height*3 bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    noise = os.urandom(width * 3 * height)
    stride = width * 3
    raw = b"".join(b"\x00" + noise[y * stride:(y + 1) * stride] for y in range(height))  # filter type 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 0))
            + chunk(b"IEND", b""))


# Runs the CLI and reports its own peak RSS.  A child's ru_maxrss starts at the RSS high-water mark of
# the address space it was forked from (Linux records it at exec), so forking the CLI from this big
# process (the ~8 MB image, the fake server) would put a floor under every number.  Forking it from
# this small, fresh interpreter instead keeps that floor at a bare Python's ~10 MiB.
RUNNER = r"""
import os, subprocess, sys, time
timeout, args = float(sys.argv[1]), sys.argv[2:]
started = time.perf_counter()
child = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
while True:
    pid, status, usage = os.wait4(child.pid, os.WNOHANG)
    if pid:
        break
    if time.perf_counter() - started > timeout:
        child.kill()
        _, status, usage = os.wait4(child.pid, 0)
        sys.stderr.write(f"timed out after {timeout:.0f} s\\n")
        break
    time.sleep(0.02)
print(time.perf_counter() - started, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def run_measured(args: list[str], env: dict[str, str], timeout: float) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MiB, exit code) of one CLI run, measured with os.wait4 by a fresh runner."""
    with tempfile.TemporaryFile() as errors:
        try:
            done = subprocess.run([sys.executable, "-c", RUNNER, str(timeout), *args], env=env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
                                  timeout=timeout + 30, check=False, text=True)
            wall, maxrss, code = done.stdout.split()
        except (subprocess.TimeoutExpired, ValueError):
            wall, maxrss, code = "nan", "0", "-1"
        if code != "0":
            errors.seek(0)
            sys.stderr.write(errors.read().decode(errors="replace")[-2000:])
    return float(wall), int(maxrss) / 1024, int(code)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only the first two cases (N=24 and N=96 at -j 2)")
    parser.add_argument("--latency", type=float, default=0.02, help="fake upstream seconds per generation")
    parser.add_argument("--timeout", type=float, default=180.0, help="give up on one run after this many seconds")
    options = parser.parse_args()
    cases = CASES[:2] if options.quick else CASES
    image = big_png()
    image_mib = len(image) / MIB
    work = Path(tempfile.mkdtemp(prefix="glm-image-memory-"))
    cli = shutil.which("glm-image", path=str(Path(sys.executable).parent)) or "glm-image"
    prompts = work / "prompts.txt"
    largest = max(n for n, _ in cases)
    prompts.write_text("\n".join(f"内存基准图片 {i}" for i in range(largest)) + "\n", encoding="utf-8")
    one = work / "one.txt"
    one.write_text("内存基准图片 基线\n", encoding="utf-8")
    print(f"image: valid PNG of {len(image):,} bytes ({image_mib:.2f} MiB), served by URL; "
          f"fake upstream latency {options.latency}s")
    rows: list[Row] = []
    try:
        with FakeBigModel(latency=options.latency) as fake:
            env = {**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "NO_COLOR": "1",
                   "GLM_IMAGE_CONFIG": str(work / "config.toml"), "GLM_IMAGE_DATA_DIR": str(work / "data"),
                   "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
            for name, n, args in (("baseline: models --json", 0, [cli, "models", "--json"]),
                                  ("baseline: batch --dry-run", 0, [cli, "batch", str(prompts), "-o", str(work / "dry"),
                                                                    "--dry-run", "--yes", "-q", "--no-history"]),
                                  ("baseline: batch N=1 tiny PNG", 1, [cli, "batch", str(one), "-o", str(work / "one"),
                                                                       "--yes", "-q", "--no-history"])):
                wall, rss, code = run_measured(args, env, options.timeout)
                made = len(list((work / "one").glob("*.png"))) if n else 0
                rows.append(Row(name, n, 0, wall, rss, code, made, baseline=True))
            fake.image_bytes = image  # from here on every download is the ~8 MB PNG
            for n, jobs in cases:
                case_prompts = work / f"prompts-{n}.txt"
                case_prompts.write_text("\n".join(f"内存基准图片 {i}" for i in range(n)) + "\n", encoding="utf-8")
                out = work / f"out-{n}-j{jobs}"
                before = fake.count(FILE_ROUTE)
                wall, rss, code = run_measured([cli, "batch", str(case_prompts), "-o", str(out), "-j", str(jobs),
                                                "-q", "--yes", "--no-history"], env, options.timeout)
                made = len(list(out.glob("*.png")))
                downloads = fake.count(FILE_ROUTE) - before
                rows.append(Row(f"batch N={n} -j {jobs}", n, jobs, wall, rss, code, made))
                if downloads != n:
                    print(f"note: N={n} -j {jobs} downloaded {downloads} images for {n} prompts")
                shutil.rmtree(out, ignore_errors=True)  # keep disk use to one case's images
    finally:
        shutil.rmtree(work, ignore_errors=True)

    return report(rows, image_mib)


def report(rows: list[Row], image_mib: float) -> int:
    """Print the table and the two targets; 1 when a run failed (then no verdict is given), else 0."""
    good_baselines = [row.rss_mib for row in rows if row.baseline and row.ok]
    baseline = max(good_baselines) if good_baselines else float("nan")
    small = {row.jobs: row for row in rows if not row.baseline and row.n == CASES[0][0] and row.ok}
    cases = [row for row in rows if not row.baseline]
    print(f"{'case':30} {'N':>4} {'-j':>3} {'wall s':>7} {'peak RSS MiB':>13} {'MiB/image vs N=24':>18} "
          f"{'exit':>5} {'written':>8} {'(a) ≤+10%':>10} {'(b) ≤ base+2j·img':>18}")
    verdicts_a: list[bool] = []
    verdicts_b: list[bool] = []
    for row in rows:
        written = f"{row.made}/{row.n}" if row.n else "-"
        if row.baseline:
            print(f"{row.case:30} {'-':>4} {'-':>3} {row.wall:7.2f} {row.rss_mib:13.1f} {'-':>18} {row.code:5d} "
                  f"{written:>8} {'-':>10} {'-':>18}")
            continue
        reference = small.get(row.jobs)
        growth = a = "-"
        limit = baseline + row.jobs * 2 * image_mib
        b = f"n/a ≤{limit:.0f}" if good_baselines else "n/a"
        if not row.ok:
            a = "n/a"
        else:
            if reference is not None and reference is not row:
                growth = f"{(row.rss_mib - reference.rss_mib) / (row.n - reference.n):+.2f}"
                verdicts_a.append(row.rss_mib <= reference.rss_mib * 1.10)
                a = verdict(verdicts_a[-1])
            if good_baselines:
                verdicts_b.append(row.rss_mib <= limit)
                b = f"{verdict(verdicts_b[-1])} ≤{limit:.0f}"
        print(f"{row.case:30} {row.n:4d} {row.jobs:3d} {row.wall:7.2f} {row.rss_mib:13.1f} {growth:>18} "
              f"{row.code:5d} {written:>8} {a:>10} {b:>18}")
    unmatched = sorted({row.jobs for row in cases} - {jobs for n, jobs in CASES if n == CASES[0][0]})
    print(f"baseline = {baseline:.1f} MiB (largest good baseline row); image = {image_mib:.2f} MiB"
          + "".join(f"; (a) has no N={CASES[0][0]} reference at -j {jobs}" for jobs in unmatched))
    if not all(row.ok for row in rows):
        print("some runs failed (non-zero exit or missing images): no verdict on the targets")
        return 1
    print(f"target (a) N=96 within 10% of N=24 at the same -j: {verdict(all(verdicts_a))}")
    print(f"target (b) peak ≤ baseline + j·2·image size: {verdict(all(verdicts_b))}")
    print(f"images written: {sum(row.made for row in cases)} of {sum(row.n for row in cases)}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
