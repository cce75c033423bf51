"""Start-up time: `glm-image --help` (drawn for the terminal's width) and a TAB completion next to
`python -c "import typer"`.

A TAB press runs the program, so completion has to be quick.  Prints the median wall time of each
(after warm-up runs, so the file cache is warm) and their ratio to the bare Typer import (target ≤ 1.3).

    python benchmarks/startup.py            # 15 runs each
    python benchmarks/startup.py --runs 40
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_seconds(args: list[str], env: dict[str, str], runs: int) -> float:
    for _ in range(3):  # warm-up: byte code and file cache
        subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    cli = shutil.which("glm-image", path=str(Path(sys.executable).parent)) or "glm-image"
    home = tempfile.mkdtemp(prefix="glm-image-startup-")
    env = {**os.environ, "GLM_IMAGE_CONFIG": os.path.join(home, "config.toml"), "NO_COLOR": "1"}
    completion_env = {**env, "_GLM_IMAGE_COMPLETE": "complete_bash", "COMP_WORDS": "glm-image generate x --style ",
                      "COMP_CWORD": "4"}
    baseline = median_seconds([sys.executable, "-c", "import typer"], env, runs)
    wide_env = {**env, "COLUMNS": "140"}
    rows = [
        ('python -c "import typer"', baseline),
        ("glm-image --help", median_seconds([cli, "--help"], env, runs)),
        ("glm-image <TAB> (--style values)", median_seconds([cli], completion_env, runs)),
        ("glm-image --lang zh batch --help (140)", median_seconds([cli, "--lang", "zh", "batch", "--help"],
                                                                  wide_env, runs)),
        ("glm-image --version", median_seconds([cli, "--version"], env, runs)),
    ]
    print(f"median of {runs} runs each")
    print(f"{'command':40} {'median ms':>10} {'ratio':>7}")
    for name, seconds in rows:
        print(f"{name:40} {seconds * 1000:10.1f} {seconds / baseline:7.2f}")
    worst = max(seconds / baseline for _, seconds in rows[1:4])
    print(f"target ratio ≤ 1.3 for --help and completion: {'met' if worst <= 1.3 else 'NOT met'} (worst {worst:.2f})")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
