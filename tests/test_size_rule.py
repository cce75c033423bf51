"""One size rule per model (issue 26, items 1 and 7): the recommended list, the checker, completion and
`glm-image models` say the same thing, and the nearest valid size keeps the shape that was asked for."""

from __future__ import annotations

import json

from glm_image_cli.backends.models import MODELS, find_model, nearest_valid_size, parse_size
from tests.fake_bigmodel import ASYNC_ROUTE
from tests.test_completion import _complete


def test_every_recommended_size_passes_the_rule_models_shows(cli) -> None:
    table = {row["model"]: row for row in json.loads(cli("models", "--json").stdout)}
    assert table["glm-image"]["size_rule"]["min_side"] == 512
    for spec in MODELS.values():
        for size in spec.recommended_sizes:
            assert spec.size_rule.accepts(*parse_size(size)), (spec.name, size)  # no exception for the list
    result = cli("models")
    shown = result.stdout
    assert "1728x960" in shown and "1024–2048" not in shown
    assert shown.count("512–2048 px") == 4  # glm-image and the three CogView-4 models
    assert "The first size of each model is its default" in result.stderr
    zh = cli("--lang", "zh", "models")
    assert zh.stdout.count("512–2048 像素") == 4 and "第一个尺寸是默认尺寸" in zh.stderr


def test_glm_image_takes_a_small_side_the_old_floor_refused(cli, fake) -> None:
    result = cli("generate", "a cat", "-m", "glm-image", "--size", "960x1728", "--json")
    assert result.exit_code == 0, result.stderr
    assert fake.seen(ASYNC_ROUTE)[-1].body["size"] == "960x1728"
    assert cli("generate", "a cat", "-m", "glm-image", "--size", "640x1024", "--json").exit_code == 0
    refused = cli("generate", "a cat", "-m", "glm-image", "--size", "480x1024")
    assert refused.exit_code == 2 and "each side 512–2048 px" in refused.stderr


def test_completion_offers_only_sizes_the_checker_accepts() -> None:
    answer = _complete({"instruction": "complete_bash", "COMP_WORDS": "glm-image generate x -m glm-image --size ",
                        "COMP_CWORD": "6"}, full=False).stdout.split()
    assert set(answer) == set(MODELS["glm-image"].recommended_sizes)
    assert all(MODELS["glm-image"].size_rule.accepts(*parse_size(size)) for size in answer)


def test_the_nearest_size_keeps_the_aspect_ratio(cli) -> None:
    assert nearest_valid_size(find_model("cogview-4").size_rule, 4096, 4096) == (1440, 1440)
    assert nearest_valid_size(find_model("glm-image").size_rule, 4096, 4096) == (2048, 2048)
    assert nearest_valid_size(find_model("cogview-4").size_rule, 100, 5000) == (512, 2048)
    result = cli("generate", "a cat", "-m", "cogview-4", "--size", "4096x4096")
    assert result.exit_code == 2
    assert "Nearest valid size: 1440x1440" in result.stderr
    zh = cli("--lang", "zh", "generate", "a cat", "-m", "cogview-4", "--size", "4096x4096")
    assert "最接近的有效尺寸：1440x1440" in zh.stderr
