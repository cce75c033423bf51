"""`glm-image mcp` background jobs and progress, driven by the official `mcp` client over stdio against the fake
upstream: submit_image answers while the upstream still works, fetch_image gets the images, a restarted server
collects a job's paid task instead of paying again, and generate_image sends progress notifications."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from tests.fake_bigmodel import ASYNC_ROUTE, POLL_ROUTE, SYNC_ROUTE, Reply
from tests.test_console_script import console_script

mcp = pytest.importorskip("mcp", reason="the mcp extra is not installed (pip install '.[test]' installs it)")
anyio = pytest.importorskip("anyio")

HELD = Reply(body={"task_status": "PROCESSING"}, delay=3600)  # a poll the fake answers only once released


def server_env(fake, tmp_path: Path) -> dict[str, str]:
    from tests.fake_bigmodel import DEFAULT_KEY

    return {"GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "GLM_IMAGE_CONFIG": str(tmp_path / "c.toml"),
            "GLM_IMAGE_DATA_DIR": str(tmp_path / "data"), "NO_PROXY": "127.0.0.1", "LANG": "en_US.UTF-8",
            "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}


class Session:
    """One `glm-image mcp` child and its client session; ``call`` returns (is_error, texts, the whole result)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    async def __aenter__(self) -> Session:
        from contextlib import AsyncExitStack

        from mcp import ClientSession, StdioServerParameters, stdio_client

        self._stack = AsyncExitStack()
        params = StdioServerParameters(command=console_script()[0], args=["mcp"], env=self.env)
        errlog = self._stack.enter_context(open(os.devnull, "w"))  # noqa: SIM115 - closed by the stack
        read, write = await self._stack.enter_async_context(stdio_client(params, errlog=errlog))
        self.session = await self._stack.enter_async_context(ClientSession(read, write))
        await self.session.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def call(self, name: str, arguments: dict, **options) -> tuple[bool, list[str], object]:
        result = await self.session.call_tool(name, arguments, **options)
        return result.is_error, [item.text for item in result.content if item.type == "text"], result


def test_submit_answers_while_the_upstream_works_and_fetch_gets_the_images(fake, tmp_path: Path) -> None:
    out = tmp_path / "made"
    fake.script(POLL_ROUTE, HELD)
    (tmp_path / "c.toml").write_text("confirm-above = 0.25\n")

    async def scenario() -> None:
        async with Session(server_env(fake, tmp_path)) as mcp_session:
            # refused as generate_image refuses, before anything is sent
            failed, [text], _ = await mcp_session.call("submit_image", {"prompt": "x", "n": 3, "model": "glm-image"})
            assert failed and "allow_spend=true" in text
            failed, [text], _ = await mcp_session.call("submit_image", {"prompt": "x", "size": "10x10"})
            assert failed and "INVALID_SIZE" in text
            failed, [text], _ = await mcp_session.call("fetch_image", {"job_id": "nope"})
            assert failed and "MCP_UNKNOWN_JOB" in text
            assert fake.count(SYNC_ROUTE) == fake.count(ASYNC_ROUTE) == 0
            failed, [text], _ = await mcp_session.call("submit_image", {"prompt": "一只橘猫", "model": "glm-image",
                                                                        "output_dir": str(out)})
            assert not failed
            submitted = json.loads(text)
            assert submitted["status"] == "running" and submitted["images"] == 1
            assert submitted["estimated_cost"] == 0.1 and submitted["currency"] == "CNY"
            assert await anyio.to_thread.run_sync(fake.wait_for, POLL_ROUTE, 1)  # held: the image is not made
            job = submitted["job_id"]
            _, [status], _ = await mcp_session.call("job_status", {"job_id": job})
            assert json.loads(status)["status"] == "running"
            assert json.loads(status)["stages"] == {"processing": 1}
            assert json.loads(status)["estimated_cost"] == 0.1
            failed, [early], _ = await mcp_session.call("fetch_image", {"job_id": job, "wait_seconds": 0})
            assert not failed  # not ready is an answer, not a failure
            assert json.loads(early)["status"] == "running" and "call fetch_image" in json.loads(early)["note"]
            fake.released.set()
            seen: list[tuple[float, float | None]] = []

            async def progress(value: float, total: float | None, message: str | None) -> None:
                seen.append((value, total))

            failed, [summary], result = await mcp_session.call("fetch_image", {"job_id": job, "wait_seconds": 60},
                                                               progress_callback=progress)
            assert not failed
            assert seen and seen[-1] == (1.0, 1.0)  # the wait ends with the job's progress at its end
            [image] = json.loads(summary)["images"]
            assert Path(image["path"]).parent == out and Path(image["path"]).exists()
            preview = [item for item in result.content if item.type == "image"]
            assert preview and base64.b64decode(preview[0].data).startswith(b"\x89PNG")
            _, [final], _ = await mcp_session.call("job_status", {"job_id": job})
            assert json.loads(final)["status"] == "done" and json.loads(final)["saved"] == 1

    anyio.run(scenario)
    assert fake.count(ASYNC_ROUTE) == 1
    assert not (tmp_path / "data" / "pending-jobs.json").exists()


def test_a_restarted_server_collects_the_jobs_paid_task_without_paying_again(fake, tmp_path: Path) -> None:
    out = tmp_path / "made"
    fake.script(POLL_ROUTE, HELD)
    env = server_env(fake, tmp_path)

    async def first_server() -> str:
        async with Session(env) as mcp_session:
            _, [text], _ = await mcp_session.call("submit_image", {"prompt": "一条狗", "model": "glm-image",
                                                                   "output_dir": str(out)})
            assert await anyio.to_thread.run_sync(fake.wait_for, POLL_ROUTE, 1)
            return json.loads(text)["job_id"]  # the server goes away with its task still being polled

    job = anyio.run(first_server)
    fake.released.set()
    records = json.loads((tmp_path / "data" / "pending-jobs.json").read_text())["jobs"]
    assert [record["job"] for record in records.values()] == [job]

    async def second_server() -> None:
        async with Session(env) as mcp_session:
            _, [status], _ = await mcp_session.call("job_status", {"job_id": job})
            assert json.loads(status)["status"] == "recorded" and json.loads(status)["tasks"] == 1
            failed, [summary], _ = await mcp_session.call("fetch_image", {"job_id": job})
            assert not failed
            [image] = json.loads(summary)["images"]
            assert Path(image["path"]).parent == out
            unknown, [text], _ = await mcp_session.call("job_status", {"job_id": job})
            assert unknown and "MCP_UNKNOWN_JOB" in text  # collected: nothing left under that id

    anyio.run(second_server)
    assert fake.count(ASYNC_ROUTE) == 1  # one paid task across both servers
    assert len(list(out.glob("*.png"))) == 1
    assert not (tmp_path / "data" / "pending-jobs.json").exists()


def test_generate_image_sends_progress_that_only_grows(fake, tmp_path: Path) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append((value, total, message))

    async def scenario() -> None:
        async with Session(server_env(fake, tmp_path)) as mcp_session:
            failed, _, _ = await mcp_session.call("generate_image", {"prompt": "a cat", "model": "glm-image", "n": 2,
                                                                     "output_dir": str(tmp_path / "out")},
                                                  progress_callback=progress)
            assert not failed

    anyio.run(scenario)
    values = [value for value, _, _ in seen]
    assert len(values) >= 4 and values == sorted(set(values))  # strictly growing
    assert {total for _, total, _ in seen} == {2.0}
    assert values[-1] == 2.0 and seen[-1][2] == "2 of 2 image(s) done, 0 in progress"
    assert any("the upstream is still making" in (message or "") for _, _, message in seen)
