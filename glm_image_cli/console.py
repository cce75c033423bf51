"""All terminal output goes through here: results on stdout, everything else on stderr.

Rich is used for colour and live progress only when stderr is a terminal and NO_COLOR is unset;
otherwise progress is plain lines (logs, CI, pipes).  User text (prompts, paths) is never parsed
as Rich markup.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from glm_image_cli.messages import render

if TYPE_CHECKING:
    from rich.console import Console

    from glm_image_cli.runner import Event, Stage


_STDOUT_LOCK = threading.Lock()


def color_allowed(stream: Any, no_color: bool) -> bool:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class Ui:
    """Console helper for one command run."""

    def __init__(self, *, quiet: bool = False, json_mode: bool = False, no_color: bool = False) -> None:
        self.quiet = quiet
        self.json_mode = json_mode
        self.no_color = no_color
        self.rich_stderr = color_allowed(sys.stderr, no_color)
        self._stderr: Console | None = None

    @property
    def stderr(self) -> Console:
        if self._stderr is None:
            from rich.console import Console

            self._stderr = Console(
                file=sys.stderr,
                stderr=True,
                highlight=False,
                markup=False,
                emoji=False,
                no_color=not self.rich_stderr,
                force_terminal=self.rich_stderr or None,
            )
        return self._stderr

    # -- stderr -------------------------------------------------------------------------------------
    def error(self, text: str) -> None:
        """One line, always shown (also with --quiet): what happened and what to do."""
        self._line(render("error_prefix") + text, "bold red")

    def warn(self, text: str) -> None:
        if not self.quiet:
            self._line(render("warning_prefix") + text, "yellow")

    def note(self, text: str) -> None:
        if not self.quiet:
            self._line(text, "dim")

    def _line(self, text: str, style: str) -> None:
        if self.rich_stderr:
            self.stderr.print(text, style=style, markup=False, highlight=False, soft_wrap=True)
        else:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    # -- stdout -------------------------------------------------------------------------------------
    def result(self, text: str) -> None:
        """A result line on stdout (a path, a value): what scripts read."""
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def emit_json(self, payload: Any) -> None:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        sys.stdout.flush()

    def emit_json_line(self, payload: Any) -> None:
        """One compact JSON object per line (JSON Lines), safe to call from worker threads."""
        with _STDOUT_LOCK:
            sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
            sys.stdout.flush()

    def table(self, columns: list[str], rows: list[list[str]], title: str | None = None,
              stream: str = "stdout", show_header: bool = True, no_wrap_columns: int = 1) -> None:
        """A table on stdout (a result) or stderr (a report), coloured only on a terminal."""
        from rich.console import Console
        from rich.table import Table

        target = sys.stderr if stream == "stderr" else sys.stdout
        console = Console(file=target, highlight=False, markup=False, emoji=False, soft_wrap=False,
                          no_color=not color_allowed(target, self.no_color))
        table = Table(title=title, show_lines=False, header_style="bold", show_header=show_header)
        for index, column in enumerate(columns):
            table.add_column(column, overflow="fold", no_wrap=index < no_wrap_columns)
        for row in rows:
            table.add_row(*row)
        console.print(table)

    def image_progress(self, total: int) -> ImageProgress:
        return ImageProgress(self, total)

    def batch_progress(self, total: int) -> BatchProgress:
        return BatchProgress(self, total)


def describe_content_filter(entries: Any) -> str:
    """'content filter: assistant 3' from the response's content_filter list ('' when absent)."""
    if not entries:
        return ""
    parts = [f"{e.get('role', '?')} {e.get('level', '?')}" for e in entries if isinstance(e, dict)]
    return render("content_filter_note", levels=", ".join(parts)) if parts else ""


class ImageProgress:
    """Progress of n images: a Rich live display on a terminal, else one plain line per change."""

    def __init__(self, ui: Ui, total: int) -> None:
        self.ui = ui
        self.total = total
        self._lock = threading.Lock()
        self._progress: Any = None
        self._tasks: dict[int, Any] = {}
        self._started: dict[int, float] = {}
        self._last_line: dict[int, str] = {}

    def __enter__(self) -> ImageProgress:
        if self.ui.rich_stderr and not self.ui.quiet:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(finished_text=" "),
                TextColumn("{task.fields[label]}", markup=False),
                TimeElapsedColumn(),
                TextColumn("{task.description}", markup=False),
                console=self.ui.stderr,
                transient=False,
            )
            self._progress.start()
            for index in range(1, self.total + 1):
                label = render("image_label", index=index, total=self.total)
                self._tasks[index] = self._progress.add_task(render("state_queued"), total=1, label=label,
                                                             start=False)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def event(self, event: Event) -> None:
        """Called from worker threads as each image moves along."""
        from glm_image_cli.runner import Stage

        index = event.unit.index
        with self._lock:
            if event.stage is Stage.REQUESTING:
                self._started.setdefault(index, time.monotonic())
            text = self._describe(event)
            if self._progress is not None:
                self._update_live(index, event.stage, text)
            elif event.stage is not Stage.QUEUED and not self.ui.quiet and self._last_line.get(index) != text:
                self._last_line[index] = text
                label = render("image_label", index=index, total=self.total)
                elapsed = time.monotonic() - self._started.get(index, time.monotonic())
                sys.stderr.write(f"{label} [{elapsed:5.1f}s] {text}\n")
                sys.stderr.flush()

    def _update_live(self, index: int, stage: Stage, text: str) -> None:
        from glm_image_cli.runner import Stage

        task = self._tasks[index]
        if stage is Stage.REQUESTING:
            self._progress.start_task(task)
        if stage in (Stage.SAVED, Stage.FAILED):
            mark = "✓ " if stage is Stage.SAVED else "✗ "
            self._progress.update(task, description=mark + text, completed=1)
            self._progress.stop_task(task)
        else:
            self._progress.update(task, description=text)

    @staticmethod
    def _describe(event: Event) -> str:
        from glm_image_cli.runner import Stage

        if event.stage is Stage.PROCESSING:
            return render("state_processing", task_status=event.task_status or "PROCESSING")
        if event.stage is Stage.RETRYING:
            return describe_retry(event)
        if event.stage is Stage.SAVED and event.outcome is not None:
            from glm_image_cli.output import display_path

            text = render("state_saved", path=display_path(event.outcome.path))
            levels = describe_content_filter(event.outcome.content_filter)
            return f"{text} ({levels})" if levels else text
        if event.stage is Stage.FAILED and event.outcome is not None and event.outcome.error is not None:
            return f"{render('state_failed')} ({event.outcome.error.code})"
        return render(f"state_{event.stage.value}")


def describe_retry(event: Event) -> str:
    """"Rate limited; retrying in 3 s (2/6)" for a RETRYING event."""
    return render("retrying", reason=event.reason or "", seconds=event.seconds, attempt=event.attempt,
                  max_attempts=event.max_attempts)


class BatchProgress:
    """One overall bar (done/total, failures, rate, ETA) plus a line per active item on a terminal;
    one plain line per finished image otherwise."""

    def __init__(self, ui: Ui, total: int) -> None:
        self.ui = ui
        self.total = total
        self.finished = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._progress: Any = None
        self._overall: Any = None
        self._active: dict[str, Any] = {}
        self._started = time.monotonic()

    def __enter__(self) -> BatchProgress:
        if self.ui.rich_stderr and not self.ui.quiet:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}", markup=False),
                BarColumn(bar_width=None),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}", markup=False),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.ui.stderr,
                transient=False,
                expand=True,
            )
            self._progress.start()
            self._overall = self._progress.add_task(render("batch_overall"), total=self.total, stats="")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            for task in self._active.values():
                self._progress.remove_task(task)
            self._progress.stop()

    def started(self, key: str, label: str) -> None:
        if self._progress is None:
            return
        with self._lock:
            self._active[key] = self._progress.add_task("  " + label, total=None, stats=render("state_requesting"))

    def update(self, key: str, text: str) -> None:
        with self._lock:
            if self._progress is not None and key in self._active:
                self._progress.update(self._active[key], stats=text)
            elif self._progress is None and not self.ui.quiet:
                sys.stderr.write(f"{text}\n")
                sys.stderr.flush()

    def finished_one(self, key: str, label: str, ok: bool, detail: str) -> None:
        with self._lock:
            self.finished += 1
            self.failed += 0 if ok else 1
            if self._progress is not None:
                task = self._active.pop(key, None)
                if task is not None:
                    self._progress.remove_task(task)
                if not ok:
                    self._progress.console.print(f"✗ {label}: {detail}", markup=False, highlight=False)
                self._progress.update(self._overall, completed=self.finished, stats=self._stats())
            elif not self.ui.quiet:
                mark = "✓" if ok else "✗"
                sys.stderr.write(f"[{self.finished}/{self.total}] {mark} {label}: {detail}\n")
                sys.stderr.flush()

    def _stats(self) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        done = self.finished - self.failed
        parts = [render("batch_rate", rate=done / elapsed * 60)]
        if self.failed:
            parts.insert(0, render("batch_failures", count=self.failed))
        return " • ".join(parts)
