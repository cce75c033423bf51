"""--check does not slow a batch: checks run beside the images, in the check model's own pool.

The same batch of N prompts runs twice as a `glm-image batch` subprocess against the fake BigModel server on
127.0.0.1, once plain and once with --check, at the same upstream latency per image (the vision model answers
in --check-latency).  A check never holds an image slot, so only the last images' checks add to the wall time.
Prints both wall times and their ratio (target ≤ 1.15), and what the fake saw.

    python benchmarks/vision_checks.py                       # N=20, -j 4, image 1.0 s, check 0.3 s
    python benchmarks/vision_checks.py --n 40 --latency 0.5  # other sizes
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_bigmodel import CHAT_ROUTE, DEFAULT_KEY, SYNC_ROUTE, FakeBigModel  # noqa: E402
from tests.fake_vision import FakeVision  # noqa: E402


def run_batch(fake: FakeBigModel, folder: Path, prompts: Path, concurrency: int, extra: list[str]) -> float:
    env = {**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "NO_PROXY": "127.0.0.1",
           "GLM_IMAGE_CONFIG": str(folder / "config.toml"), "GLM_IMAGE_DATA_DIR": str(folder / "data")}
    started = time.perf_counter()
    command = [sys.executable, "-c", "from glm_image_cli.cli.entry import main; main()"]
    subprocess.run([*command, "batch", str(prompts), "-o", str(folder / "out"), "-j", str(concurrency), "-q",
                    "--yes", *extra], env=env, check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per image call")
    parser.add_argument("--check-latency", type=float, default=0.3, help="seconds per vision call")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        prompts = root / "prompts.txt"
        prompts.write_text("".join(f"poster {i} that says 'OPEN {i}'\n" for i in range(args.n)), encoding="utf-8")
        times = {}
        for label, extra in (("plain", []), ("--check", ["--check"])):
            with FakeBigModel(latency=args.latency) as fake:
                fake.vision = FakeVision(score=8, text="OPEN", latency=args.check_latency)
                times[label] = run_batch(fake, root / label.strip("-"), prompts, args.concurrency, extra)
                print(f"{label:8} {times[label]:6.2f} s   image calls {fake.count(SYNC_ROUTE):3}   "
                      f"vision calls {len(fake.vision.seen):3}   chat calls {fake.count(CHAT_ROUTE):3}")
        ratio = times["--check"] / times["plain"]
        print(f"ratio    {ratio:6.3f}   (target ≤ 1.15; N={args.n}, -j {args.concurrency}, image {args.latency} s, "
              f"check {args.check_latency} s)")
        sys.exit(0 if ratio <= 1.15 else 1)


if __name__ == "__main__":
    main()
