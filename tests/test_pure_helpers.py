"""Pure helpers: sizes, styles, names, files, the message catalogue."""

from __future__ import annotations

import re
import string
from datetime import datetime
from pathlib import Path, PurePosixPath

import pytest

from glm_image_cli.backends.models import MODELS, find_model, nearest_valid_size, parse_size, resolve_size
from glm_image_cli.core.styles import BUILTIN_STYLES, compose_prompt, find_style, is_chinese
from glm_image_cli.errors import UsageError
from glm_image_cli.messages import CATALOGUE, render, using_language
from glm_image_cli.storage.files import slugify, sniff_image_format, write_new_file
from tests.fake_bigmodel import TINY_JPEG, make_png


@pytest.mark.parametrize("text", ["1024x1024", "1024X1024", "1024×1024", "1024*1024", " 1024 x 1024 "])
def test_size_spellings(text: str) -> None:
    assert parse_size(text) == (1024, 1024)


def test_recommended_sizes_pass_their_own_rules() -> None:
    for spec in MODELS.values():
        for size in spec.recommended_sizes:
            assert resolve_size(spec, size, spec.name) == size


def test_nearest_valid_size_is_always_valid() -> None:
    for spec in (find_model("glm-image"), find_model("cogview-4")):
        rule = spec.size_rule
        for width in range(100, 5000, 173):
            for height in range(100, 5000, 211):
                assert rule.accepts(*nearest_valid_size(rule, width, height)), (width, height)


def test_invalid_size_message_names_rule_nearest_and_recommended() -> None:
    with pytest.raises(UsageError) as caught:
        resolve_size(find_model("cogview-4"), "3000x1000", "cogview-4")
    with using_language("en"):
        message = str(caught.value)
    assert "multiple of 16" in message and "Nearest valid size: 2048x688" in message
    assert "recommended: 1440x720" in message


def test_legacy_and_unknown_models_skip_size_checks() -> None:
    assert resolve_size(find_model("cogview-3"), "999x777", "cogview-3") == "999x777"
    assert resolve_size(None, "999x777", "new-model") == "999x777"
    assert resolve_size(find_model("cogview-3-plus"), None, "cogview-3-plus") is None


def test_styles_found_by_chinese_english_and_alias() -> None:
    assert find_style("卡通").english == "cartoon"
    assert find_style("Oil-Painting").name == "油画"
    assert find_style("水墨").english == "chinese-ink"
    required = {"写实", "卡通", "动漫", "油画", "水彩", "素描", "国风", "赛博朋克", "像素", "3D"}
    assert required <= {s.name for s in BUILTIN_STYLES}


def test_user_style_shadows_builtin() -> None:
    assert find_style("卡通", {"卡通": "my own cartoon"}).phrase_en == "my own cartoon"


def test_prompt_composition_in_both_languages() -> None:
    assert compose_prompt("一只猫。", find_style("油画")) == "一只猫，古典油画风格，厚涂笔触，画布质感，浓郁色彩"
    assert compose_prompt("a cat.", find_style("油画"), "blur") == (
        "a cat, oil painting, visible impasto brushstrokes, canvas texture, rich colours. Avoid: blur."
    )
    assert is_chinese("a 猫") and not is_chinese("a cat，")


def test_slug_keeps_chinese_and_drops_unsafe_characters() -> None:
    assert slugify("一只橘猫 / on a roof: 夜晚?") == "一只橘猫-on-a-roof-夜晚"
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert slugify("!!!") == "image"
    assert len(slugify("长" * 200)) == 40
    from glm_image_cli.core.plans import plan_generation
    from glm_image_cli.storage.naming import GENERATE_TEMPLATE, NameTemplate

    plan = plan_generation("a cat", model="cogview-4")
    rendered = NameTemplate.parse(GENERATE_TEMPLATE).render(when=datetime(2026, 11, 25, 9, 30, 12), index=2, plan=plan,
                                                            request_id=None, ext="png")
    assert rendered == (PurePosixPath(), "20261125-093012-a-cat")


def test_sniffing_image_formats() -> None:
    assert sniff_image_format(make_png()) == ("png", "png")
    assert sniff_image_format(TINY_JPEG) == ("jpeg", "jpg")
    assert sniff_image_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == ("webp", "webp")
    assert sniff_image_format(b"<html>") is None


def test_write_new_file_never_overwrites(tmp_path: Path) -> None:
    tmp_path = tmp_path / "images"
    tmp_path.mkdir()
    first = write_new_file(tmp_path, "cat", "png", b"one")
    second = write_new_file(tmp_path, "cat", "png", b"two")
    third = write_new_file(tmp_path, "cat", "png", b"three")
    assert [p.name for p in (first, second, third)] == ["cat.png", "cat-1.png", "cat-2.png"]
    assert first.read_bytes() == b"one" and third.read_bytes() == b"three"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat-1.png", "cat-2.png", "cat.png"]  # no temp files


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogue_is_complete_in_both_languages() -> None:
    from glm_image_cli.messages import HELP

    for message_id, (english, chinese) in {**CATALOGUE, **HELP}.items():
        assert english.strip() and chinese.strip(), message_id
        assert _placeholders(english) == _placeholders(chinese), message_id
        assert re.search(r"[\u4e00-\u9fff]", chinese) or not re.search(r"[A-Za-z]{4,}", _strip_code(chinese)), \
            message_id


def _strip_code(text: str) -> str:
    return re.sub(r"`[^`]*`|\{[^}]*\}|https?://\S+|--?[\w-]+|[A-Z_]{3,}|BigModel|PNG|JPEG", "", text)


def test_every_message_id_used_in_the_code_exists() -> None:
    source = _package_source()
    used = set(re.findall(r"""(?:Error|Failure|Limited|Blocked|Text|render)\(\s*["']([a-z_]+)["']""", source))
    assert used, "no message ids found"
    assert used - set(CATALOGUE) == set()
    from glm_image_cli.messages import HELP

    help_used = set(re.findall(r"""help_text\(\s*["']([\w.]+)["']""", source))
    assert help_used and help_used - set(HELP) == set()


def _package_source() -> str:
    import glm_image_cli

    root = Path(glm_image_cli.__file__).parent
    return "\n".join(p.read_text(encoding="utf-8") for p in root.rglob("*.py"))


def test_unknown_message_id_renders_as_itself() -> None:
    assert render("no_such_message") == "no_such_message"
