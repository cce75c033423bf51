"""The MCP server's background jobs: ``submit_image`` answers at once with a job id (consent, budget and any
--enhance rewrite settled first, so its errors come back then), ``job_status`` says where each image is, and
``fetch_image`` waits (bounded) for the images and answers them as ``generate_image`` does.

The installed `mcp` SDK has no MCP tasks, so these are plain tools.  The jobs are the core's (core/jobs.py): their
paid asynchronous tasks are recorded in the pending-jobs file under the job id, so after a server restart
``job_status`` and ``fetch_image`` still find them and collect them without paying again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from glm_image_cli.errors import GlmImageError, UsageError
from glm_image_cli.messages import render, using_language

if TYPE_CHECKING:
    from glm_image_cli.core.jobs import BackgroundJob, JobBoard

MAX_WAIT = 600  # seconds one fetch_image call may wait; MCP clients time out around there


def register_job_tools(server: Any, lang: str, board: JobBoard) -> None:
    """submit_image, job_status and fetch_image on ``server`` (an MCPServer), over ``board``."""
    import anyio.to_thread
    from mcp.server.mcpserver import Context
    from mcp.server.mcpserver.exceptions import ToolError

    def failing(error: GlmImageError) -> ToolError:
        with using_language(lang):
            return ToolError(f"{error} [{error.code}]")

    @server.tool(description="Start generating images and return a job_id at once (for long generations: the "
                             "glm-image model takes 10-30 s per image). Same arguments and spending rules as "
                             "generate_image. Then call fetch_image(job_id). 后台生成图片，立即返回 job_id。")
    async def submit_image(prompt: str, style: str | None = None, size: str | None = None, model: str | None = None,
                           n: int = 1, negative: str | None = None, output_dir: str | None = None,
                           allow_spend: bool = False, enhance: bool | None = None) -> str:
        try:
            return await anyio.to_thread.run_sync(
                lambda: _submit(lang, board, prompt, style, size, model, n, negative, output_dir, allow_spend,
                                enhance))
        except GlmImageError as error:
            raise failing(error) from None

    @server.tool(description="Where a job from submit_image is: images done, in progress, failed; the cost "
                             "estimate; whether it finished. 查询后台任务进度。")
    def job_status(job_id: str) -> str:
        try:
            return json.dumps(_status(lang, board, job_id), ensure_ascii=False)
        except GlmImageError as error:
            raise failing(error) from None

    async def fetch_image(job_id: str, wait_seconds: float = 0, ctx: Any = None) -> list[Any]:
        from glm_image_cli.mcpserver.progress import ProgressRelay

        background = board.get(job_id)
        relay = None
        if ctx is not None and background is not None and not background.done and wait_seconds > 0:
            relay = ProgressRelay(ctx, background.images, lang)  # the job's progress while the caller waits
            relay.seed(background.stages())
            stop = background.listen(relay.event)
        try:
            return await anyio.to_thread.run_sync(lambda: _fetch(lang, board, job_id, wait_seconds),
                                                  abandon_on_cancel=True)
        except GlmImageError as error:
            raise failing(error) from None
        finally:
            if relay is not None and background is not None:
                stop()
                await anyio.to_thread.run_sync(relay.finish, background.stages())

    fetch_image.__annotations__["ctx"] = Context  # the SDK hands the request's context to a parameter so typed
    server.tool(structured_output=False,
                description="The images of a job from submit_image, as generate_image returns them (paths, request "
                            "ids, a preview). Waits up to wait_seconds (max 600) for a running job, with progress "
                            "notifications; if it is still running then, says so: call again. Also collects the "
                            "paid tasks of a job whose server was restarted, without paying again. 取回后台任务的图片。"
                )(fetch_image)


def _submit(lang: str, board: JobBoard, prompt: str, style: str | None, size: str | None, model: str | None,
            n: int, negative: str | None, output_dir: str | None, allow_spend: bool, enhance: bool | None) -> str:
    from glm_image_cli.core.results import Notice
    from glm_image_cli.mcpserver.making import open_studio, prepare_job

    studio = open_studio(lang, model, size, style, output_dir, enhance)
    notices = [Notice("warning", warning) for warning in studio.warnings]
    try:
        job = prepare_job(studio, prompt, negative, n, allow_spend, notices)
    except BaseException:
        studio.close()
        raise
    background = board.start(job, finished=studio.close, notices=notices)
    return json.dumps({"job_id": background.id, "status": "running", "images": background.images,
                       "estimated_cost": background.cost, "currency": background.currency,
                       "output_dir": str(job.saver.folder) if job.saver else None}, ensure_ascii=False)


def _status(lang: str, board: JobBoard, job_id: str) -> dict[str, Any]:
    background = board.get(job_id)
    if background is None:
        recorded = board.recorded(job_id)
        if not recorded:
            raise UsageError("mcp_unknown_job", job_id=job_id)
        with using_language(lang):
            return {"job_id": job_id, "status": "recorded", "tasks": len(recorded),
                    "note": render("mcp_job_recorded", count=len(recorded))}
    status: dict[str, Any] = {"job_id": job_id, "status": _state(background), "images": background.images,
                              "stages": background.counts(), "elapsed_seconds": background.elapsed(),
                              "estimated_cost": background.cost, "currency": background.currency}
    if background.run is not None:
        status["saved"] = sum(1 for result in background.run if result.error is None)
        status["failed"] = len(background.run.failures)
    recorded = board.recorded(job_id) if background.done else {}
    if recorded:  # finished, but some paid tasks were not saved (a poll that timed out): fetch_image collects them
        status["tasks_to_collect"] = len(recorded)
    return status


def _state(background: BackgroundJob) -> str:
    if not background.done:
        return "running"
    return "failed" if background.error is not None or background.run is None else "done"


def _fetch(lang: str, board: JobBoard, job_id: str, wait_seconds: float) -> list[Any]:
    from mcp.server.mcpserver.exceptions import ToolError

    from glm_image_cli.mcpserver.making import open_studio, run_content

    background = board.get(job_id)
    if background is not None and not background.wait(max(0.0, min(float(wait_seconds), MAX_WAIT))):
        with using_language(lang):
            note = render("mcp_job_running", elapsed=background.elapsed(), limit=MAX_WAIT)
        return [json.dumps({**_status(lang, board, job_id), "note": note}, ensure_ascii=False)]
    if background is not None and background.error is not None:
        error = background.error
        if isinstance(error, GlmImageError):
            raise error
        with using_language(lang):
            raise ToolError(render("mcp_job_stopped", job_id=job_id, detail=type(error).__name__))
    outcomes = list(background.run.outcomes) if background is not None and background.run is not None else []
    notices = background.notices if background is not None else []
    if board.recorded(job_id):  # paid tasks left unsaved (this server restarted, or a poll timed out): collect
        with open_studio(lang, None, None, None, None, None) as studio:  # the records say how to save
            runs = board.collect(studio, job_id)
        if runs is None:
            raise UsageError("mcp_job_busy", job_id=job_id)
        collected = [outcome for run in runs for outcome in run.outcomes]
        again = {outcome.unit.sample for outcome in collected}
        outcomes = [o for o in outcomes if o.error is None or o.unit.sample not in again] + collected
    elif background is None:
        raise UsageError("mcp_unknown_job", job_id=job_id)
    return run_content([], outcomes, notices)
