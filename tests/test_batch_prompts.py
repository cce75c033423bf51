"""Templates, {a|b} alternatives and __name__ wildcards in `glm-image batch`: each expanded prompt is its own unit,
so resume, the folder lock and never-pay-twice work unchanged.  Counts what the fake upstream was asked to make."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from glm_image_cli.storage.pngmeta import recipe_in_file
from tests.fake_bigmodel import SYNC_ROUTE
from tests.test_console_script import spawn_batch, wait_until_reached


def sent(fake) -> list[str]:
    return [call.body["prompt"] for call in fake.seen(SYNC_ROUTE)]


def save_poster(cli, *extra: str) -> None:
    result = cli("template", "save", "poster", "海报，{subject}，{style}风格", *extra)
    assert result.exit_code == 0, result.stderr


def test_each_expanded_prompt_of_a_line_is_one_image(cli, fake) -> None:
    Path("p.txt").write_text("{一只猫|一只狗} on {grass|snow}\nplain {braces} stay\n", encoding="utf-8")
    result = cli("batch", "p.txt", "-o", "out", "--yes")
    assert result.exit_code == 0, result.stderr
    assert sorted(sent(fake)) == sorted(["一只猫 on grass", "一只猫 on snow", "一只狗 on grass", "一只狗 on snow",
                                         "plain {braces} stay"])
    names = sorted(path.name for path in Path("out").glob("*.png"))
    assert names[0].startswith("0001-") and names[-1].startswith("0005-")
    recipe = recipe_in_file(Path("out") / names[0])
    assert recipe["expansion"]["source"] == "{一只猫|一只狗} on {grass|snow}"


def test_a_jsonl_line_names_a_template_and_fills_its_variables(cli, fake) -> None:
    save_poster(cli, "--size", "768x1344")
    Path("p.jsonl").write_text(
        '{"template": "poster", "subject": "猫", "style": "水彩"}\n'
        '{"template": "poster", "subject": "狗", "style": "油画", "size": "1344x768"}\n', encoding="utf-8")
    result = cli("batch", "p.jsonl", "-o", "out", "--yes")
    assert result.exit_code == 0, result.stderr
    bodies = sorted((call.body["prompt"], call.body["size"]) for call in fake.seen(SYNC_ROUTE))
    assert bodies == [("海报，狗，油画风格", "1344x768"), ("海报，猫，水彩风格", "768x1344")]


def test_csv_columns_fill_the_template_and_flags_beat_its_defaults(cli, fake) -> None:
    save_poster(cli, "--size", "768x1344")
    Path("p.csv").write_text("template,subject,style\nposter,猫,水彩\nposter,狗,油画\n", encoding="utf-8")
    result = cli("batch", "p.csv", "-o", "out", "--yes", "--size", "1344x768")
    assert result.exit_code == 0, result.stderr
    assert sorted(sent(fake)) == ["海报，狗，油画风格", "海报，猫，水彩风格"]
    assert {call.body["size"] for call in fake.seen(SYNC_ROUTE)} == {"1344x768"}


def test_batch_template_flag_reads_name_value_lines(cli, fake) -> None:
    save_poster(cli)
    Path("p.txt").write_text('subject=猫 style=水彩\nsubject="两只 狗" style={油画|版画}\n', encoding="utf-8")
    result = cli("batch", "p.txt", "-t", "poster", "-o", "out", "--yes")
    assert result.exit_code == 0, result.stderr
    assert sorted(sent(fake)) == sorted(["海报，猫，水彩风格", "海报，两只 狗，油画风格", "海报，两只 狗，版画风格"])


def test_bad_lines_are_all_reported_and_nothing_is_sent(cli, fake) -> None:
    save_poster(cli)
    Path("p.jsonl").write_text(
        '{"template": "poster", "subject": "猫"}\n'
        '{"template": "postr", "subject": "猫", "style": "x"}\n'
        '{"prompt": "a {b|{c|d}}"}\n'
        '{"prompt": "a __nothing__"}\n', encoding="utf-8")
    result = cli("batch", "p.jsonl", "-o", "out", "--yes")
    assert result.exit_code == 2
    assert "line 1" in result.stderr and "needs {style}" in result.stderr
    assert "line 2" in result.stderr and "did you mean poster?" in result.stderr
    assert "line 3" in result.stderr and "column 6" in result.stderr
    assert "line 4" in result.stderr and "nothing.txt" in result.stderr
    assert fake.requests == []


def test_a_line_expanding_past_max_images_is_refused_before_anything_is_sent(cli, fake) -> None:
    Path("p.txt").write_text("{a|b|c|d|e|f|g|h|i|j|k} {1|2|3|4|5|6|7|8|9|10}\n", encoding="utf-8")
    result = cli("batch", "p.txt", "-o", "out", "--yes")
    assert result.exit_code == 2 and "110 images, more than --max-images 100" in result.stderr
    assert fake.requests == []


def test_random_draws_without_a_seed_are_the_same_on_every_run(cli, fake, tmp_path: Path) -> None:
    wildcards = tmp_path / "wc"
    wildcards.mkdir()
    (wildcards / "animal.txt").write_text("\n".join(f"animal{i}" for i in range(20)) + "\n", encoding="utf-8")
    Path("p.txt").write_text("a __animal__ in {rain|snow|fog}\n", encoding="utf-8")
    args = ("batch", "p.txt", "-o", "out", "--yes", "--expand", "random:4", "--wildcards", str(wildcards))
    assert cli(*args).exit_code == 0
    first = sorted(sent(fake))
    assert len(first) == 4 and len(set(first)) == 4
    again = cli(*args)
    assert again.exit_code == 0, again.stderr
    assert fake.count(SYNC_ROUTE) == 4  # the same four prompts, found made: none bought again
    fresh = cli(*args, "-o", "elsewhere")
    assert fresh.exit_code == 0 and sorted(sent(fake)[4:]) == first  # a new folder draws the same four


def test_dry_run_lists_the_expanded_prompts_and_the_cost(cli, fake) -> None:
    Path("p.txt").write_text("{a|b} cat\n", encoding="utf-8")
    result = cli("batch", "p.txt", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "2 prompts:" in result.stdout and "0001. a cat" in result.stdout and "0002. b cat" in result.stdout
    machine = [json.loads(line) for line in cli("batch", "p.txt", "--dry-run", "--json").stdout.splitlines()]
    assert [row["prompt"] for row in machine if row["type"] == "prompt"] == ["a cat", "b cat"]
    assert machine[-1]["type"] == "plan" and machine[-1]["images"] == 2
    assert fake.requests == []


def test_a_rerun_after_a_kill_pays_nothing_twice_with_expansions(cli, fake) -> None:
    Path("p.txt").write_text("{a|b|c} lighthouse {dawn|dusk}\n", encoding="utf-8")
    fake.hold_after = 0
    first = spawn_batch(fake, "p.txt", "-o", "out", "--yes", "-j", "1")
    wait_until_reached(fake, first, SYNC_ROUTE, 1)
    first.kill()
    first.communicate(timeout=30)
    fake.hold_after = None
    fake.released.set()
    again = cli("batch", "p.txt", "-o", "out", "--yes", "-j", "1")
    assert again.exit_code == 9, again.stderr  # the killed call may have been billed: reported, not resent
    assert fake.count(SYNC_ROUTE) == 6
    assert max(Counter(sent(fake)).values()) == 1  # every prompt bought once
    third = cli("batch", "p.txt", "-o", "out", "--yes", "-j", "1")
    assert fake.count(SYNC_ROUTE) == 6 and third.exit_code == 9


def test_failed_lines_are_written_so_that_running_them_again_sends_the_same_prompt(cli, fake) -> None:
    from tests.fake_bigmodel import Reply

    Path("p.txt").write_text(r"\{literal|braces\} and {x|y}" + "\n", encoding="utf-8")
    fake.script(SYNC_ROUTE, Reply.error(400, "1214", "bad"), Reply.error(400, "1214", "bad"))
    assert cli("batch", "p.txt", "-o", "out", "--yes").exit_code != 0
    retried = cli("batch", "out/failed.jsonl", "-o", "out", "--yes")
    assert retried.exit_code == 0, retried.stderr
    assert sorted(sent(fake)[2:]) == ["{literal|braces} and x", "{literal|braces} and y"]
