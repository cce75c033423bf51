"""`glm-image usage`: what was spent (estimates from the ledger), grouped by day, model or command."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from glm_image_cli.cli.commands.common import state_of
from glm_image_cli.cli.commands.completion import complete_usage_by
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text
from glm_image_cli.messages import render

HELP = help_text("cmd.usage")
GROUPINGS = ("day", "model", "command")
BAR_WIDTH = 24


@output_options()
def usage(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help=help_text("opt.usage_since"), metavar="WHEN")] = "30d",
    by: Annotated[str, typer.Option("--by", help=help_text("opt.usage_by"), metavar="day|model|command",
                                    autocompletion=complete_usage_by)] = "day",
) -> None:
    from glm_image_cli.core.ledger import Ledger, budgets_of
    from glm_image_cli.core.pricing import PRICES_AS_OF
    from glm_image_cli.storage.config import load_config
    from glm_image_cli.storage.history import parse_since

    state = state_of(ctx)
    ui = state.ui()
    if by not in GROUPINGS:
        raise typer.BadParameter(" | ".join(GROUPINGS), param_hint="--by")
    start = parse_since(since)
    cfg = load_config()
    currency = "USD" if cfg.region == "intl" else "CNY"
    budgets = budgets_of(cfg)
    ledger = Ledger()
    try:
        entries = [entry for entry in ledger.entries(start, budgets.zone) if entry.currency == currency]
        today, month = ledger.spent(currency, budgets.zone) if budgets.any and ledger.path.exists() else (0.0, 0.0)
    finally:
        ledger.close()
    groups: dict[str, dict[str, Any]] = {}
    for entry in entries:
        key = {"day": entry.day, "model": entry.model or "?", "command": entry.command}[by]
        group = groups.setdefault(key, {"key": key, "requests": 0, "billed": 0, "estimated_cost": 0.0})
        group["requests"] += 1
        if entry.counted:
            group["billed"] += 1
            group["estimated_cost"] += entry.cost
    ordered = sorted(groups.values(), key=lambda g: g["key"]) if by == "day" \
        else sorted(groups.values(), key=lambda g: (-g["estimated_cost"], g["key"]))
    outcomes: dict[str, int] = {}
    for entry in entries:
        outcomes[entry.outcome] = outcomes.get(entry.outcome, 0) + 1
    stopped = sum(1 for entry in entries if entry.stopped)  # pending, but its process is gone: may be billed
    maybe = {"uncertain": outcomes.get("uncertain", 0), "stopped": stopped,
             "in_progress": outcomes.get("pending", 0) - stopped}
    total = sum(entry.cost for entry in entries if entry.counted)
    billed = sum(1 for entry in entries if entry.counted)
    budget_rows = {period: {"budget": budget, "spent": round(spent, 4)}
                   for period, budget, spent in (("daily", budgets.daily, today), ("monthly", budgets.monthly, month))
                   if budget is not None}
    note = render("usage_note", date=PRICES_AS_OF)
    if state.json_mode:
        ui.emit_json({
            "since": start.isoformat(timespec="seconds"), "by": by, "currency": currency,
            "totals": {"requests": len(entries), "billed": billed, "estimated_cost": round(total, 4),
                       "outcomes": outcomes, "may_have_been_billed": maybe},
            "groups": [{**group, "estimated_cost": round(group["estimated_cost"], 4)} for group in ordered],
            "budgets": budget_rows, "prices_as_of": PRICES_AS_OF, "estimate": True, "note": note,
        })
        return
    since_text = render("usage_since", since=start.strftime("%Y-%m-%d %H:%M"))
    if not entries:
        ui.result(render("usage_nothing", since=since_text))
    else:
        top = max((group["estimated_cost"] for group in ordered), default=0.0)
        rows = [[group["key"], str(group["requests"]), str(group["billed"]),
                 f"{group['estimated_cost']:.2f} {currency}", _bar(group["estimated_cost"], top)]
                for group in ordered]
        ui.table([by, render("col_requests"), render("col_billed"), render("col_cost"), ""], rows,
                 optional=(4,))
        ui.result(render("usage_total", requests=len(entries), billed=billed, cost=total, currency=currency,
                         since=since_text))
        for kind, key in (("uncertain", "usage_uncertain"), ("stopped", "usage_pending_stopped"),
                          ("in_progress", "usage_pending_open")):
            if maybe[kind]:
                ui.note(render(key, count=maybe[kind]))
    for period, row in budget_rows.items():
        ui.result(render("usage_budget", period=render(f"budget_period_{period}"), spent=row["spent"],
                         budget=row["budget"], currency=currency))
    ui.note(note)


def _bar(value: float, top: float) -> str:
    if top <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / top * BAR_WIDTH * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")
