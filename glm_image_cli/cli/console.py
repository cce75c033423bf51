"""All terminal output goes through here: results on stdout, everything else on stderr.

Rich is used for colour and live progress only when stderr is a terminal and colour is allowed (see
``terminal.Terminal``); otherwise progress is plain lines (logs, CI, pipes).  User text (prompts, paths) is
never parsed as Rich markup, and its control characters are shown, not obeyed (``terminal.visible``: a
recipe, an upstream's message or a prompt cannot retitle or clear the terminal).  Every line is written
through the invocation's ``terminal.Output``: printing never raises, and a closed stream (`| head`) is
noticed there, never taken for a failed image.
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

from glm_image_cli.cli.fitting import cell_len_of, fit_middle
from glm_image_cli.cli.terminal import CONTROL_CHARACTERS, Output, Terminal, visible
from glm_image_cli.messages import current_language, render

if TYPE_CHECKING:
    from rich.console import Console

    from glm_image_cli.core.runner import Event, Stage


BAR_WIDTH = 30  # the batch bar at its widest; MIN_BAR at its narrowest, before figures are left out
MIN_BAR = 10
STATS_ROOM = 36  # what the batch bar leaves for its figures before it is drawn narrower
CLOCK_WIDTH = 4  # "0:07"; longer runs push the line by a cell or three
RIGHT_MARGIN = 4  # cells left free at the right: the terminal's "^C" echo must not wrap a line
_STDOUT_LOCK = threading.Lock()  # whole lines on stdout, whichever worker thread prints


class Ui:
    """Console helper for one command run: the invocation's ``terminal`` facts and its ``output`` guard
    (each detected afresh when not given: a Ui made outside an invocation)."""

    def __init__(self, *, quiet: bool = False, json_mode: bool = False, no_color: bool = False,
                 terminal: Terminal | None = None, output: Output | None = None) -> None:
        self.quiet = quiet
        self.json_mode = json_mode
        self.no_color = no_color
        self.terminal = Terminal.detect() if terminal is None else terminal
        self.output = Output() if output is None else output
        self.rich_stderr = self.terminal.color_on("stderr", no_color)
        self._stderr: Console | None = None

    @property
    def stderr(self) -> Console:
        if self._stderr is None:
            from rich.console import Console

            self._stderr = Console(
                file=self.output.stream("stderr"),
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
        text = visible(text)
        if self.rich_stderr:
            self.stderr.print(text, style=style, markup=False, highlight=False, soft_wrap=True)
        else:
            self.output.line("stderr", text)

    # -- stdout -------------------------------------------------------------------------------------
    def result(self, text: str) -> None:
        """A result line on stdout (a path, a value): what scripts read."""
        self.stdout_line(text)

    def emit_json(self, payload: Any) -> None:
        self.stdout_line(self._json(payload, indent=2))

    def emit_json_line(self, payload: Any) -> None:
        """One compact JSON object per line (JSON Lines), safe to call from worker threads."""
        self.stdout_line(self._json(payload))

    def _json(self, payload: Any, indent: int | None = None) -> str:
        """Characters as they are, unless stdout's encoding (a GBK console) cannot take them: then JSON's own
        \\u escapes, so the output stays valid JSON (a backslash escape of Python's would not be)."""
        text = json.dumps(payload, ensure_ascii=False, indent=indent)
        try:
            text.encode(self.terminal.encoding)
        except (UnicodeEncodeError, LookupError):
            text = json.dumps(payload, ensure_ascii=True, indent=indent)
        return CONTROL_CHARACTERS.sub(lambda match: f"\\u{ord(match.group()):04x}", text)  # DEL, C1: JSON's escape

    def stdout_line(self, text: str) -> None:
        """One whole line on stdout, from any thread."""
        with _STDOUT_LOCK:
            self.output.line("stdout", visible(text))

    def table(self, columns: list[str], rows: list[list[str]], title: str | None = None,
              stream: str = "stdout", show_header: bool = True, no_wrap_columns: int = 1,
              whole: tuple[int, ...] = (), optional: tuple[int, ...] = ()) -> None:
        """A table on stdout (a result) or stderr (a report), coloured only on a terminal.

        Cells of the ``whole`` columns (paths, times, names) are never broken inside a word: the other
        columns wrap around them, and the ``optional`` columns are left out, in that order, while they do
        not fit the terminal.  Only a cell wider than the whole terminal is still folded."""
        from rich.cells import cell_len
        from rich.console import Console
        from rich.table import Table

        rows = [[visible(cell) if isinstance(cell, str) else cell for cell in row] for row in rows]
        title = None if title is None else visible(title)
        target = "stderr" if stream == "stderr" else "stdout"
        console = Console(file=self.output.stream(target), highlight=False, markup=False, emoji=False,
                          soft_wrap=False, no_color=not self.terminal.color_on(target, self.no_color))
        widths = [max(cell_len(text) for text in [column, *(row[i] for row in rows)])
                  for i, column in enumerate(columns)]
        kept = set(whole) | set(range(no_wrap_columns))

        def fits(shown: list[int]) -> bool:
            # unbroken columns at full width, wrapping ones at a readable 12 cells; 3 cells of padding and border each
            return sum(widths[i] if i in kept else min(12, widths[i]) for i in shown) + 3 * len(shown) + 1 \
                <= console.width

        shown = list(range(len(columns)))
        for index in optional:
            if fits(shown):
                break
            shown.remove(index)
        room = fits(shown)
        table = Table(title=title, show_lines=False, header_style="bold", show_header=show_header)
        for index in shown:
            unbroken = index < no_wrap_columns or (room and index in kept)
            table.add_column(columns[index], overflow="fold", no_wrap=unbroken,
                             min_width=widths[index] if unbroken and room else None)
        for row in rows:
            table.add_row(*(row[index] for index in shown))
        console.print(table)

    def image_progress(self, total: int) -> ImageProgress:
        return ImageProgress(self, total)

    def batch_progress(self, total: int) -> BatchProgress:
        return BatchProgress(self, total)


def describe_content_filter(entries: Any) -> str:
    """'content review flagged the image: mild' from the response's content_filter list, or '' when it says
    nothing worth a word: levels run from 0 (most severe) to 3, and 3 (nothing found) is on every normal image."""
    if not isinstance(entries, list):
        return ""
    parts = []
    for entry in entries:
        level = entry.get("level") if isinstance(entry, dict) else None
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 2:
            continue
        role = str(entry.get("role", ""))
        what = render(f"content_filter_{role}") if role in ("assistant", "user", "history") else role or "?"
        parts.append(render("content_filter_flagged", what=what, severity=render(f"content_filter_level_{level}")))
    return render("list_separator").join(dict.fromkeys(parts))


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
            from rich.progress import Progress, ProgressColumn, SpinnerColumn
            from rich.table import Column
            from rich.text import Text as RichText

            labels = [render("image_label", index=index, total=self.total) for index in range(1, self.total + 1)]
            label_width = max(cell_len_of(label) for label in labels)
            owner = self

            class LabelColumn(ProgressColumn):  # never cut: it is short, and says which image the row is
                def render(self, task: Any) -> RichText:
                    label = task.fields["label"]
                    return RichText(label + " " * (label_width - cell_len_of(label)))

            class ClockColumn(ProgressColumn):  # 0:07, not 0:00:07: three cells more for the words
                def render(self, task: Any) -> RichText:
                    seconds = task.finished_time if task.finished else task.elapsed
                    return RichText(("-:--" if seconds is None else _clock(seconds)).rjust(CLOCK_WIDTH))

            class StateColumn(ProgressColumn):  # cut in the middle, so a path keeps its folder and its end
                def render(self, task: Any) -> RichText:
                    width = owner._progress.console.width if owner._progress is not None else 80
                    room = width - 1 - label_width - CLOCK_WIDTH - 3 - RIGHT_MARGIN
                    return RichText(fit_middle(task.description, room))

            self._progress = Progress(
                SpinnerColumn(finished_text=" "),
                LabelColumn(table_column=Column(no_wrap=True)),
                ClockColumn(table_column=Column(no_wrap=True)),
                StateColumn(table_column=Column(no_wrap=True)),
                console=self.ui.stderr,
                transient=False,
            )
            self._progress.start()
            for index, label in enumerate(labels, start=1):
                self._tasks[index] = self._progress.add_task(render("state_queued"), total=1, label=label,
                                                             start=False)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            with self._lock:  # a stop or Ctrl-C left some never sent: the last screen says so, not "waiting"
                for index, task in self._tasks.items():
                    if index not in self._started:
                        self._progress.start_task(task)  # a finished task shows no spinner
                        self._progress.update(task, description=render("state_not_sent"), completed=1)
            self._progress.stop()

    def event(self, event: Event) -> None:
        """Called from worker threads as each image moves along."""
        from glm_image_cli.core.runner import Stage

        index = event.unit.index
        with self._lock:
            if event.stage is Stage.REQUESTING:
                self._started.setdefault(index, time.monotonic())
            text = visible(self._describe(event))
            if self._progress is not None:
                self._update_live(index, event.stage, text)
            elif event.stage is not Stage.QUEUED and not self.ui.quiet and self._last_line.get(index) != text:
                self._last_line[index] = text
                label = render("image_label", index=index, total=self.total)
                elapsed = time.monotonic() - self._started.get(index, time.monotonic())
                self.ui.output.line("stderr", f"{label} [{elapsed:5.1f}s] {text}")

    def _update_live(self, index: int, stage: Stage, text: str) -> None:
        from glm_image_cli.core.runner import Stage

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
        from glm_image_cli.core.runner import Stage

        if event.stage is Stage.PROCESSING:
            return render("state_processing", task_status=event.task_status or "PROCESSING")
        if event.stage is Stage.RETRYING:
            return describe_retry(event)
        if event.stage is Stage.SAVED and event.outcome is not None:
            from glm_image_cli.storage.files import display_path

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
    """A batch's progress.  On a terminal: one overall line (bar, done/total, failures, calls in flight,
    images per minute, time left) over the last few finished images, redrawn in place and cleared when the
    run ends or is interrupted; failures are also printed for good above it.  Elsewhere (a pipe, a log,
    NO_COLOR): one plain line per finished image and per retry."""

    RECENT = 4  # finished images shown under the bar
    NOTICE_SECONDS = 15.0  # how long a retry notice stays under the bar

    def __init__(self, ui: Ui, total: int, label_width: int = 32) -> None:
        self.ui = ui
        self.total = total
        self.finished = 0
        self.failed = 0
        self.label_width = max(8, min(label_width, 40))
        self._lock = threading.RLock()
        self._progress: Any = None
        self._overall: Any = None
        self._in_flight: set[str] = set()
        self._recent: list[tuple[bool, str, str, str]] = []  # (ok, label, seconds, detail)
        self._notice: tuple[float, str, str] | None = None  # (when, label, text) of the latest retry
        self._started = time.monotonic()
        self._lang = current_language()  # Rich's refresh thread draws the figures: not in this invocation's context

    # -- the live display --------------------------------------------------------------------------
    def __enter__(self) -> BatchProgress:
        # A pipe's reader may print the saved paths on this terminal (`| cat`, `| tee`): its lines would land in
        # the middle of a display redrawn in place, and the redraw would erase them.  Whole lines then.
        if self.ui.rich_stderr and not self.ui.quiet and not self.ui.terminal.stdout_pipe:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn
            from rich.table import Column
            from rich.text import Text as RichText

            owner = self

            class FitBarColumn(BarColumn):  # as wide as the line leaves room for, never wrapping it
                def render(self, task: Any) -> Any:
                    self.bar_width = owner._layout(task)[0]
                    return super().render(task)

            class StatsColumn(ProgressColumn):
                def render(self, task: Any) -> RichText:
                    stats = owner._layout(task)[1]
                    return RichText("• " + stats if stats else "", style="dim")

            class LiveProgress(Progress):
                def get_renderables(self) -> Any:
                    yield self.make_tasks_table(self.tasks)
                    yield owner._recent_lines()

            # Saved paths go to stdout as they are made: through the display only when stdout is this terminal
            # too, never into a pipe's place (`glm-image batch p.txt | xargs …` reads them).
            stdout_here = self.ui.terminal.stdout_tty
            self._progress = LiveProgress(
                TextColumn("{task.description}", markup=False),
                FitBarColumn(bar_width=BAR_WIDTH),
                MofNCompleteColumn(),
                StatsColumn(table_column=Column(no_wrap=True)),
                console=self.ui.stderr,
                transient=True,
                redirect_stdout=stdout_here,
                refresh_per_second=4,
            )
            self._progress.start()
            self._overall = self._progress.add_task(render("batch_overall"), total=self.total)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop_live()

    def _stop_live(self) -> None:
        with self._lock:
            progress, self._progress = self._progress, None
        if progress is not None:
            progress.stop()

    def interrupted(self) -> None:
        """Ctrl-C: the display goes (nothing stale stays on screen); what still finishes is printed as plain
        lines under the drain message that follows."""
        self._stop_live()

    @property
    def live(self) -> bool:
        return self._progress is not None

    # -- events (from worker threads) ------------------------------------------------------------
    # Rich is never called while self._lock is held: its refresh thread holds its own locks while it asks
    # _stats and _recent_lines for the picture, which read plain attributes replaced whole, never the lock.
    def started(self, key: str, label: str) -> None:
        with self._lock:
            self._in_flight = self._in_flight | {key}

    def queued(self, key: str) -> None:
        """Back in the queue (refused for concurrency, not billed): no longer counted in flight."""
        with self._lock:
            self._in_flight = self._in_flight - {key}

    def retrying(self, key: str, label: str, text: str) -> None:
        label, text = visible(label), visible(text)
        if self._progress is not None:
            self._notice = (time.monotonic(), label, text)
        elif not self.ui.quiet:
            with self._lock:
                self.ui.output.line("stderr", f"{label}: {text}")

    def finished_one(self, key: str, label: str, ok: bool, detail: str, seconds: float = 0.0,
                     path: str | None = None) -> None:
        """One image is done.  ``path`` (saved images, without --json) goes to stdout, one per line."""
        label, detail = visible(label), visible(detail)
        if path is not None:
            self.ui.stdout_line(path)
        with self._lock:
            self.finished += 1
            self.failed += 0 if ok else 1
            finished = self.finished
            self._in_flight = self._in_flight - {key}
            progress = self._progress
            if progress is not None:
                self._recent = [*self._recent, (ok, label, f"{seconds:.1f}s" if seconds else "", detail)][-self.RECENT:]
            elif not self.ui.quiet:
                mark = "✓" if ok else "✗"
                timing = f" ({seconds:.1f}s)" if ok and seconds else ""
                if path is not None and ok and self._same_terminal():
                    detail = ""  # the path was just printed on this terminal by stdout
                text = f"{label}: {detail}{timing}" if detail else f"{label}{timing}"
                self.ui.output.line("stderr", f"[{finished}/{self.total}] {mark} {text}")
        if progress is not None:
            progress.update(self._overall, completed=self.finished)  # the latest count, whichever thread is last
            if not ok:
                progress.console.print(f"✗ {label}: {detail}", markup=False, highlight=False, style="red")

    def _same_terminal(self) -> bool:
        return self.ui.terminal.stdout_may_share_terminal()

    # -- what the live display shows ---------------------------------------------------------------
    def _stats(self) -> str:
        """All the figures, as the widest line shows them."""
        return " • ".join(self._figures())

    def _figures(self) -> list[str]:
        """The figures after the bar, most important first (what goes last is left out first on a narrow line)."""
        elapsed = max(time.monotonic() - self._started, 1e-6)
        done = self.finished - self.failed
        parts = []
        if self.failed:
            parts.append(render("batch_failures", lang=self._lang, count=self.failed))
        left = self.total - self.finished
        if self.finished and left:
            parts.append(render("batch_eta", lang=self._lang, time=_clock(left * elapsed / self.finished)))
        if self._in_flight:
            parts.append(render("batch_in_flight", lang=self._lang, count=len(self._in_flight)))
        parts.append(_clock(elapsed))
        parts.append(render("batch_rate", lang=self._lang, rate=done / elapsed * 60))
        return parts

    def _layout(self, task: Any) -> tuple[int, str]:
        """(bar width, figures) for one line that fits the terminal.  The bar's width depends on the terminal
        only (it does not jump as figures come and go); the figures that do not fit go, least important first:
        the failures and the time left stay longest."""
        from rich.cells import cell_len

        width = self._progress.console.width if self._progress is not None else 80
        counts = 2 * len(str(self.total)) + 1  # "12/40"
        room = width - RIGHT_MARGIN - cell_len(str(task.description)) - counts - 3  # three gaps between columns
        bar = max(MIN_BAR, min(BAR_WIDTH, room - STATS_ROOM))
        parts = self._figures()
        while parts and cell_len(" • ".join(parts)) + 2 > room - bar:  # "• " before them
            parts = parts[:-1]
        return max(1, min(bar, room)), " • ".join(parts)

    def _recent_lines(self) -> Any:
        from rich.table import Table

        # Fixed columns, so nothing moves with a name's length; only the detail is cut to fit.  A few cells are
        # left free at the right: the terminal's "^C" echo must not wrap a line, or clearing the display on
        # Ctrl-C would miss its first line.
        width = self._progress.console.width if self._progress is not None else 80
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.width = max(20, width - 4)
        grid.add_column(width=1, min_width=1, no_wrap=True)  # gutter
        grid.add_column(width=1, min_width=1, no_wrap=True)  # ✓ / ✗
        grid.add_column(width=self.label_width, min_width=self.label_width, no_wrap=True, overflow="ellipsis")
        grid.add_column(width=6, min_width=6, justify="right", no_wrap=True)
        grid.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        recent, notice = self._recent, self._notice
        for ok, label, seconds, detail in recent:
            grid.add_row("", "✓" if ok else "✗", label, seconds, detail,
                         style=None if ok else "red")
        if notice is not None and time.monotonic() - notice[0] < self.NOTICE_SECONDS:
            grid.add_row("", "↻", notice[1], "", notice[2], style="yellow")
        return grid


def _clock(seconds: float) -> str:
    """0:07, 12:34, 1:02:03."""
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
