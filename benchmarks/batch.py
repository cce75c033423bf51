"""Batch throughput: `glm-image batch` vs. a plain concurrent.futures loop over the official zai-sdk.

Both run as subprocesses against the same fake BigModel server on 127.0.0.1 (fixed latency per
generation), generate N images with C calls in flight, download each and write it to disk.
Prints wall time, the ideal ceil(N/C)·L, their ratio (target ≤ 1.10) and each process's peak RSS.

    pip install '.[test]' zai-sdk && python benchmarks/batch.py            # N=200, L=0.5 s, C=8
    python benchmarks/batch.py --account-limit 4     # N=80, -j 16, the fake refuses beyond 4 in flight
    python benchmarks/batch.py --n 50 --latency 0.2 --concurrency 4       # quicker
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_bigmodel import DEFAULT_KEY, SYNC_ROUTE, FakeBigModel  # noqa: E402

ZAI_LOOP = r"""
import sys, concurrent.futures as cf, pathlib, httpx
from zai import ZhipuAiClient
base, key, prompts_file, out, workers = sys.argv[1:6]
client = ZhipuAiClient(api_key=key, base_url=base)
http = httpx.Client()
out = pathlib.Path(out); out.mkdir(parents=True, exist_ok=True)
prompts = [p for p in pathlib.Path(prompts_file).read_text(encoding="utf-8").splitlines() if p.strip()]
def one(args):
    i, prompt = args
    r = client.images.generations(model="cogview-4-250304", prompt=prompt)
    (out / f"{i:04d}.png").write_bytes(http.get(r.data[0].url).content)
with cf.ThreadPoolExecutor(int(workers)) as pool:
    list(pool.map(one, enumerate(prompts)))
"""


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MiB, exit code) of one subprocess."""
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0 and process.stderr is not None:
        sys.stderr.write(process.stderr.read().decode(errors="replace")[-2000:])
    return wall, usage.ru_maxrss / 1024, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=None, help="images (default 200; 80 with --account-limit)")
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=None, help="-j (default 8; 16 with --account-limit)")
    parser.add_argument("--account-limit", type=int, default=None,
                        help="the fake refuses calls beyond this many in flight (429/1302), like a real account")
    parser.add_argument("--skip-sdk", action="store_true", help="do not run the zai-sdk comparison")
    options = parser.parse_args()
    limited = options.account_limit is not None
    n = options.n or (80 if limited else 200)
    concurrency = options.concurrency or (16 if limited else 8)
    latency = options.latency
    effective = min(concurrency, options.account_limit) if limited else concurrency
    ideal = math.ceil(n / effective) * latency
    work = Path(tempfile.mkdtemp(prefix="glm-image-bench-"))
    prompts = work / "prompts.txt"
    prompts.write_text("\n".join(f"基准测试图片 {i}" for i in range(n)) + "\n", encoding="utf-8")
    cli = shutil.which("glm-image", path=str(Path(sys.executable).parent)) or "glm-image"
    limit_text = f", the account takes K={options.account_limit} at once" if limited else ""
    print(f"N={n} images, fake upstream latency L={latency}s, -j {concurrency}{limit_text}")
    print(f"ideal ceil(N/{'K' if limited else 'C'})*L = {ideal:.2f} s")
    rows = []
    with FakeBigModel(latency=latency) as fake:
        fake.concurrency_limit = options.account_limit
        env = {**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "NO_COLOR": "1",
               "GLM_IMAGE_CONFIG": str(work / "config.toml"), "GLM_IMAGE_DATA_DIR": str(work / "data"),
               "NO_PROXY": "127.0.0.1"}
        runs = [("glm-image batch", "ours")] + ([("glm-image batch (2nd run)", "ours2")] if limited else [])
        for name, folder in runs:
            before, refused_before = fake.count(SYNC_ROUTE), fake.refused
            wall, rss, code = run_measured([cli, "batch", str(prompts), "-o", str(work / folder), "-j",
                                            str(concurrency), "-q", "--yes", "--no-history"], env)
            made = len(list((work / folder).glob("*.png")))
            rows.append((name, wall, rss, code, made, fake.count(SYNC_ROUTE) - before, fake.refused - refused_before))
        if not options.skip_sdk:
            before, refused_before = fake.count(SYNC_ROUTE), fake.refused
            try:
                import zai  # noqa: F401
            except ImportError:
                print("zai-sdk not installed: pip install zai-sdk (or pass --skip-sdk)")
            else:
                wall, rss, code = run_measured([sys.executable, "-c", ZAI_LOOP, fake.base_url, DEFAULT_KEY,
                                                str(prompts), str(work / "sdk"), str(concurrency)], env)
                made = len(list((work / "sdk").glob("*.png")))
                rows.append(("zai-sdk + ThreadPoolExecutor", wall, rss, code, made,
                             fake.count(SYNC_ROUTE) - before, fake.refused - refused_before))
    print(f"{'runner':30} {'wall s':>8} {'ratio':>7} {'peak RSS MiB':>13} {'exit':>5} {'images':>7} {'POSTs':>6} "
          f"{'refused':>8}")
    for name, wall, rss, code, made, posts, refused in rows:
        print(f"{name:30} {wall:8.2f} {wall / ideal:7.3f} {rss:13.1f} {code:5d} {made:7d} {posts:6d} {refused:8d}")
    _, ours, _, code, made, _, refused = rows[0]
    if code != 0 or made != n:
        print(f"glm-image batch did not finish (exit {code}, {made} of {n} images): no timing to judge")
        return
    sdk = [row for row in rows if row[0].startswith("zai-sdk")]
    if sdk:
        print(f"glm-image / zai-sdk wall-time ratio: {ours / sdk[0][1]:.3f} (≤ 1.0 means ours is not slower); "
              f"zai-sdk made {sdk[0][4]} of {n}")
    if limited:
        print(f"target wall ≤ 1.10× ideal: {'met' if ours / ideal <= 1.10 else 'NOT met'}; "
              f"refused ≤ 15% of N on a first run: {'met' if refused <= 0.15 * n else 'NOT met'} ({refused}); "
              f"≤ 3 on the second: {'met' if rows[1][6] <= 3 else 'NOT met'} ({rows[1][6]})")
    else:
        print(f"target ratio to ideal ≤ 1.08: {'met' if ours / ideal <= 1.08 else 'NOT met'}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
