"""`glm-image mcp`: a Model Context Protocol server over stdio, so assistants can make images.

Built on the official `mcp` package (the optional `mcp` extra).  Tools: generate_image (with progress
notifications), submit_image / job_status / fetch_image (background jobs, jobtools.py), compare_images
(core/comparerun.py), list_styles, list_models.  Failures come back as tool errors carrying the same
bilingual one-line messages as the CLI; the server itself never crashes on bad input.  The key comes from
the usual config/environment.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from glm_image_cli import __version__, safejson
from glm_image_cli.backends import models
from glm_image_cli.errors import GlmImageError
from glm_image_cli.mcpserver.making import open_studio, prepare_job, run_content

if TYPE_CHECKING:
    from collections.abc import Callable

    from glm_image_cli.core.runner import Event


INSTRUCTIONS = """Make images from text prompts (Chinese or English) with Zhipu BigModel / Z.ai.
generate_image saves the images and returns their paths, request ids and a small preview.
For long generations (the glm-image model takes 10-30 s per image) submit_image returns a job_id at once;
fetch_image(job_id, wait_seconds) returns the images when they are ready, job_status says how far it is.
It costs money per image: say the estimated cost to the user before large requests; requests above the
user's confirm-above limit need allow_spend=true, which you may set only after the user agreed."""


def build_server(lang: str) -> Any:
    """The MCPServer with its tools registered (import of `mcp` happens here, lazily)."""
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    from glm_image_cli.core.jobs import JobBoard
    from glm_image_cli.mcpserver.jobtools import register_job_tools
    from glm_image_cli.storage.history import data_dir
    from glm_image_cli.storage.pendingjobs import PendingJobs

    class GuardedServer(MCPServer):
        async def run_stdio_async(self) -> None:
            """As MCPServer's, with requests the transport cannot parse for a lone surrogate answered."""
            from mcp.server.stdio import stdio_server

            async with stdio_server() as (read_stream, write_stream):
                await self._lowlevel_server.run(_SurrogateGuard(read_stream, write_stream, lang), write_stream,
                                                self._lowlevel_server.create_initialization_options())

    server = GuardedServer(name="glm-image", instructions=INSTRUCTIONS, version=__version__)

    async def generate_image(prompt: str = "", style: str | None = None, size: str | None = None,
                             model: str | None = None, n: int = 1, negative: str | None = None,
                             output_dir: str | None = None, allow_spend: bool = False, enhance: bool | None = None,
                             template: str | None = None, variables: dict[str, str] | None = None,
                             expand: str | None = None, seed: int | None = None, check: bool = False,
                             best_of: int | None = None, caption: bool = False, ctx: Any = None) -> list[Any]:
        """enhance: rewrite the prompt with a GLM chat model first (default: the user's `enhance` setting).
        template + variables: a saved prompt template (`glm-image template list`) instead of prompt.  expand: "all"
        or "random:N" makes one image per {a|b} alternative / __name__ wildcard combination (seed: the draw).
        check: a free vision model judges each image against the prompt (score, text read); best_of: make N
        candidates (2-8, each paid for) and keep the best; caption: write alt text into each PNG."""
        import anyio.to_thread

        from glm_image_cli.core.prompting import PromptSource
        from glm_image_cli.mcpserver.progress import ProgressRelay

        source = PromptSource(prompt or None, template, dict(variables or {}), expand, seed) \
            if template is not None or expand is not None else None
        relay = ProgressRelay(ctx, max(1, n), lang) if ctx is not None else None
        try:
            return await anyio.to_thread.run_sync(lambda: _generate(
                lang, prompt, style, size, model, n, negative, output_dir, allow_spend, enhance,
                on_event=relay.event if relay is not None else None, source=source,
                vision=_vision(check, best_of, caption)))
        except GlmImageError as error:
            raise ToolError(f"{error} [{error.code}]") from None

    generate_image.__annotations__["ctx"] = Context  # the SDK hands the request's context to a parameter so typed
    server.tool(structured_output=False,
                description="Generate images from a prompt and save them; waits for them (with progress "
                            "notifications). Returns saved paths, request ids, the prompt sent and a small preview "
                            "image. For long generations submit_image answers at once. 根据提示词生成并保存图片。"
                )(generate_image)
    register_job_tools(server, lang, JobBoard(PendingJobs(data_dir())))

    @server.tool(description="Make one prompt several ways and compare them: one image per combination of the axes' "
                             "values (axes: {\"model\": [...], \"style\": [...], \"size\": [...]}; also quality, "
                             "negative, enhance [\"on\",\"off\"], prompt-sr [term, replacements...]), a labelled "
                             "grid.png and compare.json. Returns the grid paths and the cells. "
                             "按多个维度比较同一提示词。")
    def compare_images(prompt: str, axes: dict[str, list[str]], n: int = 1, output_dir: str | None = None,
                       allow_spend: bool = False, skip_invalid: bool = False) -> str:
        """The first axis runs across the grid, the second down, a third makes one grid per value."""
        try:
            return _compare(lang, prompt, axes, n, output_dir, allow_spend, skip_invalid)
        except GlmImageError as error:
            raise ToolError(f"{error} [{error.code}]") from None

    @server.tool(description="List the style presets (Chinese and English names, the phrase each adds). "
                             "列出风格预设。")
    def list_styles() -> str:
        from glm_image_cli.core.styles import all_styles
        from glm_image_cli.storage.config import load_config

        try:
            styles = all_styles(load_config().user_styles)
        except GlmImageError as error:
            raise ToolError(str(error)) from None
        return json.dumps([{"name": s.name, "english": s.english, "aliases": list(s.aliases),
                            "phrase_zh": s.phrase_zh, "phrase_en": s.phrase_en, "user_defined": s.user_defined}
                           for s in styles], ensure_ascii=False)

    @server.tool(description="List the image models with their sizes, qualities and prices. 列出可用模型。")
    def list_models() -> str:
        return json.dumps(models.models_table(), ensure_ascii=False)

    return server


class _SurrogateGuard:
    """The stdio read stream, answering what the `mcp` transport would silently drop.

    ``"\\ud800"`` is valid JSON but no valid Unicode; the transport's parser refuses the whole line and the
    request is never answered, so the assistant waits forever.  Such a request gets the answer any bad
    argument gets: a tool error for ``tools/call`` (the same one-line message as the CLI), else an
    INVALID_PARAMS error.  Every other item passes through unchanged.
    """

    def __init__(self, inner: Any, write_stream: Any, lang: str) -> None:
        self._inner = inner
        self._write = write_stream
        self._lang = lang

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        while True:
            item = await self._inner.receive()
            answer = _answer_unparsable(item, self._lang) if isinstance(item, Exception) else None
            if answer is None:
                return item
            await self._write.send(answer)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _SurrogateGuard:
        return self

    async def __anext__(self) -> Any:
        import anyio

        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _SurrogateGuard:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()


def _answer_unparsable(error: Exception, lang: str) -> Any:
    """The answer to a request refused by the transport only because a string in it holds a lone surrogate,
    or None (anything else keeps the transport's own handling)."""
    import mcp.types as types
    from mcp.shared.message import SessionMessage
    from pydantic import ValidationError

    from glm_image_cli.errors import UsageError
    from glm_image_cli.messages import using_language
    from glm_image_cli.storage.settingspec import has_surrogates

    if not isinstance(error, ValidationError):
        return None
    line = next((e.get("input") for e in error.errors() if e.get("type") == "json_invalid"), None)
    try:
        request = safejson.loads(line) if isinstance(line, str) else None
        if not isinstance(request, dict) or not _holds_surrogate(request, has_surrogates):
            return None
    except (ValueError, RecursionError):
        return None
    request_id, method, params = request.get("id"), request.get("method"), request.get("params")
    if isinstance(request_id, bool) or not isinstance(request_id, (int, str)) or not isinstance(method, str):
        return None  # a notification, or not a request at all: nothing to answer
    arguments = params.get("arguments") if isinstance(params, dict) else None
    field = "request"
    if isinstance(arguments, dict):
        field = next((str(name) for name, value in arguments.items()
                      if isinstance(name, str) and not has_surrogates(name)
                      and _holds_surrogate(value, has_surrogates)), field)
    failure = UsageError("invalid_text", field=field)
    with using_language(lang):
        text = f"{failure} [{failure.code}]"
    if method == "tools/call":
        result = types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)
        message: Any = types.JSONRPCResponse(jsonrpc="2.0", id=request_id,
                                             result=result.model_dump(by_alias=True, mode="json", exclude_none=True))
    else:
        message = types.JSONRPCError(jsonrpc="2.0", id=request_id,
                                     error=types.ErrorData(code=types.INVALID_PARAMS, message=text))
    return SessionMessage(message)


def _holds_surrogate(value: Any, has_surrogates: Any) -> bool:
    if isinstance(value, str):
        return has_surrogates(value)
    if isinstance(value, dict):
        return any(_holds_surrogate(k, has_surrogates) or _holds_surrogate(v, has_surrogates)
                   for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_surrogate(item, has_surrogates) for item in value)
    return False


def _generate(lang: str, prompt: str, style: str | None, size: str | None, model: str | None, n: int,
              negative: str | None, output_dir: str | None, allow_spend: bool,
              enhance: bool | None = None, on_event: Callable[[Event], None] | None = None,
              source: Any = None, vision: Any = None) -> list[Any]:
    """The tool over the library API: arguments into a plan, the run into JSON and a preview.  Paid asynchronous
    tasks are recorded in the pending-jobs file until saved, as `generate`'s are (`glm-image collect`)."""
    from glm_image_cli.core.pending import PendingJournal
    from glm_image_cli.core.results import Notice
    from glm_image_cli.storage.history import data_dir
    from glm_image_cli.storage.pendingjobs import PendingJobs

    notices: list[Notice] = []
    with open_studio(lang, model, size, style, output_dir, enhance) as studio, \
            prepare_job(studio, prompt, negative, n, allow_spend, notices, source, vision) as job:
        journal = PendingJournal(PendingJobs(data_dir()), job.saver, studio.command) if job.saver else None
        run = job.run(on_event=on_event or (lambda event: None), on_notice=notices.append, journal=journal)
    return run_content(studio.warnings, run.outcomes, notices)


def _compare(lang: str, prompt: str, axes: dict[str, list[str]], n: int, output_dir: str | None,
             allow_spend: bool, skip_invalid: bool) -> str:
    """compare_images over the library's Studio.compare: at most MAX_MCP_COMPARE images, consent as for
    generate_image; the answer is compare.json's content with the grids' full paths."""
    from glm_image_cli.errors import UsageError
    from glm_image_cli.mcpserver.making import MAX_MCP_COMPARE

    def consent(estimate: Any) -> bool:
        if allow_spend:
            return True
        raise UsageError("mcp_spend_needs_consent", cost=estimate.total, currency=estimate.currency,
                         limit=estimate.threshold)

    with open_studio(lang, None, None, None, None, None) as studio:
        done = studio.compare(prompt, axes, samples=n, output_dir=output_dir, consent=consent,
                              skip_invalid=skip_invalid, max_images=MAX_MCP_COMPARE)
    folder = done.path.parent
    answer = {**done.document, "folder": str(folder), "grid_paths": [str(path) for path in done.grids]}
    return json.dumps(answer, ensure_ascii=False)


def _vision(check: bool, best_of: int | None, caption: bool) -> Any:
    """check, best_of, caption as the library's VisionSetup (None: none of them)."""
    if not (check or best_of is not None or caption):
        return None
    from glm_image_cli.core.bestof import VisionSetup
    from glm_image_cli.core.checks import CheckOptions

    return VisionSetup(CheckOptions(check=check, caption=caption), best_of=best_of)
