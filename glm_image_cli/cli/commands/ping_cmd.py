"""`glm-image ping`: check config, key, network and (optionally) a running serve, without paying."""

from __future__ import annotations

from typing import Annotated

import typer

from glm_image_cli.cli.commands.common import state_of
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text
from glm_image_cli.errors import ExitCode
from glm_image_cli.messages import render

HELP = help_text("cmd.ping")


@output_options()
def ping(
    ctx: typer.Context,
    server: Annotated[str | None, typer.Option("--server", help=help_text("opt.server"), show_default=False)] = None,
) -> None:
    from glm_image_cli.core.diagnostics import check_server, check_upstream
    from glm_image_cli.storage.config import load_config

    state = state_of(ctx)
    ui = state.ui()
    cfg = load_config()
    if server is not None:
        url = server or f"http://{cfg.server_host}:{cfg.server_port}"
        checks = [check_server(url)]
    else:
        checks = check_upstream(cfg, state.lang)
    ok = all(check.ok is not False for check in checks)
    if state.json_mode:
        ui.emit_json({"ok": ok, "checks": [check.to_json() for check in checks]})
    else:
        rows = []
        for check in checks:
            mark = {True: "✓", False: "✗", None: "–"}[check.ok]
            seconds = "" if check.seconds is None else f"{check.seconds * 1000:.0f} ms"
            rows.append([str(check.label), mark, str(check.detail), seconds])
        ui.table([render("col_check"), render("col_status"), render("col_detail"), render("col_elapsed")], rows)
        ui.note(render("ping_all_ok" if ok else "ping_some_failed"))
        for check in checks:
            if check.ok is False:
                ui.note(render("ping_next", check=str(check.label), advice=_next_step(check.name, cfg, server)))
    if not ok:
        raise typer.Exit(int(_exit_code(checks)))


def _exit_code(checks: list) -> ExitCode:
    failed = next(check.name for check in checks if check.ok is False)
    return {"api_key": ExitCode.CONFIG, "key_accepted": ExitCode.AUTH}.get(failed, ExitCode.NETWORK)


def _next_step(name: str, cfg, server: str | None) -> str:
    """What to do about one failed check, as a command where there is one."""
    from urllib.parse import urlsplit

    host = urlsplit(cfg.base_url).hostname or cfg.base_url
    if name == "server":
        return render("ping_next_server", url=server or f"http://{cfg.server_host}:{cfg.server_port}")
    if name == "api_key":
        return render("ping_next_api_key")
    if name == "dns":
        return render("ping_next_dns", host=host)
    if name == "reach":
        return render("ping_next_reach", host=host)
    if name == "key_accepted":
        source = str(cfg.sources.get("api-key", ""))
        if source.startswith("env:"):  # `config set api-key` would not help: the environment wins over the file
            return render("ping_next_key_env", name=source.removeprefix("env:"))
        from glm_image_cli.backends.registry import backend_named

        # A server of one's own (its own model list) expects its own key; the hosted API's key matches a region.
        own_server = backend_named(cfg.backend).server_models
        return render("ping_next_key_openai" if own_server else "ping_next_key", region=cfg.region)
    return render("ping_next_again")
