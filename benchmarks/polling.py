"""Polling asynchronous tasks: the delay from "done" to "seen", and the looks per image.

Tasks take 15–25 s (uniform).  The fixed schedule looks after 1, 2.5, 4.75, 7.75, 10.75 … s (then every 3 s);
the learned one (glm_image_cli/backends/polling.py) plans its looks from the intervals earlier tasks finished
in.  Goal, after a warm-up of 10 tasks: mean delay ≤ 0.5 s with ≤ 8 looks per image on average.

The schedule is a pure function of what was learned and the elapsed time, so the main run is on a virtual
clock (fast, deterministic, no round trips).  ``--real`` adds a short run of `glm-image batch` against the fake
server on 127.0.0.1 with tasks scaled to 3–5 s: a warm-up batch of 10, then a batch of 30 that starts from
what the first one stored, measured at the fake (when each task was done, when a look first saw it).

    python benchmarks/polling.py                  # virtual clock, 200 tasks after the warm-up
    python benchmarks/polling.py --real           # and the real-socket run (~30 s)
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from glm_image_cli.backends.bigmodel import PollingPolicy  # noqa: E402
from glm_image_cli.backends.polling import KEEP_TASKS, Interval, finished_between, plan_looks, simulate  # noqa: E402
from tests.fake_bigmodel import DEFAULT_KEY, POLL_ROUTE, FakeBigModel  # noqa: E402

WARM_UP = 10


def virtual(tasks: int, low: float, high: float, seed: int,
            planner: Callable[[list[Interval]], tuple[float, ...]]) -> tuple[list[float], list[int]]:
    """(delays, looks) of the tasks after the warm-up, each planned from the intervals before it."""
    rng = random.Random(seed)
    intervals: list[Interval] = []
    delays: list[float] = []
    looks: list[int] = []
    for index in range(WARM_UP + tasks):
        duration = rng.uniform(low, high)
        seen = simulate(duration, planner(intervals[-KEEP_TASKS:]), PollingPolicy().delays())
        intervals.append(finished_between([look.at for look in seen]))
        if index >= WARM_UP:
            delays.append(seen[-1].at - duration)
            looks.append(len(seen))
    return delays, looks


def row(name: str, delays: list[float], looks: list[int] | float) -> str:
    mean_looks = statistics.mean(looks) if isinstance(looks, list) else looks
    p90 = statistics.quantiles(delays, n=10)[-1] if len(delays) > 1 else delays[0]
    return f"  {name:26} {statistics.mean(delays):12.3f} {p90:10.3f} {max(delays):9.3f} {mean_looks:14.2f}"


def header() -> str:
    return f"  {'schedule':26} {'mean delay s':>12} {'p90 s':>10} {'max s':>9} {'looks / image':>14}"


def real(cli: str) -> tuple[list[float], float]:
    """The second batch's (delays at the fake, looks per image)."""
    work = Path(tempfile.mkdtemp(prefix="glm-image-polling-"))
    try:
        with FakeBigModel() as fake:
            fake.task_seconds = (3.0, 5.0)
            env = {**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "NO_COLOR": "1",
                   "GLM_IMAGE_CONFIG": str(work / "config.toml"), "GLM_IMAGE_DATA_DIR": str(work / "data"),
                   "NO_PROXY": "127.0.0.1"}
            measured: tuple[list[float], float] = ([], 0.0)
            for name, count in (("warm", WARM_UP), ("measured", 30)):
                prompts = work / f"{name}.txt"
                prompts.write_text("".join(f"{name} {i}\n" for i in range(count)), encoding="utf-8")
                seen_before, polls_before = set(fake.task_seen), fake.count(POLL_ROUTE)
                subprocess.run([cli, "batch", str(prompts), "-o", str(work / name), "-m", "glm-image", "-j", "10",
                                "-q", "--yes", "--no-history"], env=env, check=True, stdout=subprocess.DEVNULL)
                new = [seen - done for task, (done, seen) in fake.task_seen.items() if task not in seen_before]
                measured = (new, (fake.count(POLL_ROUTE) - polls_before) / count)
            return measured
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=200, help="tasks measured after the warm-up")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--real", action="store_true", help="also run glm-image batch against the fake server")
    options = parser.parse_args()
    low, high = 15.0, 25.0
    print(f"tasks of {low:g}–{high:g} s (uniform), {options.tasks} measured after a warm-up of {WARM_UP}, "
          f"virtual clock")
    print(header())
    fixed = virtual(options.tasks, low, high, options.seed, lambda intervals: ())
    learned = virtual(options.tasks, low, high, options.seed, plan_looks)
    print(row("fixed (1, 2.5, 4.75 … s)", *fixed))
    print(row("learned", *learned))
    met = statistics.mean(learned[0]) <= 0.5 and statistics.mean(learned[1]) <= 8
    print(f"target mean delay ≤ 0.5 s with ≤ 8 looks per image: {'met' if met else 'NOT met'}")
    if options.real:
        cli = shutil.which("glm-image", path=str(Path(sys.executable).parent)) or "glm-image"
        print("\nreal sockets: glm-image batch -m glm-image -j 10, tasks of 3–5 s; a batch of 10, then one of 30")
        print(header())
        delays, looks = real(cli)
        print(row("learned (2nd batch)", delays, looks))
        scaled = virtual(30, 3.0, 5.0, options.seed, lambda intervals: ())
        print(row("fixed (virtual, same tasks)", *scaled))


if __name__ == "__main__":
    main()
