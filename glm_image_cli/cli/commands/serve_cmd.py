"""`glm-image serve`: the local image service (original /txt2img API and an OpenAI-compatible one)."""

from __future__ import annotations

import errno
import os
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from glm_image_cli.cli.commands.common import RunState, state_of
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text
from glm_image_cli.core.session import make_client, make_limiter, make_saver
from glm_image_cli.errors import ServerError, UsageError
from glm_image_cli.messages import render

HELP = help_text("cmd.serve")


@output_options()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help=help_text("opt.host"), show_default=False)] = None,
    port: Annotated[int | None, typer.Option("--port", "-p", help=help_text("opt.port"), show_default=False)] = None,
    token: Annotated[str | None, typer.Option("--token", help=help_text("opt.token"), show_default=False)] = None,
    insecure: Annotated[bool, typer.Option("--insecure", help=help_text("opt.insecure"))] = False,
    max_concurrent: Annotated[int, typer.Option("--max-concurrent", help=help_text("opt.max_concurrent"))] = 8,
    rate_limit: Annotated[float, typer.Option("--rate-limit", help=help_text("opt.rate_limit"))] = 60.0,
    max_samples: Annotated[int, typer.Option("--max-samples", help=help_text("opt.max_samples"))] = 4,
    max_body: Annotated[int, typer.Option("--max-body", help=help_text("opt.max_body"))] = 64 * 1024,
    read_timeout: Annotated[float, typer.Option("--read-timeout", help=help_text("opt.read_timeout"))] = 10.0,
    max_connections: Annotated[int, typer.Option("--max-connections",
                                                 help=help_text("opt.max_connections"))] = 256,
    save: Annotated[Path | None, typer.Option("--save", help=help_text("opt.save"), show_default=False)] = None,
) -> None:
    from glm_image_cli.core.studio import Studio
    from glm_image_cli.serve.guards import is_loopback
    from glm_image_cli.serve.service import ImageService, ServeOptions, clear_stale_spool
    from glm_image_cli.storage.config import load_config
    from glm_image_cli.storage.files import ensure_writable_dir
    from glm_image_cli.storage.history import data_dir

    state = state_of(ctx)
    ui = state.ui()
    for option, value, low in (("--max-concurrent", max_concurrent, 1), ("--max-samples", max_samples, 1),
                               ("--max-body", max_body, 1024), ("--read-timeout", read_timeout, 1),
                               ("--rate-limit", rate_limit, 0), ("--max-connections", max_connections, 1)):
        if value < low:
            raise UsageError("serve_bad_option", option=option, low=low)
    cfg = load_config(flags={"server-host": host, "server-port": port, "server-token": token})
    options = ServeOptions(host=cfg.server_host, port=cfg.server_port, token=cfg.server_token,
                           max_body=max_body, max_concurrent=max_concurrent, rate_per_minute=rate_limit,
                           read_timeout=read_timeout, max_samples=max_samples, max_connections=max_connections,
                           quiet=state.quiet, spool_dir=data_dir() / "serve-spool")
    saver = make_saver(cfg, ensure_writable_dir(save), "serve") if save else None
    clear_stale_spool(options.spool_dir)
    if not is_loopback(options.host) and not options.token:
        if not insecure:
            raise UsageError("serve_needs_token", host=options.host)
        ui.error(render("serve_insecure", host=options.host))
    client = make_client(cfg, state.lang, retry_unsafe=False, connections=max_concurrent * 2)
    with client, Studio(cfg, lang=state.lang, command="serve", client=client,
                        limiter=make_limiter(cfg, cap=max_concurrent)) as studio:
        service = ImageService(studio, options, saver)
        server = _bind(options, service, state)
        # The handlers are in place before the URL goes out: whoever reads it may stop us at once, and a
        # SIGTERM right after the announcement must still be the graceful exit 0, not a kill.
        with _StopSignals(server):
            _announce(state, server, options)
            _serve_until_stopped(state, server, options)


def _bind(options: Any, service: Any, state: RunState) -> Any:
    from glm_image_cli.serve.server import GlmImageHTTPServer, free_port_near

    lock = threading.Lock()

    def log(line: str) -> None:  # from the server's threads; a closed stderr loses the log, never an answer
        with lock:
            state.output.line("stderr", f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}")

    try:
        return GlmImageHTTPServer(options, service, log, lang=state.lang)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            suggestion = free_port_near(options.host, options.port) or options.port + 1
            raise ServerError("port_in_use", host=options.host, port=options.port, suggestion=suggestion) from None
        raise ServerError("cannot_bind", host=options.host, port=options.port,
                          detail=exc.strerror or str(exc)) from None


def _announce(state: RunState, server: Any, options: Any) -> None:
    host, port = server.server_address[:2]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}"
    ui = state.ui()
    # /v1/images/edits only where the backend has edits (elsewhere it answers 400 EDIT_UNSUPPORTED); /compare only
    # with --save (elsewhere 400 COMPARE_NEEDS_SAVE)
    routes = [("GET ", "/ping"), ("POST", "/txt2img"), ("POST", "/v1/images/generations"),
              *([("POST", "/v1/images/edits")] if server.service.studio.backend.edits else []),
              ("GET ", "/v1/models"),
              *([("POST", "/compare")] if server.service.saver is not None else [])]  # a compare needs --save
    if state.json_mode:
        ui.emit_json_line({"type": "listening", "url": url, "endpoints": [path for _, path in routes],
                           "token": bool(options.token)})
    # The URL goes out even with --quiet: scripts that start us on port 0 read it.
    state.output.line("stderr", render("serve_started", url=url))
    if not state.quiet:
        ui.note(render("serve_endpoints"))
        width = max(len(path) for _, path in routes)  # the URLs in one column, whatever the path's length
        # On a terminal too narrow for the full URLs, the paths alone (the address is on the line above).
        with_urls = 2 + 4 + 1 + width + 2 + len(url) + width <= state.terminal.width
        for method, path in routes:
            ui.note(f"  {method} {path:<{width}}  {url}{path}" if with_urls else f"  {method} {path}")
        if options.token:
            ui.note(render("serve_token_on"))


class _StopSignals:
    """SIGINT and SIGTERM ask the server to stop gracefully; a second one while stopping leaves at once.

    Installed before the server is announced and restored on the way out.  The first signal only sets the
    server's shutdown request (from a helper thread: ``shutdown`` blocks until ``serve_forever`` returns), so
    it is never lost: one that arrives before ``serve_forever`` has started makes it return at once.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, server: Any) -> None:
        self.server = server
        self.requested = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():  # only the main thread may set handlers
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.requested.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C (or SIGTERM) while stopping: leave now
        self.requested.set()
        threading.Thread(target=self.server.shutdown, name="serve-stop", daemon=True).start()


def _serve_until_stopped(state: RunState, server: Any, options: Any) -> None:
    """Serve until SIGINT or SIGTERM (see _StopSignals), then stop accepting and let requests in flight finish."""
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        os._exit(130)  # a second signal before serving stopped: leave now
    ui = state.ui()
    try:
        # Stop accepting first, so a client that reads "Stopping" and connects is refused, not reset.
        if not server.close_gracefully(0):
            ui.note(render("serve_stopping", count=server.in_flight, seconds=int(options.shutdown_grace)))
            server.close_gracefully(options.shutdown_grace)
    except KeyboardInterrupt:
        os._exit(130)  # a second Ctrl-C: leave now
    ui.note(render("serve_stopped"))
