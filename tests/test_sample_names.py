"""Several images of one prompt are named one way everywhere (`storage.naming.sample_stem`): `-1`, `-2` … after
the name, for generate and for a batch line's `n` with or without its `name`; the live list says the same names
as the files get.  A batch folder written by an earlier version (`0001-一只橘猫.png`, `0001-一只橘猫-1.png`)
still resumes without buying anything again: batch images are found by their key, never by their name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glm_image_cli.core.manifest import INDEX_NAME
from glm_image_cli.storage.naming import sample_stem
from tests.fake_bigmodel import SYNC_ROUTE


def pngs(folder: str) -> list[str]:
    return sorted(p.name for p in Path(folder).glob("*.png"))


def test_the_scheme() -> None:
    assert [sample_stem("cat", sample, 3) for sample in (1, 2, 3)] == ["cat-1", "cat-2", "cat-3"]
    assert sample_stem("cat", 1, 1) == "cat"


def test_a_jsonl_line_with_n_2_saves_and_lists_dash_1_and_dash_2(cli, fake) -> None:
    Path("items.jsonl").write_text('{"prompt": "一只橘猫", "n": 2}\n', encoding="utf-8")
    result = cli("batch", "items.jsonl", "-o", "out")
    assert result.exit_code == 0, result.stderr
    assert pngs("out") == ["0001-一只橘猫-1.png", "0001-一只橘猫-2.png"]
    for stem in ("0001-一只橘猫-1", "0001-一只橘猫-2"):  # the progress line names the file it saved
        assert f"{stem}: out/{stem}.png" in result.stderr
    assert sorted(result.stdout.split()) == ["out/0001-一只橘猫-1.png", "out/0001-一只橘猫-2.png"]


def test_csv_names_batch_and_generate_agree(cli, fake) -> None:
    Path("items.csv").write_text("prompt,name,n\na red car,car,2\n", encoding="utf-8")
    assert cli("batch", "items.csv", "-o", "csv").exit_code == 0
    assert cli("generate", "a red car", "-n", "2", "-o", "gen", "--name", "{slug}").exit_code == 0
    Path("items.jsonl").write_text('{"prompt": "a red car", "n": 2}\n', encoding="utf-8")
    assert cli("batch", "items.jsonl", "-o", "jsonl", "--name", "{slug}").exit_code == 0
    assert pngs("csv") == ["car-1.png", "car-2.png"]
    assert pngs("gen") == ["a-red-car-1.png", "a-red-car-2.png"]
    assert pngs("jsonl") == ["a-red-car-1.png", "a-red-car-2.png"]


def test_a_template_that_tells_the_images_apart_gets_nothing_added(cli, fake) -> None:
    assert cli("generate", "a dog", "-n", "2", "-o", "gen", "--name", "{index:03d}-{slug}").exit_code == 0
    assert pngs("gen") == ["001-a-dog.png", "002-a-dog.png"]
    Path("items.jsonl").write_text('{"prompt": "a dog", "n": 2}\n', encoding="utf-8")
    # in a batch {index} is the line's number, the same for both images: -1 and -2 tell them apart
    assert cli("batch", "items.jsonl", "-o", "batch", "--name", "{index:03d}-{slug}").exit_code == 0
    assert pngs("batch") == ["001-a-dog-1.png", "001-a-dog-2.png"]


def _as_an_earlier_version_named_them(folder: Path) -> None:
    """Rename the images of a finished batch to the names an earlier version gave them (the first under the
    bare name, the second under `-1`), in the manifest and the hidden index too, as that version wrote them."""
    old = {"0001-一只橘猫-1.png": "0001-一只橘猫.png", "0001-一只橘猫-2.png": "0001-一只橘猫-1.png"}
    for new, earlier in old.items():
        (folder / new).rename(folder / earlier)
    for name in ("manifest.jsonl", INDEX_NAME):
        path = folder / name
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for record in lines:
            if record.get("file") in old:
                record["file"] = old[record["file"]]
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")


@pytest.mark.parametrize("manifest", ["kept", "deleted"])
def test_a_batch_folder_of_an_earlier_version_is_not_bought_again(cli, fake, manifest: str) -> None:
    Path("items.jsonl").write_text('{"prompt": "一只橘猫", "n": 2}\n{"prompt": "a fox", "n": 2}\n',
                                   encoding="utf-8")
    Path("first.jsonl").write_text('{"prompt": "一只橘猫", "n": 2}\n', encoding="utf-8")
    assert cli("batch", "first.jsonl", "-o", "out").exit_code == 0
    _as_an_earlier_version_named_them(Path("out"))
    if manifest == "deleted":
        Path("out/manifest.jsonl").unlink()
    result = cli("batch", "items.jsonl", "-o", "out")
    assert result.exit_code == 0, result.stderr
    sent = [call.body["prompt"] for call in fake.seen(SYNC_ROUTE)]
    assert sent.count("一只橘猫") == 2 and sent.count("a fox") == 2  # the cat's two images were bought once
    assert pngs("out") == ["0001-一只橘猫-1.png", "0001-一只橘猫.png", "0002-a-fox-1.png", "0002-a-fox-2.png"]
