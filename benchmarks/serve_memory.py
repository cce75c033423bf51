"""serve memory: the peak RSS of `glm-image serve` answering big images must not hold copies of them.

A 2048x1366 image of random pixels is an ~8 MB PNG.  A fake BigModel (tests/fake_bigmodel.py) on 127.0.0.1
serves it behind the URL each sync generation returns (or inline as ``b64_json`` for the data-URL case).
For each case a fresh `glm-image serve` (a subprocess, isolated config and data dir) is started, warmed up with
one request for the fake's tiny 8x8 PNG (every module an answer needs is loaded), its RSS read as "idle"; then
two clients post at once, each asking for ``n: 4`` of the big images, and the server's peak RSS (VmHWM from
/proc) is read after both answers arrived.  Every answer is parsed and each image compared with the upstream's.

Target, reported PASS/FAIL: peak RSS ≤ idle RSS + 2 × (images in flight) × (image size), images in flight
being 2 requests × n.  Linux only (/proc).  Exits 1 when a request failed.

    pip install -e '.[test]' && python benchmarks/serve_memory.py       # five cases, about a minute
    python benchmarks/serve_memory.py --quick                            # only /txt2img and b64_json
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.memory import big_png  # noqa: E402
from tests.fake_bigmodel import DEFAULT_KEY, FakeBigModel, make_png  # noqa: E402

MIB = 1024 * 1024
MODEL = "cogview-4"  # synchronous: no polling delay in the way


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    body: dict
    upstream: str = "url"  # how the fake hands out the image: "url" or "b64" (inline)
    save: bool = False  # serve --save DIR


CASES = (
    Case("/txt2img samples=4", "/txt2img", {"prompt": "内存基准", "samples": 4, "model": MODEL}),
    Case("/v1 b64_json n=4", "/v1/images/generations",
         {"prompt": "内存基准", "n": 4, "model": MODEL, "response_format": "b64_json"}),
    Case("/v1 b64_json n=4 --save", "/v1/images/generations",
         {"prompt": "内存基准", "n": 4, "model": MODEL, "response_format": "b64_json"}, save=True),
    Case("/v1 url n=4, inline upstream", "/v1/images/generations",
         {"prompt": "内存基准", "n": 4, "model": MODEL, "response_format": "url"}, upstream="b64"),
    Case("/txt2img samples=4, inline upstream", "/txt2img", {"prompt": "内存基准", "samples": 4, "model": MODEL},
         upstream="b64"),
)


def status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def images_of(case: Case, answer: dict) -> list[bytes]:
    """The image bytes an answer carries, in either API's shape (base64, b64_json or a data URL)."""
    if case.path == "/txt2img":
        return [base64.b64decode(item["base64"]) for item in answer["images"]]
    out = []
    for item in answer["data"]:
        text = item.get("b64_json") or item["url"].split(",", 1)[1]
        out.append(base64.b64decode(text))
    return out


def strip_recipe(png: bytes) -> bytes:
    """The PNG without its text chunks (a saved image carries its recipe)."""
    import struct

    out, position = bytearray(png[:8]), 8
    while position < len(png):
        length = struct.unpack(">I", png[position:position + 4])[0]
        kind = png[position + 4:position + 8]
        end = position + 12 + length
        if kind not in (b"tEXt", b"iTXt", b"zTXt"):
            out += png[position:end]
        position = end
    return bytes(out)


def run_case(cli: str, case: Case, fake: FakeBigModel, image: bytes, work: Path, timeout: float) -> dict:
    fake.image_bytes, fake.result_mode = make_png(), case.upstream
    env = {**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "NO_COLOR": "1",
           "GLM_IMAGE_CONFIG": str(work / "config.toml"), "GLM_IMAGE_DATA_DIR": str(work / "data"),
           "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    saved = work / "saved"
    args = [cli, "serve", "--port", "0", "--rate-limit", "0", "--quiet", "--max-samples", "4",
            *(["--save", str(saved)] if case.save else [])]
    server = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        url = server.stderr.readline().split("listening on ")[1].split()[0]
        with httpx.Client(timeout=timeout, trust_env=False) as http:
            warm = {**case.body, "samples": 1} if case.path == "/txt2img" else {**case.body, "n": 1}
            http.post(url + case.path, json=warm).raise_for_status()
        idle = status_mib(server.pid, "VmRSS")
        fake.image_bytes = image
        answers: list[dict | str] = [{}, {}]

        def client(slot: int) -> None:
            try:
                with httpx.Client(timeout=timeout, trust_env=False) as http:
                    response = http.post(url + case.path, json=case.body)
                    answers[slot] = response.json() if response.status_code == 200 else \
                        f"HTTP {response.status_code}: {response.text[:200]}"
            except (httpx.HTTPError, ValueError) as exc:
                answers[slot] = f"{type(exc).__name__}: {exc}"

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(slot,)) for slot in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        peak = status_mib(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(saved, ignore_errors=True)
    problems = [answer for answer in answers if isinstance(answer, str)]
    per_request = case.body.get("n") or case.body.get("samples") or 1
    good = 0
    for answer in answers:
        if isinstance(answer, dict):
            made = images_of(case, answer)
            good += sum(1 for data in made if strip_recipe(data) == image)
    if good != 2 * per_request and not problems:
        problems.append(f"{good} of {2 * per_request} images came back intact")
    return {"idle": idle, "peak": peak, "wall": wall, "in_flight": 2 * per_request, "problems": problems}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only the first two cases")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    options = parser.parse_args()
    cases = CASES[:2] if options.quick else CASES
    image = big_png()
    image_mib = len(image) / MIB
    cli = shutil.which("glm-image", path=str(Path(sys.executable).parent)) or "glm-image"
    work = Path(tempfile.mkdtemp(prefix="glm-image-serve-memory-"))
    print(f"image: valid PNG of {len(image):,} bytes ({image_mib:.2f} MiB); 2 clients at once, n=4 each")
    print(f"{'case':38} {'idle MiB':>9} {'peak MiB':>9} {'peak-idle':>10} {'copies':>7} {'limit':>7} "
          f"{'wall s':>7} {'verdict':>8}")
    failed = False
    verdicts = []
    try:
        with FakeBigModel() as fake:
            for case in cases:
                row = run_case(cli, case, fake, image, work, options.timeout)
                grown = row["peak"] - row["idle"]
                limit = row["idle"] + 2 * row["in_flight"] * image_mib
                ok = row["peak"] <= limit and not row["problems"]
                verdicts.append(ok)
                print(f"{case.name:38} {row['idle']:9.1f} {row['peak']:9.1f} {grown:10.1f} "
                      f"{grown / (row['in_flight'] * image_mib):7.2f} {limit:7.0f} {row['wall']:7.2f} "
                      f"{'PASS' if ok else 'FAIL':>8}")
                for problem in row["problems"]:
                    failed = True
                    print("    ", problem)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("copies = (peak - idle) / (images in flight × image size); "
          f"target peak ≤ idle + 2 × images in flight × {image_mib:.2f} MiB: "
          f"{'PASS' if all(verdicts) else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
