"""One request through every front end: the CLI, serve, the MCP tool, chat and the Python API are adapters over
the one library API, so the upstream sees the same bodies, the ledger the same rows, the images the same
recipes, and the consent estimate is what the ledger then records — on both backends."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from glm_image_cli.backends.bigmodel import BigModelClient
from glm_image_cli.cli.commands.common import RunState
from glm_image_cli.core import consent as consent_module
from glm_image_cli.core.ledger import Ledger
from glm_image_cli.core.studio import Studio
from glm_image_cli.serve.server import GlmImageHTTPServer
from glm_image_cli.serve.service import ImageService, ServeOptions
from glm_image_cli.storage.history import data_dir
from glm_image_cli.storage.pngmeta import recipe_in_file
from tests.conftest import serve_studio
from tests.fake_bigmodel import CHAT_ROUTE, DEFAULT_KEY, SYNC_ROUTE, FakeBigModel
from tests.fake_openai import GENERATIONS, KEY, FakeOpenAI

FRONT_ENDS = ("generate", "serve", "mcp", "chat", "api")
# The request every front end makes.  The openai fake has no chat route, so it is made there without --enhance.
REQUESTS = {
    "bigmodel": {"prompt": "a lighthouse at dusk", "style": "油画", "negative": "people", "size": "1024x1024",
                 "model": "cogview-4", "samples": 2, "enhance": True},
    "openai": {"prompt": "a lighthouse at dusk", "style": "油画", "negative": "people", "size": "1024x1024",
               "model": "zai-org/GLM-Image", "samples": 2, "enhance": False},
}
VARYING = ("request_id", "created", "tool_version")  # what differs between two images of the same request


@pytest.fixture(params=["bigmodel", "openai"])
def upstream(request, monkeypatch: pytest.MonkeyPatch, isolated: Path, cli):
    """The fake upstream of the backend, the settings pointing at it, and a price for the model so that the
    ledger has something to agree with (and consent something to ask: confirm-above is below one image)."""
    backend = request.param
    fake: Any = FakeBigModel() if backend == "bigmodel" else FakeOpenAI()
    with fake:
        if backend == "bigmodel":
            monkeypatch.setenv("GLM_BASE_URL", fake.base_url)
            monkeypatch.setenv("GLM_API_KEY", DEFAULT_KEY)
        else:
            cli("config", "set", "backend", "openai")
            cli("config", "set", "base-url", fake.base_url)
            monkeypatch.setenv("GLM_API_KEY", KEY)
            with isolated.open("a", encoding="utf-8") as config:  # the self-hosted model, priced for the test
                config.write('\n[prices]\n"zai-org/glm-image" = 0.02\n')
        cli("config", "set", "confirm-above", "0.001")
        yield backend, fake


def image_bodies(backend: str, fake: Any) -> list[Any]:
    return [seen.body for seen in fake.seen(SYNC_ROUTE if backend == "bigmodel" else GENERATIONS)]


def forget_rewrites() -> None:
    """Each front end makes its own rewrite call (the cache would answer every one after the first)."""
    shutil.rmtree(data_dir() / "enhance-cache", ignore_errors=True)


def through_cli(cli, request: dict, folder: Path) -> None:
    args = ["generate", request["prompt"], "--style", request["style"], "--negative", request["negative"],
            "--size", request["size"], "-m", request["model"], "-n", str(request["samples"]), "-o", str(folder), "-y",
            "--enhance" if request["enhance"] else "--no-enhance"]
    result = cli(*args)
    assert result.exit_code == 0, result.stderr


def through_serve(backend: str, fake: Any, request: dict, folder: Path) -> None:
    from glm_image_cli.backends.openai import OpenAIImagesClient

    options = ServeOptions(port=0, rate_per_minute=0)
    kind = BigModelClient if backend == "bigmodel" else OpenAIImagesClient
    with kind(DEFAULT_KEY if backend == "bigmodel" else KEY, fake.base_url, timeout=30) as client:
        studio = serve_studio(client, model=None)
        folder.mkdir()
        saver = studio.saver(folder)
        server = GlmImageHTTPServer(options, ImageService(studio, options, saver), lambda line: None)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        try:
            url = "http://{}:{}/v1/images/generations".format(*server.server_address[:2])
            answer = httpx.post(url, json={"prompt": request["prompt"], "style": request["style"],
                                           "negative_prompt": request["negative"], "size": request["size"],
                                           "model": request["model"], "n": request["samples"],
                                           "enhance": request["enhance"]}, timeout=60)
            assert answer.status_code == 200, answer.text
        finally:
            server.shutdown()
            server.server_close()
            studio.close()


def through_mcp(request: dict, folder: Path) -> None:
    from glm_image_cli.mcpserver.tools import _generate

    content = _generate("en", request["prompt"], request["style"], request["size"], request["model"],
                        request["samples"], request["negative"], str(folder), True, request["enhance"])
    assert '"ok": true' in content[0]


def through_chat(request: dict, folder: Path) -> None:
    from glm_image_cli.chat.conversation import ChatSession
    from tests.test_chat import Recorder

    io = Recorder(yes=True)
    session = ChatSession(RunState(), io, model=request["model"], style=request["style"], size=request["size"],
                          samples=request["samples"], enhance=request["enhance"], output_dir=folder)
    assert session.run([f"/negative {request['negative']}", request["prompt"]]) == 0
    assert not io.said("error"), io.said("error")


def through_api(request: dict, folder: Path) -> None:
    with Studio.from_config() as studio:
        plan = studio.plan(request["prompt"], style=request["style"], negative=request["negative"],
                           size=request["size"], model=request["model"], samples=request["samples"])
        run = studio.generate(plan, output_dir=folder, enhance=request["enhance"], consent=lambda estimate: True)
    assert all(result.ok for result in run)


def test_every_front_end_makes_the_same_request_records_and_recipes(upstream, cli, monkeypatch,
                                                                     tmp_path: Path) -> None:
    backend, fake = upstream
    request = REQUESTS[backend]
    estimates: dict[str, Any] = {}
    current = {"name": ""}
    real_check = consent_module.check_consent

    def recording_check(estimate, consent, **options):  # what each front end's consent was asked about
        estimates[current["name"]] = estimate
        return real_check(estimate, consent, **options)

    monkeypatch.setattr(consent_module, "check_consent", recording_check)
    monkeypatch.setattr("glm_image_cli.core.studio.check_consent", recording_check)
    bodies: dict[str, list[Any]] = {}
    chats: dict[str, list[Any]] = {}
    folders = {name: tmp_path / f"made-{name}" for name in FRONT_ENDS}
    for name in FRONT_ENDS:
        current["name"] = name
        forget_rewrites()
        images_before = len(image_bodies(backend, fake))
        chats_before = fake.count(CHAT_ROUTE) if backend == "bigmodel" else 0
        if name == "generate":
            through_cli(cli, request, folders[name])
        elif name == "serve":
            through_serve(backend, fake, request, folders[name])
        elif name == "mcp":
            through_mcp(request, folders[name])
        elif name == "chat":
            through_chat(request, folders[name])
        else:
            through_api(request, folders[name])
        bodies[name] = image_bodies(backend, fake)[images_before:]
        if backend == "bigmodel":
            chats[name] = [seen.body for seen in fake.seen(CHAT_ROUTE)[chats_before:]]

    # The upstream saw the same image bodies (and the same rewrite request) from every front end.
    assert all(len(found) == request["samples"] for found in bodies.values())
    assert all(found == bodies["api"] for found in bodies.values()), bodies
    if request["enhance"]:
        assert all(len(found) == 1 and found == chats["api"] for found in chats.values()), chats
    # The recipes embedded in the images are the same, but for ids and times.
    recipes = {name: sorted((_stable(recipe_in_file(path)) for path in folder.glob("*.png")), key=repr)
               for name, folder in folders.items()}
    assert all(len(found) == request["samples"] for found in recipes.values()), recipes
    assert all(found == recipes["api"] for found in recipes.values())
    # The ledger has the same rows for every front end, and they add up to the estimate consent was asked.
    rows: dict[str, Counter] = {name: Counter() for name in FRONT_ENDS}
    totals: dict[str, float] = {name: 0.0 for name in FRONT_ENDS}
    for row in Ledger().entries():
        if row.command in rows:
            rows[row.command][(row.model, round(row.cost, 6), row.outcome)] += 1
            totals[row.command] += row.cost
    assert all(found == rows["api"] for found in rows.values()), rows
    assert sum(rows["api"].values()) == request["samples"] and all(cost > 0 for _, cost, _ in rows["api"])
    for name in FRONT_ENDS:
        assert estimates[name].total == pytest.approx(totals[name]), name
        assert estimates[name].image_count == request["samples"], name


def _stable(recipe: dict | None) -> dict:
    assert recipe is not None
    return {key: value for key, value in recipe.items() if key not in VARYING}
