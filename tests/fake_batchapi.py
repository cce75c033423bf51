"""A fake of the BigModel Batch API, mounted on a running FakeBigModel (its ``extensions``).

Routes, in the real wire format (shared/reference/bigmodel-api.md, "Batch API"): ``POST /files`` (multipart,
purpose=batch), ``GET /files``, ``GET /files/{id}/content``, ``POST /batches``, ``GET /batches``,
``GET /batches/{id}``, ``POST /batches/{id}/cancel``.  Each look at a batch moves it one step along
validating → in_progress → finalizing → completed (unless ``paused``); its results are written when it completes,
in reverse order (the platform does not keep the input's order).  Knobs: ``fail_when`` (a line's failure),
``expire`` (the batch expires after ``expire_done`` lines), ``refuse_images`` (the endpoint is refused), and
``hold_answer`` ("upload" or "create": the call is carried out, then its answer never comes, as when the
client is killed before reading it).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
from collections.abc import Callable
from typing import Any

from tests.fake_bigmodel import API_PREFIX, FakeBigModel, Reply

STEPS = ("validating", "in_progress", "finalizing", "completed")
BATCHES_ROUTE = "POST /batches"
UPLOAD_ROUTE = "POST /files"


class FakeBatches:
    def __init__(self, fake: FakeBigModel) -> None:
        self.fake = fake
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.paused = False  # batches stay where they are until this is False again
        self.refuse_images = False
        self.expire = False
        self.expire_done = 1  # lines made before an expiry or a cancel
        self.fail_when: Callable[[dict[str, Any]], tuple[int, str, str] | None] = lambda body: None
        self.hold_answer: set[str] = set()  # "upload", "create": done, then the answer is held until shutdown
        self.drop_answer: set[str] = set()  # "upload", "create": done, then the connection closes unanswered
        self.list_fails = False  # GET /batches and GET /files answer 500
        self._lock = threading.Lock()
        self._numbers = iter(range(1, 1_000_000))
        fake.extensions.append(self._route)

    # -- inspection ---------------------------------------------------------------------------------------
    @property
    def created(self) -> int:
        return len(self.batches)

    def lines_of(self, batch_id: str) -> list[dict[str, Any]]:
        file_id = self.batches[batch_id]["input_file_id"]
        return [json.loads(line) for line in self.files[file_id]["content"].splitlines() if line.strip()]

    # -- routing --------------------------------------------------------------------------------------------
    def _route(self, method: str, path: str, headers: dict[str, str], body: Any) -> Reply | None:
        if not path.startswith(API_PREFIX):
            return None
        path, _, query = path[len(API_PREFIX):].partition("?")
        if not path.startswith(("/files", "/batches")):
            return None
        if headers.get("authorization") != f"Bearer {self.fake.api_key}":
            return Reply.error(401, "1001", "Authorization Token非法")
        parts = path.strip("/").split("/")
        with self._lock:
            if parts == ["files"]:
                return self._upload(headers, body) if method == "POST" else self._list(self.files, query)
            if len(parts) == 3 and parts[0] == "files" and parts[2] == "content" and method == "GET":
                return self._content(parts[1])
            if parts == ["batches"]:
                return self._create(body) if method == "POST" else self._list(self.batches, query)
            if len(parts) == 2 and parts[0] == "batches" and method == "GET":
                return self._look(parts[1])
            if len(parts) == 3 and parts[0] == "batches" and parts[2] == "cancel" and method == "POST":
                return self._cancel(parts[1])
        return Reply.error(404, "1222", "not found")

    def _held(self, step: str, reply: Reply) -> Reply:
        if step in self.hold_answer:
            reply.delay = 3600  # released only when the fake shuts down: the client never reads it
        if step in self.drop_answer:
            reply.drop = True  # done, and the connection closes without an answer
        return reply

    # -- files ----------------------------------------------------------------------------------------------
    def _upload(self, headers: dict[str, str], body: Any) -> Reply:
        raw = body if isinstance(body, bytes) else b""
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + headers.get("content-type", "").encode() + b"\r\n\r\n" + raw)
        fields = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        upload, purpose = fields.get("file"), fields.get("purpose")
        if upload is None or purpose is None or purpose.get_content().strip() != "batch":
            return Reply.error(400, "1214", "file and purpose=batch are required")
        file_id = f"file-{next(self._numbers)}"
        content = upload.get_payload(decode=True)
        self.files[file_id] = {"id": file_id, "object": "file", "purpose": "batch", "bytes": len(content),
                               "filename": upload.get_filename(), "content": content.decode("utf-8")}
        return self._held("upload", Reply(body=self._public(self.files[file_id])))

    def _content(self, file_id: str) -> Reply:
        if file_id not in self.files:
            return Reply.error(404, "1222", "file not found")
        return Reply(body=self.files[file_id]["content"].encode(), headers={"Content-Type": "application/jsonl"})

    @staticmethod
    def _public(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if not k.startswith("_") and k != "content"}

    def _list(self, table: dict[str, dict[str, Any]], query: str) -> Reply:
        if self.list_fails:
            return Reply.error(500, "500", "internal error")
        items = [self._public(item) for item in reversed(table.values())]
        return Reply(body={"object": "list", "data": items, "has_more": False})

    # -- batches --------------------------------------------------------------------------------------------
    def _create(self, body: Any) -> Reply:
        if not isinstance(body, dict) or body.get("input_file_id") not in self.files:
            return Reply.error(400, "1214", "input_file_id 无效")
        if self.refuse_images and body.get("endpoint") != "/v4/chat/completions":
            return Reply.error(400, "1214", "endpoint 仅支持 /v4/chat/completions")
        batch_id = f"batch-{next(self._numbers)}"
        lines = len(self.files[body["input_file_id"]]["content"].splitlines())
        self.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": body.get("endpoint"), "status": "validating",
            "input_file_id": body["input_file_id"], "output_file_id": None, "error_file_id": None,
            "metadata": body.get("metadata") or {}, "created_at": 1760000000,
            "request_counts": {"total": lines, "completed": 0, "failed": 0},
        }
        return self._held("create", Reply(body=dict(self.batches[batch_id])))

    def _look(self, batch_id: str) -> Reply:
        batch = self.batches.get(batch_id)
        if batch is None:
            return Reply.error(404, "1222", "batch not found")
        if batch["status"] == "cancelling":
            self._finish(batch, "cancelled")
        elif batch["status"] in STEPS[:-1] and not self.paused:
            following = STEPS[STEPS.index(batch["status"]) + 1]
            if following == "finalizing" and self.expire:
                self._finish(batch, "expired")
            elif following == "completed":
                self._finish(batch, "completed")
            else:
                batch["status"] = following
        return Reply(body=dict(batch))

    def _cancel(self, batch_id: str) -> Reply:
        batch = self.batches.get(batch_id)
        if batch is None:
            return Reply.error(404, "1222", "batch not found")
        if batch["status"] not in ("completed", "failed", "expired", "cancelled"):
            batch["status"] = "cancelling"
        return Reply(body=dict(batch))

    def _finish(self, batch: dict[str, Any], status: str) -> None:
        """The results (reversed: order is not kept) and the final counts; an expiry or a cancel stops after
        ``expire_done`` lines."""
        lines = self.lines_of(batch["id"])
        if status != "completed":
            lines = lines[: self.expire_done]
        output, errors = [], []
        for line in reversed(lines):
            failure = self.fail_when(line["body"])
            if failure is not None:
                status_code, code, message = failure
                errors.append({"custom_id": line["custom_id"], "response": {
                    "status_code": status_code, "body": {"error": {"code": code, "message": message}}}})
                continue
            number = next(self.fake._ids)
            answer = {"created": 1760000000 + number, "data": [self.fake._image_item(number)],
                      "content_filter": [{"role": "assistant", "level": 3}], "request_id": f"req-{number}"}
            output.append({"custom_id": line["custom_id"], "response": {"status_code": 200, "body": answer}})
        batch["output_file_id"] = self._result_file(output)
        batch["error_file_id"] = self._result_file(errors)
        batch["request_counts"] = {"total": batch["request_counts"]["total"], "completed": len(output),
                                   "failed": len(errors)}
        batch["status"] = status

    def _result_file(self, records: list[dict[str, Any]]) -> str | None:
        if not records:
            return None
        file_id = f"file-{next(self._numbers)}"
        content = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
        self.files[file_id] = {"id": file_id, "object": "file", "purpose": "batch_output", "bytes": len(content),
                               "filename": f"{file_id}.jsonl", "content": content}
        return file_id
