"""Load on `glm-image serve`: 64 concurrent clients, 256 requests, fake upstream latency 1 s.

Starts the fake BigModel server and `glm-image serve` (a subprocess, on 127.0.0.1 only), runs the
load twice, and prints p50/p95/p99 latency, errors, throughput and the server's RSS before, after the
first round and after the second (RSS should not grow with the request count).
Targets: 0 errors, p50 ≤ 1.2 s with a concurrency cap ≥ 64.

    pip install '.[test]' && python benchmarks/serve_load.py
    python benchmarks/serve_load.py --clients 16 --requests 64 --latency 0.5
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_bigmodel import DEFAULT_KEY, FakeBigModel  # noqa: E402


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run_round(url: str, clients: int, requests: int) -> tuple[list[float], list[str], float]:
    jobs: queue.Queue[int] = queue.Queue()
    for index in range(requests):
        jobs.put(index)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client_loop() -> None:
        with httpx.Client(timeout=60, trust_env=False) as http:
            while True:
                try:
                    index = jobs.get_nowait()
                except queue.Empty:
                    return
                started = time.perf_counter()
                try:
                    response = http.post(f"{url}/txt2img", json={"prompt": f"负载测试 {index}", "style": "卡通"})
                    ok = response.status_code == 200 and response.json().get("count") == 1
                    problem = None if ok else f"HTTP {response.status_code}: {response.text[:100]}"
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                with lock:
                    latencies.append(time.perf_counter() - started)
                    if problem:
                        errors.append(problem)

    started = time.perf_counter()
    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--cap", type=int, default=64, help="serve --max-concurrent")
    options = parser.parse_args()
    cli = shutil.which("glm-image", path=str(Path(sys.executable).parent)) or "glm-image"
    work = Path(tempfile.mkdtemp(prefix="glm-image-serve-load-"))
    with FakeBigModel(latency=options.latency) as fake:
        env = {**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "NO_COLOR": "1",
               "GLM_IMAGE_CONFIG": str(work / "config.toml"), "NO_PROXY": "127.0.0.1"}
        server = subprocess.Popen([cli, "serve", "--host", "127.0.0.1", "--port", "0", "--max-concurrent",
                                   str(options.cap), "--rate-limit", "0", "--quiet"],
                                  env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            url = server.stderr.readline().split("listening on ")[1].split()[0]
            print(f"serve at {url}, cap {options.cap}; {options.clients} clients, {options.requests} requests "
                  f"per round, fake upstream latency {options.latency}s")
            rss_before = rss_mib(server.pid)
            rounds = []
            for number in (1, 2):
                latencies, errors, wall = run_round(url, options.clients, options.requests)
                rounds.append((latencies, errors, wall, rss_mib(server.pid)))
                print(f"round {number}: p50 {percentile(latencies, 0.5):.3f}s  p95 {percentile(latencies, 0.95):.3f}s"
                      f"  p99 {percentile(latencies, 0.99):.3f}s  mean {statistics.mean(latencies):.3f}s  "
                      f"errors {len(errors)}  throughput {len(latencies) / wall:.1f} req/s  wall {wall:.2f}s")
                for problem in errors[:5]:
                    print("   ", problem)
            print(f"server RSS: before {rss_before:.1f} MiB, after round 1 {rounds[0][3]:.1f} MiB, "
                  f"after round 2 {rounds[1][3]:.1f} MiB")
            p50 = percentile(rounds[0][0], 0.5)
            total_errors = sum(len(r[1]) for r in rounds)
            print(f"targets: 0 errors {'met' if total_errors == 0 else 'NOT met'}; "
                  f"p50 ≤ 1.2 s {'met' if p50 <= 1.2 else 'NOT met'}")
        finally:
            server.terminate()
            server.wait(timeout=60)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
