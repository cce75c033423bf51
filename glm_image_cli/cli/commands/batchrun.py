"""Running a batch request, shared by `batch` (a prompt file) and `compare` (a compare's cells): validation
reported line by line, consent, the run with live progress (direct calls or the platform's Batch API), the
summary and what to do next."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from glm_image_cli.cli.commands.common import (
    RunState,
    cancel_on_closed_output,
    cli_consent,
    leave_abandoned,
    notice_printer,
    report_saver_notes,
)
from glm_image_cli.cli.commands.review import review_text
from glm_image_cli.core.session import BatchRequest, PreparedBatch, prepare_batch
from glm_image_cli.errors import ExitCode, UsageError
from glm_image_cli.messages import render

if TYPE_CHECKING:
    from glm_image_cli.cli.console import BatchProgress
    from glm_image_cli.core.batch import BatchSummary, Selection, WorkUnit
    from glm_image_cli.core.batchinput import LineError
    from glm_image_cli.core.bestof import VisionSetup
    from glm_image_cli.core.ledger import RunSpend
    from glm_image_cli.core.manifest import Manifest
    from glm_image_cli.core.results import Run
    from glm_image_cli.core.runner import Event, ImageOutcome
    from glm_image_cli.core.studio import Studio
    from glm_image_cli.storage.config import ResolvedConfig
    from glm_image_cli.storage.saving import ImageSaver


def execute_batch(ctx: typer.Context, state: RunState, request: BatchRequest, *, yes: bool, reviewing: bool,
                  preview: bool | None, rerun_input: str, command: str = "batch",
                  on_invalid: Callable[[list[LineError]], None] | None = None,
                  before: Callable[[PreparedBatch], None] | None = None,
                  after: Callable[[PreparedBatch, BatchSummary], None] | None = None,
                  vision: VisionSetup | None = None) -> int:
    """A batch request (from a file, or a compare's cells) through validation, consent, the run (direct or the
    Batch API) and the summary; the exit code.  ``before``: what the front end shows of the validated run
    before it asks and runs; ``after``: what it does with the finished run (a compare draws its grid);
    ``vision``: --check, --best-of, --caption."""
    from glm_image_cli.cli import batchapi_view as batchapi_cmd

    ui = state.ui()
    skip_invalid = request.skip_invalid
    enhance_failures: list[Any] = []
    chats: dict[str, int] = {}
    prepared = prepare_batch(request, on_warning=lambda warning: ui.warn(str(warning)),
                             on_invalid=on_invalid or (lambda errors: _report_invalid(state, errors, skip_invalid)),
                             on_rewrite=lambda item, rewrite: _report_rewrite(state, item, rewrite, chats,
                                                                              reviewing),
                             on_enhance_failed=lambda item, error: _report_enhance_failed(state, item, error,
                                                                                         enhance_failures))
    selection = prepared.selection
    via = prepared.cfg.batch_via
    if before is not None:
        before(prepared)
    if prepared.saver is None:  # a dry run
        _print_plan(state, prepared.items, selection, prepared.cfg, via)
        return 0
    from glm_image_cli.core.studio import Studio

    spend: RunSpend | None = None
    studio = Studio(prepared.cfg, lang=state.lang, command=command, retry_unsafe=request.retry_unsafe)
    try:
        checking = vision is not None or any(item.check for item in prepared.items)
        if via == "api":
            if checking:  # the platform's batch makes the images later; a check needs each one as it is saved
                raise UsageError("batchapi_no_check")
            words = batchapi_cmd.DirectWords(report_selection, _on_event, _finish)
            summary = batchapi_cmd.run_via_api(state, studio, prepared, _Rerun(ctx, rerun_input, prepared.folder),
                                               words, yes=yes, partial=request.max_images is not None, chats=chats,
                                               preview=preview, input_path=rerun_input)
        else:
            from glm_image_cli.core.batchapi import refuse_direct_while_open

            refuse_direct_while_open(prepared.folder, selection)
            if checking:  # a priced check model is counted in the estimate and the spend question
                wanted = sum(1 for unit in selection.to_run
                             if unit.wants_check or (vision is not None and vision.options.caption))
                for model, count in studio.check_calls(wanted).items():
                    chats[model] = chats.get(model, 0) + count
            spend = studio.hold_batch(selection, partial=request.max_images is not None,
                                      consent=cli_consent(state, yes), chats=chats, on_notice=notice_printer(state))
            report_selection(state, prepared)
            summary = _run(state, studio, selection, prepared.manifest, prepared.saver,
                           _Rerun(ctx, rerun_input, prepared.saver.folder), spend, preview,
                           _batch_vision(vision, prepared.items, selection, prepared.manifest,
                                         metadata=not request.no_metadata, history=not request.no_history))
    finally:
        prepared.release()
        if spend is not None:
            spend.release()
        studio.close()
    report_saver_notes(state, prepared.saver)
    if after is not None:
        after(prepared, summary)
    # An item whose rewrite failed was never sent: its chat error's exit code, unless an image failed too.
    return summary.exit_code or (int(enhance_failures[0].exit_code) if enhance_failures else 0)


def report_selection(state: RunState, prepared: Any) -> None:
    """What the manifest and the folder said about this run, before it starts."""
    ui, selection = state.ui(), prepared.selection
    if prepared.manifest.damaged_lines:
        ui.warn(render("batch_manifest_damaged", count=prepared.manifest.damaged_lines, path=prepared.manifest.path))
    if selection.found_on_disk:
        ui.note(render("batch_found_on_disk", count=len(selection.found_on_disk)))
    if selection.done_before:
        ui.note(render("batch_resuming", done=len(selection.done_before)))
    if selection.recoverable:
        ui.note(render("batch_recovering", count=len(selection.recoverable)))
    if selection.uncertain:
        ui.warn(render("batch_uncertain", count=len(selection.uncertain)))


def _report_rewrite(state: RunState, item: Any, rewrite: Any, chats: dict[str, int], reviewing: bool) -> str | None:
    """--enhance: each rewrite on stderr, before any image is paid for (--review: accepted, edited or cancelled);
    the chat calls made are counted for spend consent."""
    text = render("enhance_cached" if rewrite.cached else "enhance_rewrite", model=rewrite.model, text=rewrite.text)
    state.ui().note(f"{item.number:04d}: {text}")
    if not rewrite.cached:
        chats[rewrite.model] = chats.get(rewrite.model, 0) + 1
    if reviewing:
        return review_text(state, rewrite.text, render("review_item", number=item.number))
    return None


def _report_enhance_failed(state: RunState, item: Any, error: Any, failures: list[Any]) -> None:
    """An item whose rewrite failed: reported like an invalid line (with the chat error's code); the rest go on."""
    from glm_image_cli.core.plans import error_json

    failures.append(error)
    ui = state.ui()
    message = render("enhance_failed_item", message=str(error))
    ui.error(render("batch_line_error", line=item.line, message=message))
    if state.json_mode:
        ui.emit_json_line({"type": "invalid", "line": item.line, "message": message, "error": error_json(error)})


def _report_invalid(state: RunState, errors: list[LineError], skip_invalid: bool) -> None:
    ui = state.ui()
    for error in errors:
        line = render("batch_line_error", line=error.line, message=error.message)
        if skip_invalid:
            ui.warn(line)
        else:
            ui.error(line)
        if state.json_mode:
            ui.emit_json_line({"type": "invalid", "line": error.line, "message": error.message})


def _print_plan(state: RunState, items: list[Any], selection: Selection, cfg: ResolvedConfig,
                via: str = "direct") -> None:
    from collections import Counter

    from glm_image_cli.core.batchprice import batch_estimate
    from glm_image_cli.core.consent import estimate_run

    ui = state.ui()
    per_model = Counter(selection.images_per_model())
    estimate = batch_estimate(cfg, per_model) if via == "api" else estimate_run(cfg, per_model)
    cost, currency, unknown = estimate.total, estimate.currency, estimate.unknown_images
    counts = {"items": len(items), "images": sum(i.plan.samples for i in items), "to_run": len(selection.to_run),
              "done": len(selection.done_before), "uncertain": len(selection.uncertain),
              "skipped": len(selection.failed_skipped), "capped": len(selection.capped)}
    _print_prompts(state, items)
    if state.json_mode:
        ui.emit_json_line({"type": "plan", **counts, "models": dict(per_model),
                           "estimated_cost": round(cost, 4), "currency": currency, "unknown_price_images": unknown})
        return
    ui.result(render("batch_plan", **counts))
    for name, count in per_model.most_common():
        ui.result(render("batch_plan_model", model=name, count=count))
    suffix = render("batch_cost_unknown", count=unknown) if unknown else ""
    ui.result(render("batchapi_cost" if via == "api" else "batch_cost", cost=cost, currency=currency, unknown=suffix))
    ui.note(render("batch_dry_run"))


def _print_prompts(state: RunState, items: list[Any]) -> None:
    """--dry-run with templates or alternatives: every prompt the lines stand for, numbered as the files will be."""
    from glm_image_cli.core.prompting import listing

    if not any(item.plan.origin for item in items):
        return
    ui = state.ui()
    if state.json_mode:
        for item, row in zip(items, listing([item.plan for item in items]), strict=True):
            ui.emit_json_line({"type": "prompt", "item": item.number, "line": item.line, **row})
        return
    ui.result(render("expand_listing", count=len(items)))
    for item in items:
        ui.result(render("expand_listing_row", number=f"{item.number:04d}", prompt=item.plan.prompt))


def _batch_vision(vision: VisionSetup | None, items: list[Any], selection: Selection, manifest: Manifest, *,
                  metadata: bool, history: bool) -> VisionSetup | None:
    """--check, --best-of, --caption or a line's "check": the manifest remembers verdicts and choices, and the
    images made before are handed over with theirs (only those without one are checked, with no image call)."""
    if vision is None and not any(item.check for item in items):
        return None
    from glm_image_cli.core.bestof import VisionSetup
    from glm_image_cli.core.checks import CheckOptions

    vision = vision or VisionSetup(CheckOptions(metadata=metadata, history=history))
    vision.journal = manifest
    vision.earlier = [manifest.earlier_outcome(unit) for unit in selection.done_before]
    if any(item.check for item in items):  # each unit says whether it wants a check (its line's "check")
        vision.options.check = True
    return vision


def _run(state: RunState, studio: Studio, selection: Selection, manifest: Manifest, saver: ImageSaver,
         rerun: _Rerun, spend: RunSpend | None = None, preview: bool | None = None,
         vision: VisionSetup | None = None) -> BatchSummary:
    """The selected units through the library API's runner and drain, the manifest as its journal."""
    from rich.cells import cell_len

    from glm_image_cli.cli.console import BatchProgress
    from glm_image_cli.core.results import Abandoned, Notice
    from glm_image_cli.core.runner import SaveImages
    from glm_image_cli.messages import Text

    ui = state.ui()
    started = time.monotonic()
    paths_later = vision is not None and bool(vision.best_of)
    recovered = {unit.key: image for unit in selection.recoverable
                 if (image := manifest.recorded_image(unit)) is not None}
    units = [*selection.recoverable, *selection.to_run]
    label_width = max((cell_len(unit.item.stem(unit.sample)) for unit in units), default=8)
    say = notice_printer(state)
    with BatchProgress(ui, len(units), label_width=label_width) as progress:

        def notice(item: Notice) -> None:
            if item.text.message_id == "batch_interrupted_waiting":
                progress.interrupted()  # the live display goes first, so the drain message is seen
            say(item)

        try:
            def draining(count: int) -> None:  # SIGHUP or SIGTERM: the first Ctrl-C's drain and words
                notice(Notice("warning", Text("batch_interrupted_waiting", count=count)))

            # `| head`, SIGHUP, SIGTERM: send no more, keep what is in flight
            with cancel_on_closed_output(state, draining) as cancel:
                run = studio.run_units(units, delivery=SaveImages(saver), spend=spend, journal=manifest,
                                       recovered=recovered,
                                       on_event=lambda event: _on_event(state, progress, event,
                                                                        paths_later=paths_later),
                                       on_notice=notice, cancel=cancel, vision=vision)
        except Abandoned as abandoned:
            progress.interrupted()
            _finish(state, selection, manifest, abandoned.run, studio, saver.folder, started, rerun)
            leave_abandoned(state)
        if run.interrupted:
            progress.interrupted()
    if paths_later and not state.json_mode:  # --best-of: the kept images, where they stay
        for result in run:
            if result.path is not None and not result.record.get("candidate"):
                ui.result(str(result.path))
    summary = _finish(state, selection, manifest, run, studio, saver.folder, started, rerun,
                      interrupted=run.interrupted)
    state.output.absorb(run.output_failed)
    if run.interrupted:
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if preview is not False and state.terminal.stdout_tty:  # one contact sheet of this run's images
        from glm_image_cli.cli.preview import preview_files

        kept = [result.path for result in run if result.path is not None and not result.record.get("candidate")]
        preview_files(state, studio.settings, kept, preview)  # --best-of: the kept images only
    return summary


def _finish(state: RunState, selection: Selection, manifest: Manifest, run: Run, studio: Studio, folder: Path,
            started: float, rerun: _Rerun, *, interrupted: bool = False, limits: bool = True) -> BatchSummary:
    """The summary, then what to do next: why it stopped, how to fix or retry what failed, how to resume."""
    from glm_image_cli.core.batch import failed_units, summarize, write_failed_file

    ui = state.ui()
    outcomes = run.outcomes
    summary = summarize(selection, outcomes, run.not_sent, time.monotonic() - started, run.halted_by,
                        abandoned=run.abandoned)
    summary.limits = studio.limiter.summary() if limits else {}  # a Batch API run makes no calls of its own
    failed = failed_units(selection, outcomes)
    failed_file = write_failed_file(folder, failed)
    if state.json_mode:
        for outcome in outcomes:  # --check: each verdict once it is in (the item lines came as images were saved)
            if outcome.check is not None or outcome.candidate:
                ui.emit_json_line({"type": "check", "key": outcome.unit.key, "item": outcome.unit.item.number,
                                   "sample": outcome.unit.sample, "path": str(outcome.path) if outcome.path else None,
                                   "candidate": outcome.candidate, "check": outcome.check})
        ui.emit_json_line(summary.to_json())
    else:
        _print_summary(state, summary, Counter(outcome.unit.plan.model for outcome in outcomes))
    if summary.halted_by is not None:
        ui.error(render("batch_stopped", reason=str(summary.halted_by), count=summary.not_sent))
    if interrupted:
        ui.error(render("interrupted"))
    if failed_file is not None and summary.halted_by is None:  # after a stop, re-running the command is the advice
        _advise_on_failures(state, _failure_codes(failed, outcomes, manifest), failed_file, rerun)
    if summary.not_sent:
        ui.note(render("batch_resume", count=summary.not_sent, command=rerun.command()))
    return summary


def _failure_codes(failed: list[WorkUnit], outcomes: list[ImageOutcome], manifest: Manifest) -> list[str]:
    """The error code of each image that stands failed: from this run, else as the manifest recorded it."""
    now = {id(o.unit): o.error.code for o in outcomes if o.error is not None}
    codes = []
    for unit in failed:
        recorded = manifest.states.get(unit.key, {}).get("error")
        codes.append(now.get(id(unit)) or (recorded.get("code") if isinstance(recorded, dict) else None) or "?")
    return codes


def _advise_on_failures(state: RunState, codes: list[str], failed_file: Path, rerun: _Rerun) -> None:
    """Advice by cause: a refused prompt is rephrased and refused parameters are fixed in failed.jsonl, which
    is then run; a failure on the upstream's side (5xx, rate limit, lost task) needs no edit, only the same
    command again later (made images are skipped, failed ones retried)."""
    from collections import Counter

    from glm_image_cli.errors import MEANINGS
    from glm_image_cli.storage.files import display_path

    ui = state.ui()
    meanings = {meaning.code: meaning for meaning in MEANINGS.values()}
    content, refused, passing = Counter(), Counter(), Counter()
    for code in codes:
        meaning = meanings.get(code)
        group = content if code == "CONTENT_BLOCKED" else refused if meaning and meaning.same_request else passing
        group[code] += 1
    path = display_path(failed_file)
    fix_command = rerun.command(path, failed_file=True)
    if content:
        ui.warn(render("batch_content_blocked", count=content.total(), path=path, command=fix_command))
    if refused:
        ui.warn(render("batch_failed_fix", count=refused.total(), codes=", ".join(sorted(refused)), path=path,
                       command=fix_command))
    if passing:
        ui.note(render("batch_failed_again", count=passing.total(), codes=", ".join(sorted(passing)),
                       command=rerun.command()))


# Never in a suggested command: this run's output options, the dry run, the opt-in to pay again for images that
# may have been billed (asked for each time), and --no-retry-failed (the suggestion is to retry them).
_NEVER_REPEATED = frozenset({"input_path", "output_dir", "dry_run", "retry_unsafe", "retry_failed",
                             "json_output", "quiet", "no_color", "lang", "verbose"})
# Carried by failed.jsonl's lines (one line per image, with its own name), or meaningless for it.
# (failed.jsonl is written in UTF-8, whatever --encoding the input needed.)
_IN_FAILED_LINES = frozenset({"input_format", "encoding", "style", "negative", "size", "model", "quality", "samples",
                              "name", "skip_invalid", "max_images", "template", "expand", "seed", "wildcards"})


class _Rerun:
    """The command to run next, spelled as the user would type it, with -o and the run's other flags."""

    def __init__(self, ctx: typer.Context, input_path: str, folder: Path) -> None:
        self.ctx = ctx
        self.input_path = input_path
        self.folder = folder

    def command(self, input_path: str | None = None, *, failed_file: bool = False) -> str:
        import shlex

        from glm_image_cli.storage.files import display_path

        skipped = _NEVER_REPEATED | (_IN_FAILED_LINES if failed_file else frozenset())
        command = self.ctx.info_name or "batch"  # batch, or compare (whose argument is its prompt)
        words = ["glm-image", command, input_path or self.input_path, "-o", display_path(self.folder)]
        for param in self.ctx.command.params:
            value = self.ctx.params.get(param.name or "")
            if param.param_type_name != "option" or param.name in skipped or value in (None, False) \
                    or value == param.default:
                continue
            name = next((opt for opt in param.opts if not opt.startswith("--")), param.opts[0])
            flag = getattr(param, "is_flag", False)
            words += [name] if flag else [name, f"{value:g}" if isinstance(value, float) else str(value)]
        return " ".join(shlex.quote(word) for word in words)


def _on_event(state: RunState, progress: BatchProgress, event: Event, *, paths_later: bool = False) -> None:
    """From worker threads: progress on stderr; each saved path on stdout as it is saved (or, with --json,
    the item's JSON line).  ``paths_later`` (--best-of): the kept paths are printed after the run, since the
    others move to candidates/ once their verdicts are in."""
    from glm_image_cli.core.runner import Stage

    unit: WorkUnit = event.unit
    label = unit.item.stem(unit.sample)
    if event.stage is Stage.REQUESTING:
        progress.started(unit.key, label)
    elif event.stage in (Stage.SAVED, Stage.FAILED) and event.outcome is not None:
        outcome = event.outcome
        if outcome.error is None:
            from glm_image_cli.cli.console import describe_content_filter
            from glm_image_cli.storage.files import display_path

            levels = describe_content_filter(outcome.content_filter)
            detail = (display_path(outcome.path) + (f" ({levels})" if levels else "")) if outcome.path else ""
        elif outcome.error.account_wide:
            detail = outcome.error.code  # said once, in full, by the summary
        else:
            detail = str(outcome.error)
        saved = str(outcome.path) if outcome.path is not None and not state.json_mode and not paths_later else None
        progress.finished_one(unit.key, label, outcome.error is None, detail, outcome.seconds, path=saved)
        if state.json_mode:
            from glm_image_cli.core.batch import item_record

            state.ui().emit_json_line(item_record(outcome))
    elif event.stage is Stage.QUEUED:
        progress.queued(unit.key)
    elif event.stage is Stage.RETRYING:
        from glm_image_cli.cli.console import describe_retry

        progress.retrying(unit.key, label, describe_retry(event))


def _print_summary(state: RunState, summary: BatchSummary, images_by_model: Counter[str]) -> None:
    ui = state.ui()
    if state.quiet:  # -q: results and errors only; the exit code and the error lines still tell what failed
        return
    rows = [[render("summary_done"), str(summary.done)], [render("summary_skipped"), str(summary.skipped)]]
    if summary.failed:
        rows.append([render("summary_failed"), str(summary.failed)])
        rows += [[render("summary_failed_code", code=code), str(count)]
                 for code, count in sorted(summary.failures_by_code.items())]
    if summary.uncertain:
        rows.append([render("summary_uncertain"), str(summary.uncertain)])
    if summary.not_sent:
        rows.append([render("summary_not_sent"), str(summary.not_sent)])
    for model, limit in sorted(summary.limits.items()):
        if images_by_model[model] < 2 and not limit["refused"]:
            continue  # one image (or only a rewrite's chat call): how many ran at once says nothing
        value = render("summary_limit_value", limit=limit["limit"], refused=limit["refused"])
        if limit["account_limit"] is not None and limit["limit"] > limit["account_limit"]:
            # a probe: one call more than the account allowed when last refused, to see whether it was raised
            value = render("summary_limit_probing", limit=limit["limit"], account=limit["account_limit"],
                           refused=limit["refused"])
        elif limit["account_limit"] is not None:
            value = render("summary_limit_known", limit=limit["limit"], account=limit["account_limit"],
                           refused=limit["refused"])
        rows.append([render("summary_limit", model=model), value])
    rows.append([render("summary_wall"), f"{summary.seconds:.1f} s"])
    rows.append([render("summary_rate"), f"{summary.images_per_minute:.1f}"])
    ui.table(["", ""], rows, title=render("summary_title"), stream="stderr", show_header=False)
