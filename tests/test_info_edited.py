"""`info` on an edited image: the files it was made from and its mask read as paths with their SHA-256 and
whether each file still holds those bytes, one line per file, in both languages (not `?: ?` or a raw dict)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_bigmodel import make_png
from tests.fake_openai import KEY, FakeOpenAI


@pytest.fixture
def edited(cli, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An image made by `edit` from cat.png and dog.png with mask.png, on the fake OpenAI-compatible server."""
    monkeypatch.delenv("GLM_IMAGE_PROFILE", raising=False)
    with FakeOpenAI() as server:
        monkeypatch.setenv("GLM_BASE_URL", server.base_url)
        monkeypatch.setenv("GLM_API_KEY", KEY)
        monkeypatch.setenv("GLM_IMAGE_BACKEND", "openai")
        Path("cat.png").write_bytes(make_png(8, 8, (200, 10, 10)))
        Path("dog.png").write_bytes(make_png(8, 8, (10, 200, 10)))
        Path("mask.png").write_bytes(make_png(8, 8, (0, 0, 0)))
        result = cli("edit", "cat.png", "dog.png", "-p", "a red scarf", "--mask", "mask.png", "-o", "out")
        assert result.exit_code == 0, result.stderr
        [image] = Path("out").iterdir()
        yield image


def digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def test_info_shows_each_source_and_the_mask_with_its_digest(cli, edited: Path) -> None:
    shown = cli("info", str(edited)).stdout
    assert "?: ?" not in shown and "{'path'" not in shown and "'sha256'" not in shown
    for name in ("cat.png", "dog.png", "mask.png"):
        line = next(line for line in shown.splitlines() if str(Path(name).resolve()) in line)
        assert f"SHA-256 {digest(name)}…, unchanged)" in line
    rows = [line for line in shown.splitlines() if "SHA-256" in line]
    assert len(rows) == 3  # one line per file: two sources, one mask


def test_info_says_when_a_source_was_changed_or_removed(cli, edited: Path) -> None:
    before = digest("cat.png")
    Path("cat.png").write_bytes(make_png(8, 8, (1, 1, 1)))
    Path("dog.png").unlink()
    shown = cli("info", str(edited)).stdout
    assert f"cat.png (SHA-256 {before}…, changed since)" in shown
    assert "dog.png (SHA-256" in shown and "no longer there)" in shown
    chinese = cli("--lang", "zh", "info", str(edited)).stdout
    assert f"cat.png（SHA-256 {before}…，此后已被修改）" in chinese and "已不在原处）" in chinese
    assert "mask.png（SHA-256" in chinese and "未改变）" in chinese


def test_info_json_keeps_the_recorded_paths_and_full_digests(cli, edited: Path) -> None:
    [entry] = json.loads(cli("info", str(edited), "--json").stdout)
    recipe = entry["recipe"]
    assert [item["path"] for item in recipe["source_images"]] == [str(Path("cat.png").resolve()),
                                                                  str(Path("dog.png").resolve())]
    assert recipe["mask"]["sha256"] == hashlib.sha256(Path("mask.png").read_bytes()).hexdigest()
