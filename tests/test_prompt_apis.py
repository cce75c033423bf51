"""Templates and {a|b} alternatives over the library API, serve and MCP: opt-in request fields ("template" with
"variables", "expand" with "seed"); a prompt without them is sent exactly as written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glm_image_cli import Studio
from glm_image_cli.core.templates import TemplateStore, make_template
from glm_image_cli.errors import UsageError
from tests.fake_bigmodel import SYNC_ROUTE


def poster(tmp_path: Path) -> None:
    store = TemplateStore(tmp_path / "data" / "templates")
    store.save(make_template("poster", "海报，{subject}，{style}风格", {"size": "768x1344"}, {"style": "水彩"}))


def test_the_library_expands_a_template_and_alternatives_into_plans(tmp_path: Path) -> None:
    poster(tmp_path)
    with Studio.from_config() as studio:
        plans = studio.expand(template="poster", variables={"subject": "{猫|狗}"})
        assert [plan.prompt for plan in plans] == ["海报，猫，水彩风格", "海报，狗，水彩风格"]
        assert {plan.size for plan in plans} == {"768x1344"}
        assert [plan.size for plan in studio.expand(template="poster", variables={"subject": "猫"},
                                                    size="1344x768")] == ["1344x768"]
        with pytest.raises(UsageError, match="more than --max-images 3"):
            studio.expand("{a|b} {c|d}", max_images=3)
        assert [plan.prompt for plan in studio.expand("{a|b} {c|d}", expand="random:2", seed=1)] == \
               [plan.prompt for plan in studio.expand("{a|b} {c|d}", expand="random:2", seed=1)]


def test_serve_expands_only_when_asked(serve, fake) -> None:
    served = serve()
    plain = served.post("/v1/images/generations", {"prompt": "{a|b} cat", "response_format": "url"})
    assert plain.status_code == 200 and len(plain.json()["data"]) == 1
    assert fake.seen(SYNC_ROUTE)[0].body["prompt"] == "{a|b} cat"
    made = served.post("/v1/images/generations", {"prompt": "{a|b} cat", "expand": "all"})
    assert made.status_code == 200, made.text
    assert [item["revised_prompt"] for item in made.json()["data"]] == ["a cat", "b cat"]
    too_many = served.post("/v1/images/generations", {"prompt": "{a|b|c|d|e} cat", "expand": "all"})
    assert too_many.status_code == 400 and "5 images" in too_many.text
    assert fake.count(SYNC_ROUTE) == 3


def test_serve_fills_a_template(serve, fake, tmp_path: Path) -> None:
    poster(tmp_path)
    served = serve()
    made = served.post("/txt2img", {"template": "poster", "variables": {"subject": "猫"}})
    assert made.status_code == 200, made.text
    [call] = fake.seen(SYNC_ROUTE)
    assert call.body["prompt"] == "海报，猫，水彩风格" and call.body["size"] == "768x1344"
    missing = served.post("/txt2img", {"template": "poster", "variables": {}})
    assert missing.status_code == 400 and "{subject}" in missing.text
    bad = served.post("/txt2img", {"template": "poster", "variables": ["猫"]})
    assert bad.status_code == 400 and "variables" in bad.text
    assert fake.count(SYNC_ROUTE) == 1


def test_mcp_generate_image_takes_a_template_and_expand(fake, tmp_path: Path) -> None:
    pytest.importorskip("mcp", reason="the mcp extra is not installed")
    from tests.test_mcp import run_session

    poster(tmp_path)
    _, (made, expanded) = run_session(fake, tmp_path, [
        ("generate_image", {"template": "poster", "variables": {"subject": "猫"}, "output_dir": str(tmp_path / "o")}),
        ("generate_image", {"prompt": "{a|b} cat", "expand": "all", "output_dir": str(tmp_path / "o")}),
    ])
    assert not made.is_error and not expanded.is_error
    assert [image["prompt"] for image in json.loads(expanded.content[0].text)["images"]] == ["a cat", "b cat"]
    assert fake.seen(SYNC_ROUTE)[0].body["prompt"] == "海报，猫，水彩风格"
    assert fake.count(SYNC_ROUTE) == 3
