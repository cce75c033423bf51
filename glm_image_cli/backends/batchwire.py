"""The BigModel Batch API on the wire: /files and /batches (shared/reference/bigmodel-api.md, "Batch API").

Only the calls; what they mean for money (the create is the paid call, journaled first and never repeated
blindly) is core/batchapi.py's business.  Every GET is free and retried when transient (HttpTransport's
rules); the POSTs are sent once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from glm_image_cli import safejson
from glm_image_cli.errors import OutputError, UpstreamFailure, UsageError

_ID = __import__("re").compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}")


def checked_id(value: Any) -> str:
    """A batch or file id as it goes into a URL path: an id the platform could have given (letters, digits,
    ``_ . : -``), never ``..``, ``/``, ``?`` or ``#`` from a planted journal line."""
    if not isinstance(value, str) or not _ID.fullmatch(value) or ".." in value:
        raise OutputError("batchapi_bad_id", value=str(value)[:80])
    return value

if TYPE_CHECKING:
    from glm_image_cli.backends.base import ImageClient
    from glm_image_cli.backends.transport import HttpTransport

IMAGES_ENDPOINT = "/v4/images/generations"
MAX_LINES = 50_000  # per input file (the platform's terms)
MAX_BYTES = 100 * 1024 * 1024
LISTED_PER_PAGE = 100
MAX_PAGES = 20  # a listing looks back this far for a batch or file of ours (2,000 of the newest)
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


def _no_progress(event: str, info: Mapping[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class BatchInfo:
    """The parts of a batch object glm-image reads."""

    id: str
    status: str
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    errors: str | None = None  # why a batch failed validation, when the platform says

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> BatchInfo:
        batch_id = payload.get("id")
        if not isinstance(batch_id, str) or not batch_id:
            raise UpstreamFailure("bad_response", detail="no batch id")
        counts = payload.get("request_counts") if isinstance(payload.get("request_counts"), dict) else {}
        metadata = payload.get("metadata") if isinstance(payload.get("metadata"), dict) else {}
        return cls(id=batch_id, status=str(payload.get("status") or "validating"),
                   input_file_id=_text(payload.get("input_file_id")),
                   output_file_id=_text(payload.get("output_file_id")),
                   error_file_id=_text(payload.get("error_file_id")),
                   total=_count(counts.get("total")), completed=_count(counts.get("completed")),
                   failed=_count(counts.get("failed")), metadata=dict(metadata), errors=_errors_text(payload))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _errors_text(payload: Mapping[str, Any]) -> str | None:
    errors = payload.get("errors")
    if isinstance(errors, dict):
        errors = errors.get("data")
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict):
            return str(first.get("message") or first.get("code") or "")[:300] or None
        return str(first)[:300]
    return None


class BatchWire:
    """The /files and /batches calls of one client (its key, base URL, retry rules and -v trace)."""

    def __init__(self, transport: HttpTransport) -> None:
        self._transport = transport

    def upload(self, filename: str, content: bytes) -> str:
        """``POST /files`` (multipart, purpose=batch): the file id.  Free: nothing is made from a file alone."""
        payload = self._transport.send("POST", "/files", _no_progress, data={"purpose": "batch"},
                                       files={"file": (filename, content, "application/jsonl")})
        file_id = payload.get("id")
        if not isinstance(file_id, str) or not file_id:
            raise UpstreamFailure("bad_response", detail="no file id")
        return file_id

    def create(self, input_file_id: str, metadata: Mapping[str, str]) -> BatchInfo:
        """``POST /batches``: the paid call.  Sent once; a lost answer is resolved by listing, never by resending."""
        body = {"input_file_id": input_file_id, "endpoint": IMAGES_ENDPOINT, "auto_delete_input_file": True,
                "completion_window": "24h", "metadata": dict(metadata)}
        return BatchInfo.of(self._transport.send("POST", "/batches", _no_progress, json=body))

    def get(self, batch_id: str) -> BatchInfo:
        return BatchInfo.of(self._transport.send("GET", f"/batches/{checked_id(batch_id)}", _no_progress))

    def cancel(self, batch_id: str) -> BatchInfo:
        return BatchInfo.of(self._transport.send("POST", f"/batches/{checked_id(batch_id)}/cancel", _no_progress))

    def batches(self) -> Iterator[BatchInfo]:
        """The account's batches, newest first, page by page (``after``), as far as MAX_PAGES."""
        yield from (BatchInfo.of(item) for item in self._listing("/batches"))

    def files(self) -> Iterator[dict[str, Any]]:
        """The account's uploaded files (id, filename, purpose), newest first."""
        yield from self._listing("/files", purpose="batch")

    def content(self, file_id: str) -> bytes:
        """``GET /files/{id}/content``: a result file's JSON lines (free; retried when transient)."""
        transport = self._transport
        attempt = 0
        while True:
            response = transport.get_once(f"/files/{checked_id(file_id)}/content",
                                          timeout=max(60.0, transport.timeout))
            if response.is_success:
                return response.content
            failure = transport.rules.failure_from(response, None)
            attempt += 1
            if attempt >= transport.retry.server_error_attempts or \
                    transport.rules.retry_kind(response, failure, True, False) is None:
                raise failure
            transport.sleep(transport.retry.backoff(attempt))

    def result_of(self, record: Mapping[str, Any], model: str | None) -> Any:
        """A result line's image (GeneratedImage) or its failure (an UpstreamFailure, as the same answer to a direct
        call would be: the same codes and exit codes)."""
        import httpx

        from glm_image_cli.backends.transport import generated_from

        response = record.get("response") if isinstance(record.get("response"), dict) else {}
        status = response.get("status_code")
        body = response.get("body")
        if isinstance(body, str):  # some platforms send the body as JSON text
            try:
                body = safejson.loads(body)
            except ValueError:
                body = None
        if status == 200 and isinstance(body, dict) and not body.get("error"):
            try:
                return generated_from(body, body.get("data"), None)
            except UpstreamFailure as failure:
                return failure
        error = record.get("error") or (body.get("error") if isinstance(body, dict) else None)
        request_id = (body.get("request_id") if isinstance(body, dict) else None) or response.get("request_id")
        answer = httpx.Response(status if isinstance(status, int) and status >= 400 else 400,
                                json={"error": error if error is not None else {"message": "no result"},
                                      "request_id": request_id})
        return self._transport.rules.failure_from(answer, model)

    def _listing(self, path: str, **params: str) -> Iterator[dict[str, Any]]:
        after: str | None = None
        for _ in range(MAX_PAGES):
            query = {"limit": str(LISTED_PER_PAGE), **params, **({"after": after} if after else {})}
            payload = self._transport.send("GET", path, _no_progress, params=query)
            items = [item for item in payload.get("data") or [] if isinstance(item, dict)]
            yield from items
            if not payload.get("has_more") or not items or not isinstance(items[-1].get("id"), str):
                return
            after = items[-1]["id"]


def batch_wire(client: ImageClient) -> BatchWire:
    """The Batch API of a BigModel client; other backends have none (an OpenAI-compatible server's batches are
    another API)."""
    transport = getattr(client, "_transport", None)
    from glm_image_cli.backends.bigmodel import BigModelErrors

    if transport is None or not isinstance(transport.rules, BigModelErrors):
        raise UsageError("batchapi_backend")
    return BatchWire(transport)


def result_lines(data: bytes) -> Iterator[dict[str, Any]]:
    """The records of a result file; a line that is not a JSON object is skipped (counted by the caller as
    missing: its image stays unsaved, never bought again)."""
    yield from (record for record in safejson.lines(data) if record is not None)

