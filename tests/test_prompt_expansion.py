"""Prompt alternatives ({a|b}) and wildcards (__name__): the grammar, and generate against the fake upstream."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glm_image_cli.core.expand import ExpandMode, Wildcards, expand
from glm_image_cli.errors import UsageError
from glm_image_cli.storage.pngmeta import recipe_in_file
from tests.fake_bigmodel import SYNC_ROUTE


def prompts(text: str, mode: str | None = None, seed: int | None = None, **options) -> list[str]:
    return [item.prompt for item in expand(text, ExpandMode.parse(mode, seed), **options)]


def usage_error(text: str, **options) -> UsageError:
    with pytest.raises(UsageError) as raised:
        expand(text, **options)
    return raised.value


# --- the grammar --------------------------------------------------------------------------------------

def test_two_groups_expand_to_their_cross_product_in_a_stable_order() -> None:
    assert prompts("{a|b} {c|d}") == ["a c", "a d", "b c", "b d"]
    assert prompts("{一只猫|一只狗}，{水彩|油画}风格") == ["一只猫，水彩风格", "一只猫，油画风格", "一只狗，水彩风格",
                                                        "一只狗，油画风格"]


def test_random_draws_are_stable_for_a_seed_and_differ_between_seeds() -> None:
    text = "{a|b|c} {1|2|3} {x|y}"
    first = prompts(text, "random:3", 7)
    assert first == prompts(text, "random:3", 7)
    assert len(first) == 3 and len(set(first)) == 3  # three different combinations
    assert set(first) <= set(prompts(text))
    assert any(prompts(text, "random:3", seed) != first for seed in range(8, 12))


def test_random_records_its_seed_and_choices_for_the_recipe() -> None:
    [item] = expand("{a|b} cat", ExpandMode.parse("random:1", 5))
    assert item.origin["seed"] == 5 and item.origin["expand"] == "random:1"
    assert item.origin["source"] == "{a|b} cat" and item.origin["choices"] == [item.prompt.split()[0]]


def test_escapes_are_literal_characters() -> None:
    assert prompts(r"\{a|b\} and x \| y") == ["{a|b} and x | y"]
    assert prompts(r"{a\|b|c}") == ["a|b", "c"]
    assert prompts(r"keep C:\path and \n as typed") == [r"keep C:\path and \n as typed"]


def test_braces_without_a_bar_stay_literal_so_existing_prompts_do_not_change() -> None:
    for text in ("a sign that says {OPEN}", '{"subject": {"kind": "cat"}}', "a lone { brace", "}{"):
        [item] = expand(text)
        assert item.prompt == text and item.origin == {}


def test_an_empty_alternative_is_allowed() -> None:
    assert prompts("{red |}cat") == ["red cat", "cat"]


def test_a_group_inside_a_group_is_an_error_naming_the_column() -> None:
    error = usage_error("a {b|{c|d}}")
    assert error.message_id == "expand_nested" and "column 6" in str(error)
    assert "column 6" in str(usage_error("a {b {c|d}}"))


def test_an_unclosed_group_is_an_error_naming_the_column() -> None:
    error = usage_error("cat, {red|blue")
    assert error.message_id == "expand_unclosed" and "column 6" in str(error)


def test_a_bad_expand_mode_is_refused() -> None:
    for text in ("some", "random:0", "random:x", "random"):
        with pytest.raises(UsageError, match="all or random:N"):
            ExpandMode.parse(text)


def test_wildcards_draw_lines_from_the_first_folder_that_has_the_file(tmp_path: Path) -> None:
    mine, shared = tmp_path / "mine", tmp_path / "shared"
    mine.mkdir()
    shared.mkdir()
    (shared / "animal.txt").write_text("# animals\n猫\n\n狗\n", encoding="utf-8")
    (mine / "color.txt").write_text("red\nblue\n", encoding="utf-8")
    (shared / "color.txt").write_text("never used\n", encoding="utf-8")
    found = prompts("a __color__ __animal__", wildcards=Wildcards([mine, shared]))
    assert found == ["a red 猫", "a red 狗", "a blue 猫", "a blue 狗"]


def test_a_missing_wildcard_file_names_every_path_searched(tmp_path: Path) -> None:
    error = usage_error("a __colour__ cat", wildcards=Wildcards([tmp_path / "one", tmp_path / "two"]))
    assert error.message_id == "wildcard_missing"
    assert str(tmp_path / "one" / "colour.txt") in str(error) and str(tmp_path / "two" / "colour.txt") in str(error)
    assert "__colour__" in str(error) and "column 3" in str(error)


def test_more_prompts_than_the_limit_are_refused_with_the_count() -> None:
    error = usage_error("{a|b|c} {d|e|f}", limit=8)
    assert error.message_id == "expand_too_many" and "9" in str(error) and "8" in str(error)


# --- generate ----------------------------------------------------------------------------------------

def test_generate_sends_one_request_per_expanded_prompt(cli, fake) -> None:
    result = cli("generate", "{一只猫|一只狗} {on grass|on snow}", "--no-watermark")
    assert result.exit_code == 0, result.stderr
    sent = [call.body["prompt"] for call in fake.seen(SYNC_ROUTE)]
    assert sorted(sent) == sorted(["一只猫 on grass", "一只猫 on snow", "一只狗 on grass", "一只狗 on snow"])
    paths = result.stdout.split()
    assert len(paths) == 4
    recipes = [recipe_in_file(Path(path)) for path in paths]
    assert {recipe["prompt"] for recipe in recipes} == set(sent)
    assert all(recipe["expansion"]["source"] == "{一只猫|一只狗} {on grass|on snow}" for recipe in recipes)


def test_generate_random_with_a_seed_chooses_the_same_prompts_again(cli, fake) -> None:
    for _ in range(2):
        assert cli("generate", "{a|b|c|d} {1|2|3|4}", "--expand", "random:3", "--seed", "7").exit_code == 0
    sent = [call.body["prompt"] for call in fake.seen(SYNC_ROUTE)]
    assert len(sent) == 6 and sorted(sent[:3]) == sorted(sent[3:])
    assert sorted(sent[:3]) == sorted(item.prompt for item in expand("{a|b|c|d} {1|2|3|4}", ExpandMode(3, 7)))


def test_generate_random_without_a_seed_says_the_seed_it_chose(cli, fake) -> None:
    result = cli("generate", "{a|b|c} cat", "--expand", "random:2")
    assert result.exit_code == 0, result.stderr
    seed = int(result.stderr.split("seed ")[1].split(";")[0])
    [recipe, _] = [recipe_in_file(Path(path)) for path in result.stdout.split()]
    assert recipe["expansion"]["seed"] == seed


def test_more_expansions_than_max_images_are_refused_before_anything_is_sent(cli, fake) -> None:
    result = cli("generate", "{a|b|c|d|e|f|g|h|i|j|k} {1|2|3|4|5|6|7|8|9|10}")
    assert result.exit_code == 2
    assert "110 images, more than --max-images 100" in result.stderr
    assert fake.requests == []
    result = cli("generate", "{a|b|c} cat", "-n", "2", "--max-images", "5", "--json")
    assert result.exit_code == 2 and "6 images" in result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "EXPAND_TOO_MANY"
    assert fake.requests == []


def test_generate_with_a_nested_group_sends_nothing(cli, fake) -> None:
    result = cli("generate", "a {b|{c|d}}")
    assert result.exit_code == 2 and "column 6" in result.stderr
    assert fake.requests == []


def test_generate_finds_wildcards_in_the_data_folder_and_in_wildcards_dir(cli, fake, tmp_path: Path) -> None:
    data = tmp_path / "data" / "wildcards"
    data.mkdir(parents=True)
    (data / "animal.txt").write_text("猫\n狗\n", encoding="utf-8")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "animal.txt").write_text("狐狸\n", encoding="utf-8")
    assert cli("generate", "一只__animal__").exit_code == 0
    assert cli("generate", "一只__animal__", "--wildcards", str(extra)).exit_code == 0
    assert [call.body["prompt"] for call in fake.seen(SYNC_ROUTE)][-1] == "一只狐狸"
    assert sorted(call.body["prompt"] for call in fake.seen(SYNC_ROUTE)[:2]) == ["一只狗", "一只猫"]


def test_generate_with_a_missing_wildcard_names_the_paths_and_sends_nothing(cli, fake, tmp_path: Path) -> None:
    result = cli("--lang", "zh", "generate", "一只__animal__")
    assert result.exit_code == 2
    assert "__animal__" in result.stderr and str(tmp_path / "data" / "wildcards" / "animal.txt") in result.stderr
    assert "通配符" in result.stderr
    assert fake.requests == []


def test_a_prompt_with_plain_braces_is_sent_as_typed(cli, fake) -> None:
    assert cli("generate", "a sign that says {OPEN}").exit_code == 0
    [call] = fake.seen(SYNC_ROUTE)
    assert call.body["prompt"] == "a sign that says {OPEN}"


def test_seed_without_random_is_a_usage_error(cli, fake) -> None:
    result = cli("generate", "{a|b}", "--seed", "3")
    assert result.exit_code == 2 and "--expand random:N" in result.stderr
    assert fake.requests == []


def test_each_expanded_image_has_its_own_number(cli, fake) -> None:
    result = cli("generate", "{a|b} cat", "-n", "2", "--name", "{index}-{slug}")
    assert result.exit_code == 0, result.stderr
    names = sorted(Path(path).name for path in result.stdout.split())
    assert names == ["1-a-cat.png", "2-a-cat.png", "3-b-cat.png", "4-b-cat.png"]


def test_a_prompt_standing_for_a_trillion_prompts_is_refused_before_any_is_made(cli, fake) -> None:
    """Counted from the groups' sizes: listing 2**40 prompts first would never end (nor fit in memory)."""
    result = cli("generate", "{a|b}" * 40, "--dry-run")
    assert result.exit_code == 2 and str(2 ** 40) in result.stderr
    Path("p.txt").write_text("{a|b}" * 40 + "\n", encoding="utf-8")
    batch = cli("batch", "p.txt", "--dry-run")
    assert batch.exit_code == 2 and str(2 ** 40) in batch.stderr
    assert fake.requests == []
