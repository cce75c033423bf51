"""Learned account limits: a platform whose count lags, a remembered ceiling that is too low, and the plain case.

Each case runs `glm-image batch` as a subprocess against the fake BigModel server on 127.0.0.1 (fixed latency
per generation; beyond the account's limit, 429/1302 at once, not billed) and compares its wall time with an
ideal or with a run told the limit (`-j K`):

- lagging: the fake keeps counting each call 0.1 s after its answer (K=4, -j 16, N=80, L=0.5 s).  A slot can
  be used again 0.6 s after it was taken, so the ideal is ceil(N/K)·(L+0.1) = 12 s.  Target ≤ 1.3× with all
  N made, on the first run and on a second one that starts from what the first remembered.
- too low: the store says the account takes 2 (an earlier run learned it), the account takes 4.  Target: the
  run recovers (learns 4) and stays within 1.3× of a run told the limit.
- plain: K=4, no lag.  Target ≤ 1.06× of a run told the limit (`-j 4`).

    python benchmarks/limits.py                 # all cases
    python benchmarks/limits.py --case lagging  # one
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from glm_image_cli.core.limits import LimitStore  # noqa: E402
from tests.fake_bigmodel import DEFAULT_KEY, SYNC_ROUTE, FakeBigModel  # noqa: E402

MODEL = "cogview-4-250304"


@dataclass
class Run:
    name: str
    wall: float
    made: int
    posts: int
    refused: int
    account_limit: int | None


class Bench:
    """One temporary data folder and fake per case; ``batch`` runs the CLI and measures it."""

    def __init__(self, n: int, latency: float, limit: int, lag: float) -> None:
        self.n, self.latency, self.limit, self.lag = n, latency, limit, lag
        self.work = Path(tempfile.mkdtemp(prefix="glm-image-limits-"))
        self.prompts = self.work / "prompts.txt"
        self.prompts.write_text("\n".join(f"基准测试图片 {i}" for i in range(n)) + "\n", encoding="utf-8")
        self.cli = shutil.which("glm-image", path=str(Path(sys.executable).parent)) or "glm-image"
        self.fake = FakeBigModel(latency=latency)
        self.fake.concurrency_limit = limit
        self.fake.count_lag = lag
        self.runs = 0

    def __enter__(self) -> Bench:
        self.fake.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.fake.__exit__(*exc)
        shutil.rmtree(self.work, ignore_errors=True)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "GLM_BASE_URL": self.fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "NO_COLOR": "1",
                "GLM_IMAGE_CONFIG": str(self.work / "config.toml"), "GLM_IMAGE_DATA_DIR": str(self.work / "data"),
                "NO_PROXY": "127.0.0.1"}

    @property
    def store(self) -> LimitStore:
        return LimitStore.for_account(self.work / "data", DEFAULT_KEY, self.fake.base_url)

    def batch(self, name: str, concurrency: int) -> Run:
        self.runs += 1
        out = self.work / f"out{self.runs}"
        before, refused_before = self.fake.count(SYNC_ROUTE), self.fake.refused
        started = time.perf_counter()
        done = subprocess.run([self.cli, "batch", str(self.prompts), "-o", str(out), "-j", str(concurrency), "-q",
                               "--yes", "--no-history", "--json"], env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-2000:])
        learned = None
        lines = done.stdout.strip().splitlines()
        if lines:
            with_limits = json.loads(lines[-1]).get("limits") or {}
            learned = (with_limits.get(MODEL) or {}).get("account_limit")
        return Run(name, wall, len(list(out.glob("*.png"))), self.fake.count(SYNC_ROUTE) - before,
                   self.fake.refused - refused_before, learned)


def show(runs: list[Run], reference: float, reference_name: str) -> None:
    print(f"  {'run':34} {'wall s':>7} {'ratio':>6} {'images':>7} {'POSTs':>6} {'refused':>8} {'learned':>8}")
    for run in runs:
        print(f"  {run.name:34} {run.wall:7.2f} {run.wall / reference:6.3f} {run.made:7d} {run.posts:6d} "
              f"{run.refused:8d} {run.account_limit!s:>8}")
    print(f"  (ratio: to {reference_name} = {reference:.2f} s)")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def lagging(n: int, latency: float, lag: float) -> bool:
    limit, concurrency = 4, 16
    ideal = math.ceil(n / limit) * (latency + lag)
    print(f"lagging: K={limit}, the fake counts each call {lag} s after its answer, -j {concurrency}, N={n}, "
          f"L={latency} s")
    with Bench(n, latency, limit, lag) as bench:
        runs = [bench.batch("glm-image batch (1st run)", concurrency),
                bench.batch("glm-image batch (2nd run)", concurrency)]
    show(runs, ideal, "the cycle ideal ceil(N/K)·(L+lag)")
    ok = all(run.made == n and run.wall <= 1.3 * ideal for run in runs)
    print(f"  target ≤ 1.3× the ideal with all {n} made, both runs: {verdict(ok)}")
    return ok


def too_low(n: int, latency: float) -> bool:
    limit, concurrency = 4, 16
    print(f"too low: K={limit}, the store remembers 2, -j {concurrency}, N={n}, L={latency} s")
    with Bench(n, latency, limit, 0.0) as bench:
        told = bench.batch(f"told the limit (-j {limit})", limit)
        bench.store.put(MODEL, 2)
        remembered = bench.batch("glm-image batch (remembers 2)", concurrency)
        stored = bench.store.get(MODEL)
    show([told, remembered], told.wall, "the run told the limit")
    ok = remembered.made == n and remembered.wall <= 1.3 * told.wall and stored == limit
    print(f"  target: recovers within the run (stored {stored}), ≤ 1.3× the run told the limit: {verdict(ok)}")
    return ok


def plain(n: int, latency: float) -> bool:
    limit, concurrency = 4, 16
    print(f"plain: K={limit}, no lag, -j {concurrency}, N={n}, L={latency} s")
    with Bench(n, latency, limit, 0.0) as bench:
        told = bench.batch(f"told the limit (-j {limit})", limit)
        first = bench.batch("glm-image batch (1st run)", concurrency)
        second = bench.batch("glm-image batch (2nd run)", concurrency)
    show([told, first, second], told.wall, "the run told the limit")
    ok = all(run.made == n and run.wall <= 1.06 * told.wall for run in (first, second))
    print(f"  target ≤ 1.06× the run told the limit: {verdict(ok)}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=["lagging", "too-low", "plain", "all"], default="all")
    parser.add_argument("--n", type=int, default=80)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--lag", type=float, default=0.1)
    options = parser.parse_args()
    results = []
    if options.case in ("lagging", "all"):
        results.append(lagging(options.n, options.latency, options.lag))
    if options.case in ("too-low", "all"):
        results.append(too_low(options.n, options.latency))
    if options.case in ("plain", "all"):
        results.append(plain(options.n, options.latency))
    print("all targets met" if all(results) else "some targets NOT met")


if __name__ == "__main__":
    main()
