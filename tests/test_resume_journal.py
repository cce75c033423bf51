"""Never pay twice, round three: --enhance resumes, resume without a manifest, a deleted lock file.
Every test counts the calls the fake upstream billed (images made), not what the tool says about itself."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from glm_image_cli.errors import FolderInUse
from glm_image_cli.storage import folderlock
from glm_image_cli.storage.folderlock import LOCK_NAME, FolderLock
from tests.fake_bigmodel import CHAT_ROUTE, SYNC_ROUTE
from tests.test_console_script import child_env, spawn_batch, wait_until_reached

ITEM = re.compile(r"item (\d+)\b")
NO_FOLDER_LOCKS = ("import sys; from glm_image_cli.storage import folderlock; "
                   "folderlock._lock_folder = lambda folder: None; "
                   "from glm_image_cli.cli.entry import main; sys.argv[0] = 'glm-image'; sys.exit(main())")


def prompts(count: int, name: str = "p.txt") -> Path:
    path = Path(name)
    path.write_text("".join(f"item {i} a lighthouse at dusk\n" for i in range(1, count + 1)), encoding="utf-8")
    return path


def billed_per_item(fake) -> Counter[int]:
    """Images the fake made, by the item number in the prompt it was sent."""
    found: Counter[int] = Counter()
    for seen in fake.seen(SYNC_ROUTE):
        match = ITEM.search(str(seen.body.get("prompt")))
        found[int(match.group(1)) if match else -1] += 1
    return found


def images(folder: str = "out") -> list[Path]:
    return [p for p in Path(folder).iterdir() if p.suffix in (".png", ".jpg", ".jpeg", ".webp")
            and not p.name.startswith(".")]


def test_an_enhanced_batch_resumed_after_max_images_buys_each_image_once(cli, fake) -> None:
    prompts(4)
    numbers = itertools.count(1)
    # A rewrite is never the same twice (temperature 0.7), and --no-cache keeps none.
    fake.chat_reply = lambda body: f"version {next(numbers)}: " + str(body["messages"][-1]["content"])[-60:]
    command = ("batch", "p.txt", "-o", "out", "--yes", "--enhance", "--no-cache", "--max-images", "2")
    for _ in range(3):
        result = cli(*command)
        assert result.exit_code == 0, result.stderr
    assert billed_per_item(fake) == Counter({1: 1, 2: 1, 3: 1, 4: 1})  # was 1-2 four times, 3-4 never
    assert fake.count(CHAT_ROUTE) == 4  # one rewrite per item: none for an image already made or in flight
    assert len(images()) == 4
    done = cli("batch", "p.txt", "-o", "out", "--yes", "--enhance", "--no-cache")
    assert done.exit_code == 0 and fake.count(SYNC_ROUTE) == 4 and fake.count(CHAT_ROUTE) == 4


def test_an_enhanced_unit_in_flight_when_a_run_died_is_not_rewritten_nor_bought_again(cli, fake) -> None:
    prompts(2)
    numbers = itertools.count(1)
    fake.chat_reply = lambda body: f"version {next(numbers)}: " + str(body["messages"][-1]["content"])[-60:]
    fake.hold_after = 0
    first = spawn_batch(fake, "p.txt", "-o", "out", "--yes", "--enhance", "--no-cache", "-j", "1")
    wait_until_reached(fake, first, SYNC_ROUTE, 1)
    first.kill()
    first.communicate(timeout=30)
    assert fake.count(CHAT_ROUTE) == 2
    fake.hold_after = None
    fake.released.set()
    again = cli("batch", "p.txt", "-o", "out", "--yes", "--enhance", "--no-cache", "-j", "1")
    assert again.exit_code == 9, again.stderr  # the killed call may have been billed: reported, not resent
    assert billed_per_item(fake) == Counter({1: 1, 2: 1})
    assert fake.count(CHAT_ROUTE) == 3  # item 2 (never sent) is rewritten again; item 1 (in flight) is not


def test_an_enhanced_batch_begun_before_keys_changed_is_not_bought_again(cli, fake) -> None:
    prompts(2)
    flags = ("--enhance", "--no-metadata")  # no recipe, no index: only the manifest knows the images
    assert cli("batch", "p.txt", "-o", "out", "--yes", *flags).exit_code == 0
    manifest = Path("out/manifest.jsonl")
    # As an earlier version wrote it: keys hashed from the rewrite, no rewrite recorded.
    records = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
    for record in records:
        record["key"] = "earlier-" + record["key"]
        record.pop("rewrite", None)
    manifest.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    Path("out/.glm-image.index.jsonl").unlink()
    again = cli("batch", "p.txt", "-o", "out", "--yes", *flags)
    assert again.exit_code == 0, again.stderr
    assert fake.count(SYNC_ROUTE) == 2 and "2 image(s) already made" in again.stderr


@pytest.mark.parametrize("flags", [("--no-metadata",), ("--image-format", "jpeg")], ids=["no-metadata", "jpeg"])
def test_a_batch_whose_manifest_is_gone_finds_images_without_a_recipe(cli, fake, flags) -> None:
    prompts(3)
    assert cli("batch", "p.txt", "-o", "out", "--yes", *flags).exit_code == 0
    assert fake.count(SYNC_ROUTE) == 3
    Path("out/manifest.jsonl").unlink()
    again = cli("batch", "p.txt", "-o", "out", "--yes", *flags)
    assert again.exit_code == 0, again.stderr
    assert fake.count(SYNC_ROUTE) == 3  # was 6: the images carried no recipe to be recognised by
    assert "3 image(s)" in again.stderr and len(images()) == 3
    Path("out/manifest.jsonl").write_bytes(b"\xff damaged\n")  # a damaged manifest: the same
    assert cli("batch", "p.txt", "-o", "out", "--yes", *flags).exit_code == 0
    assert fake.count(SYNC_ROUTE) == 3


def test_a_deleted_lock_file_does_not_let_a_second_batch_into_the_folder(cli, fake) -> None:
    prompts(8)
    fake.hold_after = 2  # the first run makes two images, then its next two calls hang
    first = spawn_batch(fake, "p.txt", "-o", "out", "--yes", "-j", "2")
    try:
        wait_until_reached(fake, first, SYNC_ROUTE, 4)
        Path("out", LOCK_NAME).unlink()  # by hand, a clean-up script, a sync tool
        second = cli("batch", "p.txt", "-o", "out", "--yes")
        assert second.exit_code == 13, second.stderr  # the folder itself is locked
        assert fake.count(SYNC_ROUTE) == 4
    finally:
        fake.released.set()
        first.communicate(timeout=60)
    assert first.returncode == 0  # its lock file gone, the folder's lock still held: it went on
    assert sum(billed_per_item(fake).values()) == 8 and max(billed_per_item(fake).values()) == 1


def test_where_the_folder_cannot_be_locked_a_run_whose_lock_file_went_stops_sending(cli, fake, monkeypatch) -> None:
    prompts(8)
    fake.hold_after = 2
    # Both runs where a folder cannot be locked (like Windows or NFS): only the lock file is left to hold.
    monkeypatch.setattr(folderlock, "_lock_folder", lambda folder: None)
    first = subprocess.Popen([sys.executable, "-c", NO_FOLDER_LOCKS, "batch", "p.txt", "-o", "out", "--yes", "-j", "2"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=child_env(fake))
    try:
        wait_until_reached(fake, first, SYNC_ROUTE, 4)
        Path("out", LOCK_NAME).unlink()
        fake.hold_after = None
        second = cli("batch", "p.txt", "-o", "out", "--yes")
        assert second.exit_code == 9, second.stderr  # the first run's two calls in flight: not resent
        assert fake.count(SYNC_ROUTE) == 8
    finally:
        fake.released.set()
        _, stderr = first.communicate(timeout=60)
    assert first.returncode == 13, stderr  # it saw its lock file replaced before its next call: sent nothing more
    assert "was deleted or replaced" in stderr
    assert sum(billed_per_item(fake).values()) == 8 and max(billed_per_item(fake).values()) == 1
    # Every item has its image.  (The second run may also fetch, unbilled, an image the first had been answered
    # and was still saving when the lock file went: a spare copy, never a second purchase.)
    assert {int(p.name[:4]) for p in images()} == set(range(1, 9))
    final = cli("batch", "p.txt", "-o", "out", "--yes")
    assert final.exit_code == 0, final.stderr
    assert fake.count(SYNC_ROUTE) == 8


def test_the_folder_lock_notices_its_file_deleted_or_replaced(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(folderlock, "_lock_folder", lambda folder: None)  # where folders cannot be locked
    with FolderLock(tmp_path) as lock:
        lock.check()
        (tmp_path / LOCK_NAME).unlink()
        with pytest.raises(FolderInUse) as raised:
            lock.check()
        assert raised.value.message_id == "folder_lock_lost"
        (tmp_path / LOCK_NAME).write_text("")  # another run's new file at the same path
        with pytest.raises(FolderInUse):
            lock.check()
