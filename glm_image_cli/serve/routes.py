"""The serve endpoints: GET /ping and POST /txt2img (the original skill's Flask API), POST /v1/images/generations,
POST /v1/images/edits (multipart; the ``openai`` backend only) and GET /v1/models (for OpenAI clients), POST
/compare; the token and rate checks in front of them, and their JSON answers."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.backends import models
from glm_image_cli.errors import UsageError
from glm_image_cli.messages import render
from glm_image_cli.serve.framing import FramedHandler
from glm_image_cli.serve.guards import bearer_matches, printable
from glm_image_cli.serve.service import SPOOL_PREFIX, ApiError, ImageJob, parse_openai, parse_txt2img
from glm_image_cli.serve.streamjson import Base64Of, StreamedJson

if TYPE_CHECKING:
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.runner import ImageOutcome

PING_BODY = {"status": "ok", "message": "GLM Image API 服务正常运行"}


class ApiHandler(FramedHandler):
    """The routes: each checks the token and the client's rate (not /ping), then answers in JSON."""

    ROUTES: Mapping[str, tuple[str, str]] = {
        "/ping": ("GET", "_ping"),
        "/txt2img": ("POST", "_txt2img"),
        "/v1/images/generations": ("POST", "_openai_generations"),
        "/v1/images/edits": ("POST", "_openai_edits"),
        "/v1/models": ("GET", "_models"),
        "/compare": ("POST", "_compare"),
    }

    def _route(self, method: str, path: str) -> None:
        route = self.ROUTES.get(path.rstrip("/") or "/")
        if route is None:
            self._discard_body()
            raise ApiError(404, "NOT_FOUND", render("api_not_found", path=_readable(path),
                                                    endpoints=", ".join(self.ROUTES)))
        allowed, handler_name = route
        if method != allowed and (method, allowed) != ("HEAD", "GET"):
            self._discard_body()
            raise ApiError(405, "METHOD_NOT_ALLOWED", render("api_method", path=path, method=allowed))
        if handler_name != "_ping":
            self._check_token()
            wait = self.server.limiter.take(self.client_address[0])
            if wait > 0:
                self._discard_body()
                raise ApiError(429, "RATE_LIMITED", render("api_rate_limited"),
                               retry_after=wait, retryable=True)
        getattr(self, handler_name)()

    def _check_token(self) -> None:
        expected = self.server.options.token
        if not expected:
            return
        client = self.client_address[0]
        locked = self.server.auth_failures.wait(client)
        if locked > 0:  # too many wrong tokens lately: no more guesses until they age out
            self._discard_body()
            raise ApiError(429, "TOO_MANY_AUTH_FAILURES", render("api_auth_locked"), retry_after=locked)
        if not bearer_matches(self.headers.get("Authorization", ""), expected):
            self.server.auth_failures.failed(client)
            self._discard_body()
            raise ApiError(401, "UNAUTHORIZED", render("api_unauthorized"))

    # -- endpoints ---------------------------------------------------------------------------------------
    def _ping(self) -> None:
        self._send_json(200, PING_BODY)

    def _models(self) -> None:
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "zhipu"}
                for name, spec in models.MODELS.items() if not spec.legacy]
        self._send_json(200, {"object": "list", "data": data})

    def _txt2img(self) -> None:
        job = parse_txt2img(self._read_json(), self.server.options.max_samples)
        with self._answer_spool() as spool:
            plan, images = self.server.service.run(job, spool)
            self._send_images(200, {
                "prompt": job.prompt,
                **({"enhanced_prompt": plan.enhanced_prompt, "prompt_sent": plan.prompt_sent} if plan.enhanced_prompt
                   else {}),
                "images": [{"base64": Base64Of(image.payload.path) if image.payload else None, "url": image.url,
                            **_verdict(image)}
                           for image in images],
                "count": len(images),
                "photo_id": images[0].request_id if images else None,
            })

    def _compare(self) -> None:
        """A compare (core/comparerun.py): the cells made into --save's folder, compare.json's content answered."""
        self._send_json(200, self.server.service.compare(self._read_json()))

    def _openai_generations(self) -> None:
        job = parse_openai(self._read_json(), self.server.options.max_samples)
        with self._answer_spool() as spool:
            plan, images = self.server.service.run(job, spool)
            self._send_openai_images(job, plan, images)

    def _openai_edits(self) -> None:
        """Multipart image(s) (``image`` or ``image[]``), optional mask, prompt, model, n, size, response_format:
        written to a temporary folder (removed after) for an edit plan, run like a generation."""
        if not self.server.service.studio.backend.edits:
            self._discard_body()
            raise UsageError("edit_unsupported")  # the hosted BigModel API has no edits: 400, nothing sent
        fields, uploads = parse_multipart(self.headers.get("Content-Type", ""), self._read_body(self._edit_limit()))
        sources = [data for name, data in uploads if name in ("image", "image[]")]
        masks = [data for name, data in uploads if name == "mask"]
        if not sources:
            raise ApiError(400, "MISSING_FIELD", render("api_field_required", field="image"))
        if fields.get("n") is not None:
            try:
                fields["n"] = int(fields["n"])
            except ValueError:
                raise ApiError(400, "INVALID_FIELD", render("api_field_integer", field="n")) from None
        job = parse_openai(fields, self.server.options.max_samples)
        with tempfile.TemporaryDirectory(prefix="glm-image-edit-") as folder:
            paths = [_write_upload(Path(folder), f"image-{index}", data) for index, data in enumerate(sources, 1)]
            mask = _write_upload(Path(folder), "mask", masks[0]) if masks else None
            job = replace(job, images=tuple(paths), mask=mask, enhance=False)
            plan, images = self.server.service.run(job, Path(folder))
            self._send_openai_images(job, plan, images)

    def _edit_limit(self) -> int:
        return max(self.server.options.max_body, self.server.options.max_edit_body)

    def _send_openai_images(self, job: ImageJob, plan: GenerationPlan, images: list[ImageOutcome]) -> None:
        data: list[dict[str, Any]] = []
        for image in images:
            held = image.payload
            if job.want_bytes and held is not None:
                data.append({"b64_json": Base64Of(held.path), "revised_prompt": image.unit.plan.prompt_sent,
                             **_verdict(image)})
            else:
                url: Any = image.url or (Base64Of(held.path, f"data:image/{held.format};base64,") if held else None)
                data.append({"url": url, "revised_prompt": image.unit.plan.prompt_sent, **_verdict(image)})
        self._send_images(200, {"created": int(time.time()), "data": data})

    def _send_images(self, status: int, payload: Any) -> None:
        """A JSON answer whose images are encoded from their files as it is written (streamjson.py)."""
        with StreamedJson(payload) as body:
            self._send_body(status, body.length, body.write)

    @contextmanager
    def _answer_spool(self) -> Iterator[Path]:
        """The request's private folder for the images its answer carries, removed with them once the answer is
        written (or the client went away)."""
        folder = self.server.options.spool_dir
        if folder is not None:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=SPOOL_PREFIX, dir=folder, ignore_cleanup_errors=True) as spool:
            yield Path(spool)


MAX_EDIT_IMAGES = 16  # source images in one edit, as OpenAI's edits endpoint allows
MAX_PARTS = 64  # parts of one multipart body: the images, a mask and a handful of fields


def parse_multipart(content_type: str, raw: bytes) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """A multipart/form-data body: (text fields, [(name, bytes) of the file parts]), with the standard library."""
    from email.parser import BytesParser
    from email.policy import HTTP

    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type.lower():
        raise ApiError(400, "INVALID_BODY", render("api_not_multipart"))
    _count_parts(content_type, raw)
    try:
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1") + raw)
        parts = list(message.iter_parts()) if message.is_multipart() else []
    except (UnicodeError, ValueError, TypeError, IndexError):
        raise ApiError(400, "INVALID_BODY", render("api_not_multipart")) from None
    if not parts:
        raise ApiError(400, "INVALID_BODY", render("api_not_multipart"))
    fields: dict[str, Any] = {}
    files: list[tuple[str, bytes]] = []
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True) or b""
        if part.get_filename() is not None or name in ("image", "image[]", "mask"):
            files.append((name, data))
        else:
            try:
                fields[name] = data.decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError(400, "INVALID_FIELD", render("api_field_string", field=printable(name)[:50])) from None
    if sum(name in ("image", "image[]") for name, _ in files) > MAX_EDIT_IMAGES:
        raise ApiError(413, "TOO_LARGE", render("api_too_many_images", limit=MAX_EDIT_IMAGES))
    return fields, files


def _count_parts(content_type: str, raw: bytes) -> None:
    """413 before parsing when the body has more than ``MAX_PARTS`` parts: 150,000 tiny ``image[]`` parts
    would hold a thread for minutes, write as many temporary files and send them all upstream."""
    from email.message import Message

    header = Message()
    header["Content-Type"] = content_type
    boundary = header.get_boundary()
    if boundary and raw.count(b"--" + boundary.encode("latin-1", "replace")) > MAX_PARTS + 1:  # + the closing one
        raise ApiError(413, "TOO_LARGE", render("api_too_many_parts", limit=MAX_PARTS))


def _write_upload(folder: Path, stem: str, data: bytes) -> str:
    """An uploaded image as a file for the edit plan; only PNG, JPEG or WebP (400 otherwise)."""
    from glm_image_cli.backends.imagebytes import EDIT_FORMATS, sniff_image_format

    sniffed = sniff_image_format(data[:64])
    if sniffed is None or sniffed[0] not in EDIT_FORMATS:
        raise ApiError(400, "INVALID_FIELD", render("edit_image_unreadable", path=stem,
                                                    detail="not a PNG, JPEG or WebP image"))
    path = folder / f"{stem}.{sniffed[1]}"
    path.write_bytes(data)
    return str(path)


def _verdict(image: ImageOutcome) -> dict[str, Any]:
    """"check": the vision verdict (only when asked for: "check" or "best_of")."""
    return {"check": image.check} if image.check is not None else {}


def _readable(path: str) -> str:
    """http.server decodes the request line as Latin-1: give UTF-8 paths (/猫) back their characters."""
    from urllib.parse import unquote

    try:
        return unquote(path.encode("latin-1").decode("utf-8"))
    except (UnicodeEncodeError, UnicodeDecodeError):
        return path
