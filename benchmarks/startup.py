"""Start-up time: `glm-image --help` (drawn for the terminal's width) and a TAB completion next to
`python -c "import typer"`, and one `generate` next to a bare httpx script doing the same work.

A TAB press runs the program, so completion has to be quick.  Prints the median wall time of each
(after warm-up runs, so the file cache is warm) and their ratio to the bare Typer import (target ≤ 1.3).
The fixed cost of a run is the second comparison: `glm-image generate` against a fake upstream on
127.0.0.1 that answers at once, next to a script that imports httpx and does the same POST, download
and write (target ≤ 1.3).

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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_bigmodel import DEFAULT_KEY, FakeBigModel  # noqa: E402

BARE_HTTPX = r"""
import sys, pathlib, httpx
base, key, out = sys.argv[1:4]
with httpx.Client() as client:
    answer = client.post(base + "/images/generations", json={"model": "cogview-4-250304", "prompt": "a cat"},
                         headers={"Authorization": "Bearer " + key}).json()
    data = client.get(answer["data"][0]["url"]).content
pathlib.Path(out).write_bytes(data)
"""


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
    with FakeBigModel() as fake:
        run_env = {**env, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY,
                   "GLM_IMAGE_DATA_DIR": os.path.join(home, "data"), "NO_PROXY": "127.0.0.1"}
        bare = median_seconds([sys.executable, "-c", BARE_HTTPX, fake.base_url, DEFAULT_KEY,
                               os.path.join(home, "bare.png")], run_env, runs)
        ours = median_seconds([cli, "generate", "a cat", "-o", os.path.join(home, "out"), "-q"], run_env, runs)
    print(f"{'bare httpx: POST, download, write':40} {bare * 1000:10.1f} {1.0:7.2f}")
    print(f"{'glm-image generate (history on)':40} {ours * 1000:10.1f} {ours / bare:7.2f}")
    print(f"target generate ≤ 1.3× the bare httpx script: {'met' if ours / bare <= 1.3 else 'NOT met'}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
