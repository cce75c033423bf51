"""Issue 20: the ``openai`` backend (any OpenAI-compatible image server), named profiles, and `edit`."""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from glm_image_cli.storage.pngmeta import recipe_in_file
from tests.fake_bigmodel import make_png
from tests.fake_openai import EDITS, FILES, GENERATIONS, KEY, MODELS, FakeOpenAI, Reply, fields_of

OPENAI_SECRET = KEY.split(".")[1]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """The fake OpenAI server, with the CLI pointed at it through the environment (backend openai)."""
    monkeypatch.delenv("GLM_IMAGE_PROFILE", raising=False)
    with FakeOpenAI() as fake:
        monkeypatch.setenv("GLM_BASE_URL", fake.base_url)
        monkeypatch.setenv("GLM_API_KEY", KEY)
        monkeypatch.setenv("GLM_IMAGE_BACKEND", "openai")
        yield fake


def run(cli, *args: str, **kwargs):
    result = cli(*args, **kwargs)
    shown = result.stdout + result.stderr
    assert OPENAI_SECRET not in shown
    return result


def saved(folder: str = "glm-images") -> list[Path]:
    path = Path(folder)
    return sorted(p for p in path.iterdir() if p.is_file()) if path.exists() else []


def test_generate_on_the_openai_backend_sends_the_openai_shape(cli, server) -> None:
    result = run(cli, "generate", "a lighthouse", "-m", "zai-org/GLM-Image", "--size", "1000x700")
    assert result.exit_code == 0, result.stderr
    [image] = saved()
    assert image.read_bytes().startswith(b"\x89PNG")
    [call] = server.seen(GENERATIONS)
    assert call.body == {"model": "zai-org/GLM-Image", "prompt": "a lighthouse", "n": 1, "size": "1000x700",
                         "response_format": "b64_json"}
    assert call.headers["authorization"] == f"Bearer {KEY}"
    assert "unknown" not in result.stderr.lower()  # a server's own model name: no warning
    assert recipe_in_file(image)["model"] == "zai-org/GLM-Image"


def test_url_results_are_downloaded(cli, server) -> None:
    server.result_mode = "url"
    result = run(cli, "generate", "a lighthouse", "-n", "2")
    assert result.exit_code == 0, result.stderr
    assert len(saved()) == 2
    assert server.count(GENERATIONS) == 2 and server.count(FILES) == 2


def test_images_are_free_unless_priced(cli, server, isolated: Path) -> None:
    result = run(cli, "generate", "a lighthouse", "-n", "3", "--json")
    assert result.exit_code == 0, result.stderr
    isolated.parent.mkdir(parents=True, exist_ok=True)
    isolated.write_text('[prices]\n"zai-org/glm-image" = 5\n')
    priced = run(cli, "generate", "a lighthouse", "-m", "zai-org/GLM-Image", "-n", "1")
    assert priced.exit_code == 2  # 5 > confirm-above 1: consent needed, none on a pipe
    assert server.count(GENERATIONS) == 3


@pytest.mark.parametrize(("reply", "exit_code", "code"), [
    (Reply.error(401, "Incorrect API key", code="invalid_api_key"), 4, "AUTH_FAILED"),
    (Reply.error(400, "unsafe", code="content_policy_violation"), 6, "CONTENT_BLOCKED"),
    (Reply.error(400, "size not supported", code="invalid_size"), 5, "UPSTREAM_REFUSED"),
    (Reply.error(403, "no access", code=None), 5, "NO_PERMISSION"),
])
def test_openai_errors_map_onto_our_kinds(cli, server, reply: Reply, exit_code: int, code: str) -> None:
    server.script(GENERATIONS, reply)
    result = run(cli, "generate", "a lighthouse", "--json")
    assert result.exit_code == exit_code, result.stderr
    [record] = json.loads(result.stdout)
    assert record["error"]["code"] == code
    assert server.count(GENERATIONS) == 1


def test_rate_limits_are_retried_with_and_without_retry_after(cli, server) -> None:
    server.script(GENERATIONS, Reply.error(429, "slow down", "rate_limit_exceeded", retry_after="0"),
                  Reply.error(429, "slow down", "rate_limit_exceeded"))
    result = run(cli, "generate", "a lighthouse")
    assert result.exit_code == 0, result.stderr
    assert server.count(GENERATIONS) == 3


def test_a_rate_limit_that_lasts_is_exit_8(cli, server) -> None:
    server.script(GENERATIONS, *[Reply.error(429, "busy", "rate_limit_exceeded")] * 6)
    assert run(cli, "generate", "a lighthouse").exit_code == 8
    assert server.count(GENERATIONS) == 6


def test_server_errors_are_retried_then_exit_10(cli, server) -> None:
    server.script(GENERATIONS, *[Reply.error(500, "boom", "server_error")] * 3)
    result = run(cli, "generate", "a lighthouse")
    assert result.exit_code == 10
    assert server.count(GENERATIONS) == 3


def test_a_dropped_post_is_never_sent_again(cli, server) -> None:
    server.script(GENERATIONS, Reply(drop=True))
    result = run(cli, "generate", "a lighthouse", "--json")
    assert result.exit_code == 9, result.stderr
    assert json.loads(result.stdout)[0]["error"]["code"] == "RESPONSE_LOST_MAYBE_CHARGED"
    assert server.count(GENERATIONS) == 1


def test_profiles_select_backend_base_url_and_key(cli, monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    for name in ("GLM_IMAGE_PROFILE", "GLM_IMAGE_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    with FakeOpenAI() as server:
        assert run(cli, "config", "set", "--profile", "gpu", "backend", "openai").exit_code == 0
        assert run(cli, "config", "set", "--profile", "gpu", "base-url", server.base_url).exit_code == 0
        assert run(cli, "config", "set", "--profile", "gpu", "api-key", KEY).exit_code == 0
        assert "[profiles.gpu]" in isolated.read_text()
        assert oct(isolated.stat().st_mode & 0o777) == "0o600"
        # without the profile: the top-level settings (bigmodel, no key)
        assert run(cli, "generate", "a lighthouse").exit_code == 3
        assert server.count(GENERATIONS) == 0
        result = run(cli, "--profile", "gpu", "generate", "a lighthouse")
        assert result.exit_code == 0, result.stderr
        assert server.count(GENERATIONS) == 1
        monkeypatch.setenv("GLM_IMAGE_PROFILE", "gpu")
        assert run(cli, "generate", "another").exit_code == 0
        assert server.count(GENERATIONS) == 2
        shown = run(cli, "config", "show", "--json")
        data = json.loads(shown.stdout)
        assert data["profile"] == "gpu"
        assert data["settings"]["backend"] == {"value": "openai", "source": "profile:gpu"}
        assert data["settings"]["base-url"]["value"] == server.base_url
        text = run(cli, "config", "show")
        assert "Profile: gpu" in text.stderr + text.stdout
    monkeypatch.delenv("GLM_IMAGE_PROFILE")
    unknown = run(cli, "--profile", "nope", "generate", "a lighthouse")
    assert unknown.exit_code == 3 and "nope" in unknown.stderr


def test_a_profile_beats_the_environment_and_never_gets_another_hosts_key(cli, monkeypatch: pytest.MonkeyPatch,
                                                                         fake) -> None:
    """GLM_API_KEY and GLM_BASE_URL (set by `fake`) are meant for BigModel: with a profile of its own server, the
    profile's base-url is used and only the profile's key is sent there; with no key in the profile, none is."""
    with FakeOpenAI() as server:
        run(cli, "config", "set", "--profile", "gpu", "backend", "openai")
        run(cli, "config", "set", "--profile", "gpu", "base-url", server.base_url)
        run(cli, "config", "set", "--profile", "gpu", "model", "zai-org/GLM-Image")
        refused = run(cli, "--profile", "gpu", "generate", "a lighthouse")
        assert refused.exit_code == 3 and server.count(GENERATIONS) == 0 and fake.requests == []
        run(cli, "config", "set", "--profile", "gpu", "api-key", KEY)
        result = run(cli, "--profile", "gpu", "generate", "a lighthouse")
        assert result.exit_code == 0, result.stderr
        sent = server.seen(GENERATIONS)[0].headers
        assert sent.get("authorization") == f"Bearer {KEY}" and fake.requests == []
        shown = json.loads(run(cli, "--profile", "gpu", "config", "show", "--json").stdout)["settings"]
        assert shown["base-url"]["source"] == "profile:gpu" and shown["api-key"]["source"] == "profile:gpu"


def test_edit_sends_multipart_and_saves_with_a_recipe(cli, server) -> None:
    source, mask = Path("cat.png"), Path("mask.png")
    source.write_bytes(make_png(8, 8, (200, 10, 10)))
    mask.write_bytes(make_png(8, 8, (0, 0, 0)))
    result = run(cli, "edit", "cat.png", "-p", "give the cat a red scarf", "--mask", "mask.png",
                 "-m", "zai-org/GLM-Image", "-o", "out")
    assert result.exit_code == 0, result.stderr
    [call] = server.seen(EDITS)
    assert call.headers["content-type"].startswith("multipart/form-data")
    files = {part.name: part for part in call.body if part.filename}
    assert files["image"].data == source.read_bytes() and files["image"].filename == "cat.png"
    assert files["mask"].data == mask.read_bytes()
    assert fields_of(call.body) == {"model": "zai-org/GLM-Image", "prompt": "give the cat a red scarf", "n": "1",
                                    "response_format": "b64_json"}
    [image] = saved("out")
    assert image.read_bytes().startswith(b"\x89PNG")
    recipe = recipe_in_file(image)
    assert recipe["prompt"] == "give the cat a red scarf"
    [entry] = recipe["source_images"]
    assert entry["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert entry["path"] == str(source.resolve())
    assert recipe["mask"]["sha256"] == hashlib.sha256(mask.read_bytes()).hexdigest()
    assert server.count(GENERATIONS) == 0


def test_edit_with_two_reference_images_sends_image_array(cli, server) -> None:
    Path("a.png").write_bytes(make_png(8, 8, (1, 2, 3)))
    Path("b.png").write_bytes(make_png(8, 8, (4, 5, 6)))
    result = run(cli, "edit", "a.png", "b.png", "-p", "merge them", "-n", "2")
    assert result.exit_code == 0, result.stderr
    assert server.count(EDITS) == 2
    names = [part.name for part in server.seen(EDITS)[0].body if part.filename]
    assert names == ["image[]", "image[]"]
    assert len(saved()) == 2


def test_edit_refuses_a_file_that_is_not_an_image(cli, server) -> None:
    Path("notes.txt").write_text("hello")
    result = run(cli, "edit", "notes.txt", "-p", "x")
    assert result.exit_code == 2 and "notes.txt" in result.stderr
    assert server.requests == []


def test_edit_on_bigmodel_is_refused_before_anything_is_sent(cli, fake) -> None:
    Path("cat.png").write_bytes(make_png())
    result = cli("edit", "cat.png", "-p", "a scarf", "--json")
    assert result.exit_code == 2
    assert "no image editing endpoint" in result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "EDIT_UNSUPPORTED"
    assert fake.requests == []


# -- serve passes edits through -----------------------------------------------------------------------------

@pytest.fixture
def serve_openai(server: FakeOpenAI) -> Iterator:
    """Start an in-process serve whose upstream is the fake OpenAI server (backend openai, or as given)."""
    from glm_image_cli.backends.registry import backend_named
    from glm_image_cli.serve.server import GlmImageHTTPServer
    from glm_image_cli.serve.service import ImageService, ServeOptions
    from tests.conftest import AccessLog, serve_studio

    started = []

    def start(backend: str = "openai", **overrides):
        options = ServeOptions(port=0, **{"quiet": True, "rate_per_minute": 0, **overrides})
        client = backend_named(backend).make_client(KEY, server.base_url, timeout=30)
        studio = serve_studio(client, model="zai-org/GLM-Image", backend=backend)
        start.log = AccessLog()  # written once a request is done with, its temporary files removed
        http = GlmImageHTTPServer(options, ImageService(studio, options), start.log.append)
        threading.Thread(target=http.serve_forever, args=(0.05,), daemon=True).start()
        started.append((http, client))
        host, port = http.server_address[:2]
        return f"http://{host}:{port}"

    yield start
    for http, client in started:
        http.shutdown()
        http.server_close()
        client.close()


def test_serve_passes_an_edit_through_for_the_openai_sdk(serve_openai, server, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    openai = pytest.importorskip("openai")
    uploads = tmp_path / "tmp"  # this test's own temporary folder: other processes' uploads are not ours to count
    uploads.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(uploads))
    url = serve_openai(quiet=False)  # with its access log: written when the request is over
    source = Path("cat.png")
    source.write_bytes(make_png(8, 8, (200, 10, 10)))
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    with source.open("rb") as image:
        result = client.images.edit(image=image, prompt="give the cat a red scarf", response_format="b64_json")
    [item] = result.data
    assert base64.b64decode(item.b64_json).startswith(b"\x89PNG")
    [call] = server.seen(EDITS)
    files = {part.name: part for part in call.body if part.filename}
    assert list(files) == ["image"] and files["image"].data == source.read_bytes()
    assert fields_of(call.body) == {"model": "zai-org/GLM-Image", "prompt": "give the cat a red scarf", "n": "1",
                                    "response_format": "b64_json"}
    assert server.count(GENERATIONS) == 0
    serve_openai.log.wait_for(1)  # the request is over (the answer can reach us a moment before)
    assert not list(uploads.glob("glm-image-edit-*"))  # the uploads were removed


def test_serve_edit_with_two_images_a_mask_and_n(serve_openai, server) -> None:
    url = serve_openai()
    a, b, mask = make_png(8, 8, (1, 2, 3)), make_png(8, 8, (4, 5, 6)), make_png(8, 8, (0, 0, 0))
    response = httpx.post(f"{url}/v1/images/edits", timeout=30,
                          files=[("image[]", ("a.png", a, "image/png")), ("image[]", ("b.png", b, "image/png")),
                                 ("mask", ("m.png", mask, "image/png"))],
                          data={"prompt": "merge them", "n": "2", "size": "1024x1024", "response_format": "url"})
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 2
    assert all(item["url"] for item in response.json()["data"])
    assert server.count(EDITS) == 2
    first = server.seen(EDITS)[0].body
    assert [part.data for part in first if part.name == "image[]"] == [a, b]
    assert [part.data for part in first if part.name == "mask"] == [mask]
    assert fields_of(first)["size"] == "1024x1024"  # passed through on the openai backend


def test_serve_edit_errors(serve_openai, server) -> None:
    url = serve_openai(max_body=1024, max_edit_body=4096)
    png = make_png(8, 8, (1, 2, 3))
    no_image = httpx.post(f"{url}/v1/images/edits", data={"prompt": "x"}, files={"other": ("o.txt", b"x")})
    assert no_image.status_code == 400 and no_image.json()["error"]["code"] == "MISSING_FIELD"
    not_png = httpx.post(f"{url}/v1/images/edits", data={"prompt": "x"}, files={"image": ("a.txt", b"hello")})
    assert not_png.status_code == 400 and "PNG" in not_png.json()["error"]["message"]
    as_json = httpx.post(f"{url}/v1/images/edits", json={"prompt": "x"})
    assert as_json.status_code == 400 and as_json.json()["error"]["code"] == "INVALID_BODY"
    too_large = httpx.post(f"{url}/v1/images/edits", data={"prompt": "x"},
                           files={"image": ("a.png", png + b"\0" * 5000, "image/png")})
    assert too_large.status_code == 413
    assert server.requests == []


def test_serve_edit_caps_parts_and_images_while_parsing(serve_openai, server) -> None:
    """150,000 tiny image[] parts once held a thread 97 s and sent one edit with them all: now 413 at once."""
    import time

    from glm_image_cli.serve.routes import MAX_EDIT_IMAGES, MAX_PARTS

    url = serve_openai()
    png = make_png(8, 8, (1, 2, 3))
    started = time.monotonic()
    many = httpx.post(f"{url}/v1/images/edits", data={"prompt": "x"}, timeout=30,
                      files=[("image[]", (f"{n}.png", b"x", "image/png")) for n in range(20_000)])
    assert many.status_code == 413 and str(MAX_PARTS) in many.json()["error"]["message"]
    assert time.monotonic() - started < 10
    too_many = httpx.post(f"{url}/v1/images/edits", data={"prompt": "x"}, timeout=30,
                          files=[("image[]", (f"{n}.png", png, "image/png")) for n in range(MAX_EDIT_IMAGES + 1)])
    assert too_many.status_code == 413 and str(MAX_EDIT_IMAGES) in too_many.json()["error"]["message"]
    assert server.requests == []
    enough = httpx.post(f"{url}/v1/images/edits", data={"prompt": "x"}, timeout=30,
                        files=[("image[]", (f"{n}.png", png, "image/png")) for n in range(MAX_EDIT_IMAGES)])
    assert enough.status_code == 200, enough.text
    assert [len([p for p in call.body if p.name == "image[]"]) for call in server.seen(EDITS)] == [MAX_EDIT_IMAGES]


GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00" \
      b"\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


def test_edits_refuse_a_gif_as_the_readme_says(serve_openai, server, cli) -> None:
    url = serve_openai()
    response = httpx.post(f"{url}/v1/images/edits", data={"prompt": "x"}, files={"image": ("a.gif", GIF, "image/gif")})
    assert response.status_code == 400 and "PNG, JPEG or WebP" in response.json()["error"]["message"]
    Path("cat.gif").write_bytes(GIF)
    result = cli("edit", "cat.gif", "-p", "x", "--yes")
    assert result.exit_code == 2 and "PNG, JPEG or WebP" in result.stderr
    assert server.requests == []


def test_serve_edit_on_bigmodel_is_400_edit_unsupported(serve_openai, server) -> None:
    url = serve_openai(backend="bigmodel")
    response = httpx.post(f"{url}/v1/images/edits", data={"prompt": "x"},
                          files={"image": ("a.png", make_png(), "image/png")})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "EDIT_UNSUPPORTED"
    assert server.requests == []


# -- models -------------------------------------------------------------------------------------------------

def test_models_lists_what_the_server_offers(cli, server) -> None:
    result = run(cli, "models")
    assert result.exit_code == 0, result.stderr
    assert "zai-org/GLM-Image" in result.stdout and "cogview-4" not in result.stdout
    as_json = run(cli, "models", "--json")
    assert json.loads(as_json.stdout) == [{"model": "zai-org/GLM-Image", "owned_by": None}]
    assert server.count(MODELS) == 2
    assert server.seen(MODELS)[0].headers["authorization"] == f"Bearer {KEY}"


def test_models_without_a_list_is_a_one_line_note(cli, server) -> None:
    server.script(MODELS, Reply.error(404, "not found", "not_found"), Reply.error(404, "not found", "not_found"))
    result = run(cli, "models")
    assert result.exit_code == 0, result.stderr
    assert "does not list its models" in result.stderr
    assert result.stdout.strip() == ""
    assert json.loads(run(cli, "models", "--json").stdout) == []


# -- batch with resume --------------------------------------------------------------------------------------

def sent_prompts(server: FakeOpenAI) -> list[str]:
    return sorted(call.body["prompt"] for call in server.seen(GENERATIONS))


def test_batch_with_resume_never_requests_an_image_twice(cli, server) -> None:
    Path("p.txt").write_text("alpha\nbeta\ngamma\ndelta\n")
    server.script(GENERATIONS, Reply.error(400, "size not supported", code="invalid_size"))
    first = run(cli, "batch", "p.txt", "-o", "out", "-j", "1")
    assert first.exit_code == 5, first.stderr
    assert [json.loads(line)["prompt"] for line in Path("out/failed.jsonl").read_text().splitlines()] == ["alpha"]
    assert server.count(GENERATIONS) == 4
    again = run(cli, "batch", "p.txt", "-o", "out")
    assert again.exit_code == 0, again.stderr
    assert "3 image(s) already made are skipped" in again.stderr
    assert sent_prompts(server) == ["alpha", "alpha", "beta", "delta", "gamma"]  # only the refused one again
    assert run(cli, "batch", "p.txt", "-o", "out").exit_code == 0
    assert server.count(GENERATIONS) == 5
    assert len(list(Path("out").glob("*.png"))) == 4


def test_batch_stopped_by_max_images_resumes_where_it_stopped(cli, server) -> None:
    Path("p.txt").write_text("a\nb\nc\nd\n")
    assert run(cli, "batch", "p.txt", "-o", "out", "--max-images", "2").exit_code == 0
    assert server.count(GENERATIONS) == 2
    assert run(cli, "batch", "p.txt", "-o", "out").exit_code == 0
    assert sent_prompts(server) == ["a", "b", "c", "d"]


# -- messages name the image server, not BigModel ---------------------------------------------------------------

@pytest.mark.parametrize(("reply", "english", "chinese"), [
    (Reply.error(401, "Incorrect API key", code="invalid_api_key"), "The image server rejected the API key",
     "图片服务器 拒绝了 API 密钥"),
    (Reply.error(400, "unsafe", code="content_policy_violation"), "The image server refused this prompt",
     "图片服务器 出于内容安全原因拒绝了"),
    (Reply.error(400, "size not supported", code="invalid_size"), "The image server refused the request",
     "图片服务器 拒绝了请求"),
    (Reply(drop=True), "The connection to the image server broke", "与 图片服务器 的连接中断"),
])
def test_openai_backend_messages_name_the_image_server(cli, server, reply: Reply, english: str,
                                                       chinese: str) -> None:
    server.script(GENERATIONS, reply, reply)
    result = run(cli, "generate", "a lighthouse")
    assert english in result.stderr and "BigModel" not in result.stderr
    in_chinese = run(cli, "--lang", "zh", "generate", "a lighthouse")
    assert chinese in in_chinese.stderr and "BigModel" not in in_chinese.stderr


def test_rate_limit_and_server_error_messages_on_the_openai_backend(cli, server) -> None:
    server.script(GENERATIONS, *[Reply.error(429, "busy", "rate_limit_exceeded")] * 6)
    limited = run(cli, "generate", "a lighthouse")
    assert "The image server is still rate limiting after 6 attempts" in limited.stderr
    server.script(GENERATIONS, *[Reply.error(500, "boom", "server_error")] * 3)
    failed = run(cli, "generate", "a lighthouse")
    assert "The image server failed with a server error" in failed.stderr
    assert "BigModel" not in limited.stderr + failed.stderr


def test_again_on_an_edit_edits_the_same_sources_or_says_why_not(cli, server) -> None:
    from glm_image_cli.storage.history import History

    Path("cat.png").write_bytes(make_png(8, 8, (200, 10, 10)))
    Path("mask.png").write_bytes(make_png(8, 8, (0, 0, 0)))
    assert run(cli, "edit", "cat.png", "-p", "a red scarf", "--mask", "mask.png", "-o", "out").exit_code == 0
    [entry] = History().search()
    again = run(cli, "again", str(entry.id), "-o", "out")
    assert again.exit_code == 0, again.stderr
    first, second = server.seen(EDITS)
    assert {p.name: p.data for p in first.body if p.filename} == {p.name: p.data for p in second.body if p.filename}
    Path("cat.png").write_bytes(make_png(8, 8, (1, 1, 1)))  # the source changed since
    changed = run(cli, "again", str(entry.id), "-o", "out")
    assert changed.exit_code == 2 and "gone or has changed" in changed.stderr
    assert server.count(EDITS) == 2 and server.count(GENERATIONS) == 0


# -- one price for consent, the ledger and budgets -------------------------------------------------------------

def _estimate_and_ledger(cli, model: str) -> tuple[float, float, bool]:
    """(the estimate `batch --dry-run` shows — the one consent uses —, what the ledger recorded for one image
    of ``model`` made with --yes, whether `generate` without --yes stopped to ask)."""
    Path("p.txt").write_text("a lighthouse\n")
    plan = json.loads(run(cli, "batch", "p.txt", "-m", model, "--dry-run", "--json").stdout.splitlines()[0])
    asked = run(cli, "generate", "a lighthouse", "-m", model, "--json")
    made = run(cli, "generate", "a lighthouse", "-m", model, "--yes")
    assert made.exit_code == 0, made.stderr
    report = json.loads(run(cli, "usage", "--json").stdout)
    return plan["estimated_cost"], report["totals"]["estimated_cost"], asked.exit_code == 2


@pytest.mark.parametrize(("prices", "price"), [
    ("", 0.0),  # no [prices]: the server is the user's own, images are free
    ('[prices]\n"zai-org/glm-image" = 5\n', 0.0),  # [prices] that does not name the model: still free
    ('[prices]\n"cogview-4" = 0.5\n', 0.5),  # named: that price
])
def test_consent_and_ledger_agree_on_the_price_of_an_openai_image(cli, server, isolated: Path, prices: str,
                                                                   price: float) -> None:
    isolated.parent.mkdir(parents=True, exist_ok=True)
    isolated.write_text(f"confirm-above = 0.01\n{prices}")  # any price above 0 needs consent
    estimated, recorded, asked = _estimate_and_ledger(cli, "cogview-4")
    assert (estimated, recorded, asked) == (price, price, price > 0)
    assert server.count(GENERATIONS) == (1 if price else 2)  # a run that asked sent nothing


def test_a_budget_counts_the_openai_price_the_consent_showed(cli, server, isolated: Path) -> None:
    isolated.parent.mkdir(parents=True, exist_ok=True)
    isolated.write_text('budget-daily = 0.01\n[prices]\n"zai-org/glm-image" = 5\n')
    assert run(cli, "generate", "a lighthouse", "-m", "cogview-4", "-n", "2").exit_code == 0  # free: no budget hit
    refused = run(cli, "generate", "a lighthouse", "-m", "zai-org/GLM-Image")
    assert refused.exit_code != 0 and server.count(GENERATIONS) == 2


# -- the Backend objects --------------------------------------------------------------------------------------

def test_each_backend_is_found_by_its_name_and_another_name_is_the_settings_error(cli) -> None:
    from glm_image_cli.backends.registry import BACKEND_NAMES, backend_named
    from glm_image_cli.errors import ConfigError

    assert [backend_named(name).name for name in BACKEND_NAMES] == ["bigmodel", "openai"]
    assert [backend_named(name).edits for name in BACKEND_NAMES] == [False, True]
    with pytest.raises(ConfigError) as caught:
        backend_named("dall-e")
    said = cli("config", "set", "backend", "dall-e")
    assert said.exit_code == 3 and said.stderr.strip().endswith(str(caught.value))
    assert str(caught.value) == "Invalid value for backend: must be one of bigmodel, openai."


def test_ping_on_the_openai_backend_checks_the_key_with_the_model_list(cli, server,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    report = json.loads(run(cli, "ping", "--json").stdout)
    accepted = {check["name"]: check for check in report["checks"]}["key_accepted"]
    assert accepted["ok"] is True and "HTTP 200" in accepted["detail"] and "no such task" not in accepted["detail"]
    assert [call.route for call in server.requests] == [MODELS]  # nothing that costs anything
    monkeypatch.setenv("GLM_API_KEY", "sk-wrong-0123456789.WRONGKEY")
    refused = run(cli, "ping", "--json")
    assert refused.exit_code == 4  # was "accepted": BigModel's reading of a 401 with an OpenAI error code
    checks = {check["name"]: check for check in json.loads(refused.stdout)["checks"]}
    assert checks["key_accepted"]["ok"] is False and "Incorrect API key" in checks["key_accepted"]["detail"]


@pytest.mark.parametrize(("backend", "edits"), [("bigmodel", False), ("openai", True)])
def test_serve_announces_the_edits_endpoint_only_where_the_backend_has_it(backend: str, edits: bool) -> None:
    import os
    import subprocess

    from tests.test_console_script import console_script

    env = {**os.environ, "GLM_IMAGE_BACKEND": backend, "GLM_API_KEY": KEY, "GLM_BASE_URL": "http://127.0.0.1:9/v1"}
    process = subprocess.Popen([*console_script(), "serve", "--port", "0", "--json", "--quiet"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    try:
        first_line = process.stdout.readline()
        process.terminate()
        process.communicate(timeout=30)
    finally:
        process.kill()
    endpoints = json.loads(first_line)["endpoints"]
    assert ("/v1/images/edits" in endpoints) is edits
    assert "/v1/images/generations" in endpoints and "/v1/models" in endpoints
