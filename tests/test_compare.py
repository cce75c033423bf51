"""`glm-image compare`: the cross product of up to three axes, one journaled run, a labelled grid, compare.json."""

from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from glm_image_cli.core import compare as comparing
from glm_image_cli.errors import UsageError
from tests.fake_bigmodel import ASYNC_ROUTE, SYNC_ROUTE
from tests.test_console_script import child_env, console_script

SIX_CELLS = ["compare", "一只猫", "--model", "cogview-4,cogview-3-flash", "--style", "水彩,油画,像素"]


def sent(fake) -> list[tuple[str, str]]:
    """(model, prompt) of every image bought, synchronous or asynchronous (glm-image)."""
    calls = fake.seen(SYNC_ROUTE) + fake.seen(ASYNC_ROUTE)
    return [(call.body["model"], call.body["prompt"]) for call in calls]


def load_compare(folder: str = "out") -> dict:
    return json.loads((Path(folder) / "compare.json").read_text(encoding="utf-8"))


def test_a_two_by_three_compare_makes_six_images_a_labelled_grid_and_compare_json(cli, fake) -> None:
    from PIL import Image

    result = cli(*SIX_CELLS, "-o", "out", "--yes")
    assert result.exit_code == 0, result.stderr
    bodies = sent(fake)
    assert len(bodies) == 6
    assert Counter(model for model, _ in bodies) == Counter({"cogview-4": 3, "cogview-3-flash": 3})
    assert {prompt for _, prompt in bodies if "水彩" in prompt} and all(p.startswith("一只猫") for _, p in bodies)
    # every cell's image is named by its axis values
    assert sorted(p.name for p in Path("out").glob("*.png") if p.name != "grid.png") == sorted(
        f"{m}_{s}.png" for m in ("cogview-4", "cogview-3-flash") for s in ("水彩", "油画", "像素"))
    document = load_compare()
    assert [(a["role"], a["name"], a["values"]) for a in document["axes"]] == [
        ("x", "model", ["cogview-4", "cogview-3-flash"]), ("y", "style", ["水彩", "油画", "像素"])]
    assert [cell["position"] for cell in document["cells"]] == [[x, y, 0] for y in range(3) for x in range(2)]
    first = document["cells"][0]
    assert first["values"] == {"model": "cogview-4", "style": "水彩"}
    assert first["files"] == ["cogview-4_水彩.png"] and first["recipes"][0]["style"] == "水彩"
    assert document["grids"] == ["grid.png"]
    with Image.open("out/grid.png") as grid:
        # two columns and three rows of 512 px cells with 8 px gaps, a label band above and one on the left
        assert grid.width > 2 * 512 + 3 * 8 and grid.height > 3 * 512 + 4 * 8
        assert grid.width < 2 * 512 + 3 * 8 + 512 and grid.height < 3 * 512 + 4 * 8 + 100
    assert "Grid: out/grid.png" in result.stdout


def test_the_estimate_shown_before_equals_the_ledger_after(cli, fake) -> None:
    result = cli(*SIX_CELLS, "-o", "out", "--yes", "--json")
    plan = json.loads(result.stdout.splitlines()[0])
    assert plan["type"] == "compare_plan" and plan["cells"] == 6
    usage = json.loads(cli("usage", "--json").stdout)
    assert usage["totals"]["estimated_cost"] == pytest.approx(plan["estimated_cost"])
    last = json.loads(result.stdout.splitlines()[-1])
    assert last["type"] == "compare" and len(last["cells"]) == 6


def test_an_invalid_cell_is_named_and_nothing_is_sent(cli, fake) -> None:
    result = cli("compare", "a cat", "--model", "cogview-4,glm-image", "--size", "1024x1024,2048x2048", "-o", "out",
                 "--yes")
    assert result.exit_code == 2
    assert "cell 3 (model=cogview-4, size=2048x2048): Size 2048x2048 is not valid for cogview-4" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: 1 invalid cell(s); nothing was sent.")
    assert fake.requests == []


def test_skip_invalid_makes_the_rest_and_leaves_the_cell_empty(cli, fake) -> None:
    result = cli("compare", "a cat", "--model", "cogview-4,glm-image", "--size", "1024x1024,2048x2048", "-o", "out",
                 "--yes", "--skip-invalid")
    assert result.exit_code == 0, result.stderr
    assert len(sent(fake)) == 3
    cells = load_compare()["cells"]
    assert cells[2]["files"] == [] and "not valid for cogview-4" in cells[2]["error"]
    assert all(cell["files"] for number, cell in enumerate(cells) if number != 2)


def test_a_rerun_after_ctrl_c_finishes_the_compare_without_paying_twice(cli, fake) -> None:
    fake.hold_after = 2  # the first two answer; the rest hang until released
    process = subprocess.Popen([*console_script(), *SIX_CELLS, "-o", "out", "-j", "2", "--yes"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=child_env(fake))
    try:
        assert fake.wait_for(SYNC_ROUTE, 4)
        process.send_signal(signal.SIGINT)
        line = process.stderr.readline()
        while line and "waiting for" not in line:
            line = process.stderr.readline()
        fake.released.set()
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "glm-image compare '一只猫' -o out" in stderr.strip().splitlines()[-1]
    fake.hold_after = None
    result = cli(*SIX_CELLS, "-o", "out", "--yes")
    assert result.exit_code == 0, result.stderr
    assert Counter(sent(fake)).most_common(1)[0][1] == 1 and len(sent(fake)) == 6  # each cell bought once
    assert all(cell["files"] for cell in load_compare()["cells"])


def test_the_same_command_resumes_in_the_same_default_folder(cli, fake) -> None:
    assert cli(*SIX_CELLS, "--yes").exit_code == 0
    assert cli(*SIX_CELLS, "--yes").exit_code == 0
    assert len(sent(fake)) == 6
    folders = list(Path("glm-images").glob("compare-一只猫-*"))
    assert len(folders) == 1 and (folders[0] / "compare.json").is_file()


def test_dry_run_lists_every_cell_and_the_cost_and_sends_nothing(cli, fake) -> None:
    result = cli(*SIX_CELLS, "--dry-run")
    assert result.exit_code == 0
    assert "Compare: 6 cell(s) (X model (2) × Y style (3)), 6 image(s)" in result.stderr
    assert "6  model=cogview-3-flash, style=像素" in result.stdout
    assert fake.requests == []


def test_prompt_search_and_replace_and_a_z_axis_make_one_grid_per_value(cli, fake) -> None:
    result = cli("compare", "a red car", "--prompt-sr", "red,blue", "--quality", "hd,standard", "--model",
                 "cogview-4,cogview-3-flash", "-o", "out", "--yes")
    assert result.exit_code == 0, result.stderr
    assert sorted({prompt for _, prompt in sent(fake)}) == ["a blue car", "a red car"]
    assert load_compare()["grids"] == ["grid-1-cogview-4.png", "grid-2-cogview-3-flash.png"]
    assert Path("out/grid-1-cogview-4.png").is_file()


def test_more_images_than_max_images_are_refused_with_the_count(cli, fake) -> None:
    result = cli(*SIX_CELLS, "-n", "3", "--max-images", "10", "-o", "out", "--yes")
    assert result.exit_code == 2
    assert "18 images (6 cells × 3), more than --max-images 10" in result.stderr
    assert fake.requests == []


@pytest.mark.parametrize(("args", "message"), [
    (["--style", "水彩"], "Nothing to compare"),
    (["--prompt-sr", "dog,cat"], "does not contain 'dog'"),
    (["--enhance", "on,maybe"], "--enhance takes on and off"),
    (["--style", "水彩,水彩"], "lists '水彩' twice"),
])
def test_axis_mistakes_are_one_line_errors(cli, fake, args: list[str], message: str) -> None:
    result = cli("compare", "a cat", *args, "-o", "out")
    assert result.exit_code == 2 and message in result.stderr
    assert fake.requests == []


def test_labels_fall_back_to_numbers_and_a_legend_without_a_chinese_font(tmp_path: Path) -> None:
    from PIL import Image

    from glm_image_cli.storage.gridimage import GridSpec, draw_grid

    tile = tmp_path / "tile.png"
    Image.new("RGB", (64, 32), (200, 40, 40)).save(tile)
    result = draw_grid(GridSpec([[tile, None]], ["水彩", "oil"], []), tmp_path / "grid.png", font_path=None, cell=128)
    assert result.legend == ["X1 = 水彩", "X2 = oil"]
    with Image.open(result.path) as grid:
        assert grid.size == (result.width, result.height)
        assert grid.getpixel((8 + 64, result.height - 8 - 32)) == (200, 40, 40)  # the tile, grown to the cell


def test_axes_expand_x_fastest_and_names_follow_the_values() -> None:
    axes = [comparing.parse_axis("model", "a，b"), comparing.parse_axis("style", "x\\,y,z")]
    cells = comparing.make_cells(axes)
    assert [cell.values for cell in cells] == [
        (("model", "a"), ("style", "x,y")), (("model", "b"), ("style", "x,y")),
        (("model", "a"), ("style", "z")), (("model", "b"), ("style", "z"))]
    assert comparing.cell_names(cells, axes) == ["a_x-y", "b_x-y", "a_z", "b_z"]
    with pytest.raises(UsageError):
        comparing.check_axes("p", [comparing.parse_axis(n, "a,b") for n in ("model", "style", "size", "quality")])


def test_the_library_compare_makes_the_same_cells_and_resumes(fake, tmp_path: Path) -> None:
    from glm_image_cli import Studio
    from glm_image_cli.core.consent import always

    axes = {"model": ["cogview-4", "cogview-3-flash"], "negative": ["blur", "text, watermark"]}
    with Studio.from_config() as studio:
        made = studio.compare("一只猫", axes, output_dir=tmp_path / "cmp", consent=always)
        again = studio.compare("一只猫", axes, output_dir=tmp_path / "cmp", consent=always)
    assert len(sent(fake)) == 4  # the second call found every cell made
    assert made.document["axes"][1]["values"] == ["blur", "text, watermark"]  # a comma inside a listed value stays
    assert [cell["files"] for cell in made.document["cells"]] == [cell["files"] for cell in again.document["cells"]]
    assert made.run is not None and sum(result.cost for result in made.run) == pytest.approx(made.estimate.total)
    assert made.grids == [tmp_path / "cmp" / "grid.png"]


def test_the_library_compare_refuses_an_invalid_cell_naming_it(fake, tmp_path: Path) -> None:
    from glm_image_cli import Studio

    with Studio.from_config() as studio, pytest.raises(UsageError) as refused:
        studio.compare("a cat", {"model": "cogview-4,glm-image", "size": "1024x1024,2048x2048"},
                       output_dir=tmp_path / "cmp")
    assert "cell 3 (model=cogview-4, size=2048x2048)" in str(refused.value)
    assert fake.requests == []


def test_the_gallery_shows_a_compare_as_one_table(cli, fake) -> None:
    assert cli(*SIX_CELLS, "-o", "out/cmp", "--yes").exit_code == 0
    Path("out/loose.png").write_bytes(Path("out/cmp/cogview-4_水彩.png").read_bytes())
    assert cli("gallery", "out").exit_code == 0
    page = Path("out/index.html").read_text(encoding="utf-8")
    table = page[page.index('<section class="compare">'):page.index("</section>")]
    assert table.count("<tr>") == 4 and "<th>cogview-3-flash</th>" in table and '<th scope="row">像素</th>' in table
    assert table.count("<img") == 6
    cards = page[page.index('<main id="cards"'):]
    assert cards.count('<figure class="card"') == 1 and "loose.png" in cards and "grid.png" not in page


def test_again_remakes_one_cell_from_its_history_entry(cli, fake) -> None:
    assert cli(*SIX_CELLS, "-o", "out", "--yes").exit_code == 0
    entries = json.loads(cli("history", "--json").stdout)
    cell = next(e for e in entries if e["model"] == "cogview-3-flash" and e["style"] == "油画")
    assert cell["command"] == "compare" and cell["path"].endswith("cogview-3-flash_油画.png")
    assert cli("again", str(cell["id"]), "-o", "again", "--yes").exit_code == 0
    assert sent(fake)[-1] == ("cogview-3-flash", cell["prompt_sent"])


def test_serve_compare_answers_compare_json_and_resumes(fake, tmp_path: Path) -> None:
    import threading

    import httpx

    from glm_image_cli.backends.bigmodel import BigModelClient
    from glm_image_cli.serve.server import GlmImageHTTPServer
    from glm_image_cli.serve.service import ImageService, ServeOptions
    from tests.conftest import serve_studio
    from tests.fake_bigmodel import DEFAULT_KEY

    options = ServeOptions(port=0, rate_per_minute=0)
    with BigModelClient(DEFAULT_KEY, fake.base_url) as client:
        studio = serve_studio(client)
        server = GlmImageHTTPServer(options, ImageService(studio, options, studio.saver(tmp_path / "saved")),
                                    lambda line: None)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/compare"
            body = {"prompt": "一只猫", "axes": {"model": ["cogview-4", "cogview-3-flash"], "style": ["水彩", "油画"]}}
            first = httpx.post(url, json=body, timeout=30)
            again = httpx.post(url, json=body, timeout=30)
            bad = httpx.post(url, json={"prompt": "x", "axes": ["model"]}, timeout=30)
        finally:
            server.shutdown()
            server.server_close()
    assert first.status_code == 200, first.text
    answer = first.json()
    assert [axis["name"] for axis in answer["axes"]] == ["model", "style"] and answer["grids"] == ["grid.png"]
    assert Path(answer["folder"], "compare.json").is_file() and Path(answer["folder"]).parent == tmp_path / "saved"
    assert again.json()["cells"] == answer["cells"] and len(sent(fake)) == 4  # the same request paid nothing more
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_FIELD"


def test_mcp_compare_images_returns_the_grid_and_the_cells(fake, tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    from tests.test_mcp import run_session

    out = tmp_path / "cmp"
    _, (made, refused) = run_session(fake, tmp_path, [
        ("compare_images", {"prompt": "一只猫", "axes": {"style": ["水彩", "油画"]}, "output_dir": str(out)}),
        ("compare_images", {"prompt": "一只猫", "axes": {"style": ["水彩", "水彩"]}, "output_dir": str(out)}),
    ])
    assert not made.is_error, made.content[0].text
    answer = json.loads(made.content[0].text)
    assert answer["grid_paths"] == [str(out / "grid.png")] and len(answer["cells"]) == 2
    assert refused.is_error and "twice" in refused.content[0].text


def test_compare_mistakes_have_their_own_codes_under_json(cli, fake) -> None:
    result = cli("compare", "a cat", "--style", "水彩", "-o", "out", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout.splitlines()[-1])["error"]["code"] == "COMPARE_AXIS"


def test_alternatives_in_the_prompt_become_one_more_axis(cli, fake) -> None:
    result = cli("compare", "一只{猫|狗}", "--style", "水彩,油画", "-o", "out", "--yes")
    assert result.exit_code == 0, result.stderr
    document = load_compare()
    assert [(axis["role"], axis["name"], axis["values"]) for axis in document["axes"]] == [
        ("x", "style", ["水彩", "油画"]), ("y", "prompt", ["一只猫", "一只狗"])]
    assert sorted(prompt.split("，")[0] for _, prompt in sent(fake)) == ["一只狗", "一只狗", "一只猫", "一只猫"]
    assert document["cells"][3]["values"] == {"style": "油画", "prompt": "一只狗"}


def test_check_and_best_of_compose_with_compare(cli, fake) -> None:
    from tests.fake_vision import FakeVision

    fake.vision = FakeVision(score=8)
    result = cli("compare", "一只猫", "--style", "水彩,油画", "--best-of", "2", "--check", "-o", "out", "--yes")
    assert result.exit_code == 0, result.stderr
    assert len(sent(fake)) == 4  # two candidates a cell, both paid for
    cells = load_compare()["cells"]
    assert all(len(cell["files"]) == 1 and "check" in cell["recipes"][0] for cell in cells)
    assert len(list(Path("out/candidates").glob("*.png"))) == 2


def test_best_of_batches_and_compares_print_only_paths_that_stay(cli, fake) -> None:
    from tests.fake_vision import FakeVision

    fake.vision = FakeVision(score=8)
    Path("p.txt").write_text("a cat\na dog\n", encoding="utf-8")
    batch = cli("batch", "p.txt", "--best-of", "2", "-o", "b", "--yes")
    compared = cli("compare", "一只猫", "--style", "水彩,油画", "--best-of", "2", "-o", "c", "--yes")
    for result in (batch, compared):
        assert result.exit_code == 0, result.stderr
        printed = [Path(line) for line in result.stdout.splitlines() if line.endswith(".png") and ": " not in line]
        assert len(printed) == 2 and all(path.is_file() for path in printed), result.stdout


def test_a_compare_gallery_in_a_real_headless_browser_counts_its_table(cli, fake) -> None:
    import re

    from tests.test_metadata_history import chromium, dump_dom

    if chromium() is None:
        pytest.skip("no headless Chromium here (.ci/run installs Debian's chromium)")
    assert cli(*SIX_CELLS, "-o", "out", "--yes").exit_code == 0
    assert cli("gallery", "out").exit_code == 0
    dom = dump_dom(Path("out/index.html"))
    assert re.search(r'<span id="count">6 / 6</span>', dom)  # the script ran and counted the table's images
    assert '<p id="empty" class="hidden">' in dom and "<small>" not in dom  # no "no matching images", no "."


@pytest.mark.parametrize("command", [SIX_CELLS, ["batch", "p.txt"]])
def test_a_folder_command_refuses_o_dash_before_anything_is_sent(cli, fake, command: list[str]) -> None:
    Path("p.txt").write_text("a cat\n", encoding="utf-8")
    result = cli(*command, "-o", "-", "--yes")
    assert result.exit_code == 2 and "-o - (standard output) is for one image" in result.stderr
    assert fake.requests == [] and not Path("-").exists()


def test_check_on_a_compare_folder_judges_the_cells_not_the_grid(cli, fake) -> None:
    from tests.fake_vision import FakeVision

    fake.vision = FakeVision(score=8)
    assert cli("compare", "一只猫", "--style", "水彩,油画", "-o", "out", "--yes").exit_code == 0
    result = cli("check", "out")
    assert result.exit_code == 0, result.stderr
    assert "grid.png" not in result.stdout + result.stderr and result.stdout.count("8") >= 2


def test_the_same_axes_typed_in_another_order_buy_nothing_again(cli, fake) -> None:
    assert cli(*SIX_CELLS, "--yes").exit_code == 0
    swapped = cli("compare", "一只猫", "--style", "像素,油画,水彩", "--model", "cogview-3-flash,cogview-4", "--yes")
    assert swapped.exit_code == 0, swapped.stderr
    assert len(sent(fake)) == 6  # the same six cells, found in the same folder
    [folder] = Path("glm-images").glob("compare-一只猫-*")
    document = json.loads((folder / "compare.json").read_text(encoding="utf-8"))
    assert [axis["name"] for axis in document["axes"]] == ["style", "model"]  # the grid follows the new order
    assert all(cell["files"] for cell in document["cells"])


def test_a_planted_compare_json_with_huge_axes_leaves_the_gallery_to_loose_cards(cli, tmp_path: Path) -> None:
    folder = Path("planted")
    folder.mkdir()
    Path("planted/a.png").write_bytes(b"\\x89PNG\\r\\n\\x1a\\n")
    huge = {"prompt": "x", "axes": [{"values": [str(n) for n in range(60000)]}, {"values": ["a"] * 60000}],
            "cells": []}
    Path("planted/compare.json").write_text(json.dumps(huge), encoding="utf-8")
    result = cli("gallery", "planted")
    assert result.exit_code == 0, result.stderr
    page = Path("planted/index.html").read_text(encoding="utf-8")
    assert '<section class="compare">' not in page and "a.png" in page


def test_a_cell_image_that_cannot_be_drawn_is_an_empty_cell_not_a_failure(tmp_path: Path) -> None:
    from PIL import Image

    from glm_image_cli.storage.gridimage import GridSpec, draw_grid

    good, broken = tmp_path / "good.png", tmp_path / "broken.png"
    Image.new("RGB", (64, 64), (10, 200, 10)).save(good)
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # a PNG signature and nothing a decoder can use
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb)  # 400 million pixels declared: never decoded for a cell
    result = draw_grid(GridSpec([[good, broken, bomb]], ["a", "b", "c"], []), tmp_path / "grid.png",
                       font_path=None, cell=64)
    with Image.open(result.path) as grid:
        assert grid.getpixel((8 + 32, result.height - 8 - 32)) == (10, 200, 10)
        assert grid.getpixel((8 + 64 + 8 + 32, result.height - 8 - 32)) == (225, 225, 225)  # missing
        assert grid.getpixel((8 + 2 * (64 + 8) + 32, result.height - 8 - 32)) == (225, 225, 225)
