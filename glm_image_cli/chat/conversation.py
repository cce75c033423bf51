"""`glm-image chat`: make and refine images by talking.  The session logic lives here, apart from any terminal:
``ChatSession.handle(line)`` takes one typed line (a turn or a slash command) and talks back through a
``ChatIO``, so tests drive it with scripted lines.  The terminal part (readline, history file, TAB completion)
is chat/promptline.py (``read_lines``/``install_readline``); the command is ``commands/chat_cmd.py``.

A turn: (with enhancement on) the chat model rewrites the line *with the conversation so far* — the earlier
lines and the descriptions written for them — so "更红一些" changes the previous picture instead of starting
over; then the images are made by the one engine (``runner.Runner`` with ``SaveImages``), saved, recorded in
the history and the spend ledger, and previewed or listed.  Consent is asked per turn (above
``confirm-above``).  Failures end the turn with one line; only an account-wide failure of the key or balance
(and a missing key) ends the session, with the usual message and exit code.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from glm_image_cli.chat.promptline import open_in_viewer
from glm_image_cli.core.enhance import (
    Rewrite,
    _style_hint,
    answer_text,
    clean_answer,
    enhance_prompt,
    family_of,
    recipe_for,
    request_id_of,
)
from glm_image_cli.errors import ExitCode, GlmImageError, UpstreamFailure, UsageError
from glm_image_cli.messages import render

if TYPE_CHECKING:
    from glm_image_cli.backends.bigmodel import BigModelClient
    from glm_image_cli.core.ledger import Spending
    from glm_image_cli.core.results import Run
    from glm_image_cli.core.styles import Style
    from glm_image_cli.storage.config import ResolvedConfig

MAX_CONVERSATION = 6  # earlier turns the chat model sees (older ones no longer matter to the picture)
# Failures that end the session: nothing else can succeed until the user acts (key, account, balance).
ENDING_EXIT_CODES = frozenset({ExitCode.AUTH, ExitCode.QUOTA, ExitCode.CONFIG})


# --- the conversation-aware rewrite -----------------------------------------------------------------------

_REFINE_SYSTEM = (
    "You and the user are working on one picture together, for a text-to-image model. 你和用户一起打磨一张图。\n"
    "Earlier in this conversation the user said what they wanted and you answered each time with the full "
    "description of the picture. Now the user writes again. If the new message changes the current picture "
    "(for example \"make it redder\", \"the sky darker\", \"watercolour instead\", \"更红一些\", \"换成水彩\"), "
    "take your last description, apply exactly that change and keep everything else as it was. If the message "
    "is clearly a new, unrelated idea, write a fresh description for it instead.\n"
    "Write in the language of the user's first idea unless they ask for another. Describe only what can be "
    "seen: subject, action, medium, style, details, colours, light.\n"
    "Reply with the complete new description only: no comments on what you changed, no title, no list, no "
    "quotation marks. 只输出完整的新描述本身，不要解释改动。"
)


@dataclass
class Exchange:
    """One turn of the conversation the chat model sees: what the user typed and the description it got."""

    typed: str
    prompt: str  # the description the images were made from (the rewrite, or the typed line)
    rewritten: bool = True


def refine_messages(conversation: Sequence[Exchange], line: str, image_model: str,
                    style: Style | None = None) -> tuple[list[dict[str, str]], str]:
    """(chat messages, recipe family) to rewrite ``line`` in the light of the conversation so far."""
    family = family_of(image_model)
    messages = [{"role": "system", "content": _REFINE_SYSTEM}]
    for exchange in list(conversation)[-MAX_CONVERSATION:]:
        messages += [{"role": "user", "content": exchange.typed}, {"role": "assistant", "content": exchange.prompt}]
    messages.append({"role": "user", "content": line.strip() + _style_hint(style, line)})
    return messages, family


def refine_prompt(client: BigModelClient, conversation: Sequence[Exchange], line: str, *, image_model: str,
                  style: Style | None = None, enhance_model: str, spending: Spending | None = None) -> Rewrite:
    """The rewrite of ``line``: with no conversation yet, the usual enhancement (recipe and cache); after that,
    one chat call that sees the earlier lines and descriptions, so a change refines the last picture.
    Refinements are not cached (they depend on the whole conversation)."""
    if not conversation:
        return enhance_prompt(client, line, image_model=image_model, style=style, enhance_model=enhance_model,
                              spending=spending)
    messages, family = refine_messages(conversation, line, image_model, style)
    recipe = recipe_for(line, image_model, style)  # the family's sampling parameters
    body = {"model": enhance_model, "messages": messages, "temperature": recipe.temperature, "top_p": recipe.top_p,
            "max_tokens": recipe.max_tokens}
    with spending.call(enhance_model) if spending is not None else contextlib.nullcontext():
        payload = client.chat_completion(body)
    text = clean_answer(answer_text(payload), family)
    if not text:
        raise UpstreamFailure("bad_response", detail="the chat answer is empty", request_id=request_id_of(payload))
    return Rewrite(line.strip(), text, enhance_model, family, cached=False)


# --- talking to the user ----------------------------------------------------------------------------------

class ChatIO(Protocol):
    """Where the session's words go and how it asks (the terminal's is glm_image_cli.cli.chatio.TerminalChatIO)."""

    interactive: bool
    yes: bool

    def result(self, text: str) -> None: ...

    def note(self, text: str) -> None: ...

    def warn(self, text: str) -> None: ...

    def error(self, text: str) -> None: ...

    def confirm(self, question: str) -> bool: ...

    def preview(self, state: Any, cfg: ResolvedConfig, paths: list[Path]) -> None: ...


@dataclass
class TurnRecord:
    typed: str
    prompt: str
    images: list[Path] = field(default_factory=list)
    failed: int = 0
    cost: float = 0.0


class SessionEnded(Exception):
    """/quit."""


@dataclass
class ChatSession:
    """The state of one chat: current settings, the conversation, what was made and spent."""

    state: Any  # RunState: language, --json/--quiet for the Ui and the preview
    io: ChatIO
    model: str | None = None
    style: str | None = None
    size: str | None = None
    samples: int = 1
    enhance: bool = True
    negative: str | None = None  # /negative: what the pictures should not show
    check: bool = False  # /check on: each image judged by the vision model (its verdict shown after the path)
    output_dir: Path | None = None
    # What the saver noticed (kept formats, history trouble).  Ctrl-C is drained by the Studio; a second one
    # raises Abandoned out of the session.
    saver_notes: Callable[[Any], None] | None = None

    def __post_init__(self) -> None:
        from glm_image_cli.storage.config import load_config

        self.conversation: list[Exchange] = []
        self.turns: list[TurnRecord] = []
        self.cfg = load_config(flags=self._flags())
        self.model = self.model or self.cfg.model
        self.size = self.size or self.cfg.size
        self.style = self.style or self.cfg.style
        self.total = 0.0
        self.currency = "USD" if self.cfg.region == "intl" else "CNY"
        from glm_image_cli.core.session import require_api_key

        require_api_key(self.cfg)  # no key: the usual message before the first prompt
        try:
            self._check(self.model, self.size, self.style, self.samples)
        except UsageError as error:  # a size or style from the config file is named as the file's (exit 3)
            from glm_image_cli.core.settingcheck import settings_fault

            raise settings_fault(self.cfg, error, {}) from None

    # -- the loop -------------------------------------------------------------------------------------

    def welcome(self) -> None:
        self.io.note(render("chat_welcome", model=self.model, size=self.size or "-", n=self.samples,
                            style=self.style or "-", enhance=self._on_off(self.enhance)))

    def run(self, lines: Iterable[str]) -> int:
        """Every line until the input ends or /quit; then the summary.  Returns the exit code (0), or raises
        the failure that ended the session."""
        self.welcome()
        try:
            for line in lines:
                # stdout or stderr found closed (`| head`): the reader went away, no more turns
                if not self.handle(line) or self.state.output.closed is not None:
                    break
        finally:
            self.summary()
        return 0

    def handle(self, line: str) -> bool:
        """One line: a slash command or a turn.  False when the session should end."""
        line = line.strip()
        if not line:
            return True
        try:
            if line.startswith("/"):
                return self.command(line)
            self.turn(line)
        except GlmImageError as error:
            if error.exit_code in ENDING_EXIT_CODES:
                raise
            self.io.error(str(error))
        except KeyboardInterrupt:  # Ctrl-C before anything was sent (or while asking): back to the prompt
            self.io.warn(render("chat_cancelled"))
        return True

    def summary(self) -> None:
        images = sum(len(turn.images) for turn in self.turns)
        self.io.note(render("chat_summary", turns=len(self.turns), images=images, cost=self.total,
                            currency=self.currency))

    # -- slash commands -------------------------------------------------------------------------------

    def command(self, line: str) -> bool:
        name, _, rest = line.partition(" ")
        name, value = name.lower(), rest.strip()
        if name in ("/quit", "/exit", "/q"):
            return False
        if name == "/help":
            self.io.note(render("chat_help"))
        elif name == "/n":
            # ASCII digits only, and few of them: "²" is a digit to str.isdigit but not to int(), and int() refuses
            # thousands of digits; either would end the session instead of saying what /n takes.
            number = int(value) if re.fullmatch(r"[0-9]{1,6}", value) else 0
            if number < 1:
                raise UsageError("chat_bad_value", name="/n", expected="N (1, 2, …)")
            self._check(self.model, self.size, self.style, number)
            self.samples = number
            self._said("n", number)
        elif name == "/style":
            if not value:
                raise UsageError("chat_bad_value", name="/style", expected="NAME")
            style = None if value.lower() in ("none", "off", "-") else value
            self._check(self.model, self.size, style, self.samples)
            self.style = style
            self._said("style", style or "-")
        elif name == "/size":
            if not value:
                raise UsageError("chat_bad_value", name="/size", expected="WxH")
            self._check(self.model, value, self.style, self.samples)
            self.size = value
            self._said("size", value)
        elif name == "/model":
            if not value:
                raise UsageError("chat_bad_value", name="/model", expected="MODEL")
            self._check(value, self.size, self.style, self.samples)
            self.model = value
            self._said("model", value)
        elif name == "/negative":
            if not value:
                raise UsageError("chat_bad_value", name="/negative", expected="TEXT | none")
            self.negative = None if value.lower() in ("none", "off", "-") else value
            self._said("negative", self.negative or "-")
        elif name == "/enhance":
            if value.lower() not in ("on", "off"):
                raise UsageError("chat_bad_value", name="/enhance", expected="on | off")
            self.enhance = value.lower() == "on"
            self._said("enhance", self._on_off(self.enhance))
        elif name == "/check":
            if value.lower() not in ("on", "off"):
                raise UsageError("chat_bad_value", name="/check", expected="on | off")
            self.check = value.lower() == "on"
            self._said("check", self._on_off(self.check))
        elif name == "/again":
            if not self.conversation:
                raise UsageError("chat_no_prompt")
            last = self.conversation[-1]
            self._make(last.typed, last.prompt if last.rewritten else None)
        elif name == "/undo":
            if len(self.conversation) < 2:
                self.conversation.clear()
                self.io.note(render("chat_undo_empty"))
            else:
                self.conversation.pop()
                self.io.note(render("chat_undo", prompt=self.conversation[-1].prompt))
        elif name == "/prompt":
            if not self.conversation:
                raise UsageError("chat_no_prompt")
            self.io.result(self.conversation[-1].prompt)
        elif name == "/history":
            if not self.turns:
                self.io.note(render("chat_history_empty"))
            for number, turn in enumerate(self.turns, 1):
                self.io.result(render("chat_history_line", number=number, typed=turn.typed, images=len(turn.images),
                                      prompt=_short(turn.prompt)))
        elif name == "/open":
            self.open_last()
        else:
            raise UsageError("chat_unknown_command", name=name)
        return True

    def open_last(self) -> None:
        last = next((turn.images[-1] for turn in reversed(self.turns) if turn.images), None)
        if last is None:
            raise UsageError("chat_no_image")
        if open_in_viewer(last, display=self.state.terminal.display):
            self.io.note(render("chat_opened", path=str(last)))
        else:
            self.io.warn(render("chat_no_viewer", path=str(last)))

    # -- a turn -----------------------------------------------------------------------------------------

    def turn(self, line: str) -> None:
        self._make(line, None, rewrite=self.enhance)

    def _make(self, typed: str, prompt: str | None, *, rewrite: bool = False) -> None:
        """Make the images of one turn through the library API: ``prompt`` is a description already written
        (/again), else the line is rewritten (``rewrite``: the recipe on the first turn, then a refinement that
        sees the conversation) or sent as typed."""
        from glm_image_cli.core.consent import always
        from glm_image_cli.core.plans import with_enhancement
        from glm_image_cli.core.results import Cancel
        from glm_image_cli.core.studio import Studio
        from glm_image_cli.errors import SpendDeclined

        with Studio.from_config(overrides={**self._flags(), "enhance": rewrite}, lang=self.state.lang,
                                command="chat") as studio:
            plan = studio.plan(typed, style=self.style, no_style=self.style is None, negative=self.negative,
                               samples=self.samples)
            if prompt is not None:  # /again: the description is already written, no chat call
                plan = with_enhancement(plan, prompt, studio.settings.enhance_model if rewrite else None)
            for warning in studio.warnings:
                self.io.warn(str(warning))
            refine = refine_messages(self.conversation, typed, plan.model, plan.style)[0] \
                if rewrite and self.conversation else None
            consent = always if self.io.yes else (self._ask if self.io.interactive else None)
            try:
                job = studio.prepare(plan, output_dir=self.output_dir, enhance=rewrite and prompt is None,
                                     consent=consent, refine=refine, on_notice=self._notice, vision=self._vision())
            except SpendDeclined as declined:
                self.io.note(str(declined))
                return
            except GlmImageError as error:
                if getattr(error, "during", None) == "enhance":
                    self.io.error(render("enhance_failed", model=studio.settings.enhance_model))
                raise
            except KeyboardInterrupt:  # Ctrl-C while the rewrite was asked for: no image was requested
                self.io.warn(render("chat_cancelled"))
                return
            with job:
                sent = job.plans[0]
                rewritten = prompt is not None or sent.enhanced_prompt is not None
                record = TurnRecord(typed, sent.enhanced_prompt or typed)
                cancel = Cancel()  # `| head`: send no more, keep what is in flight
                with self.state.ui().image_progress(job.images) as progress, \
                        self.state.output.calling_on_close(cancel.cancel):
                    run = job.run(on_event=progress.event, on_notice=self._notice, cancel=cancel)
        if run.interrupted:
            self.io.warn(render("chat_cancelled"))
        if self.saver_notes is not None:
            self.saver_notes(run.saver)
        self._settle(record, run, rewritten)
        halted = run.halted_by
        if halted is not None and halted.exit_code in ENDING_EXIT_CODES:
            raise halted

    def _vision(self) -> Any:
        if not self.check:
            return None
        from glm_image_cli.core.bestof import VisionSetup
        from glm_image_cli.core.checks import CheckOptions

        return VisionSetup(CheckOptions(check=True))

    def _notice(self, notice: Any) -> None:
        (self.io.warn if notice.level == "warning" else self.io.note)(str(notice))

    def _ask(self, estimate: Any) -> bool:
        """The spend question for this turn, asked through the session's I/O."""
        from glm_image_cli.core.consent import question

        return self.io.confirm(str(question(estimate)))

    def _settle(self, record: TurnRecord, run: Run, rewritten: bool) -> None:
        """Paths (or the preview), one line per failure, the turn's and the session's estimated spend."""
        shown: set[str] = set()
        for outcome in run.outcomes:
            if outcome.path is not None:
                record.images.append(Path(outcome.path))
                self.io.result(str(outcome.path))
            elif outcome.error is not None:
                record.failed += 1
                text = str(outcome.error)
                if text not in shown:
                    shown.add(text)
                    self.io.error(text)
        record.cost = sum(result.cost or 0.0 for result in run)  # the ledger's estimate of what may be billed
        self.total += record.cost
        self.turns.append(record)
        if record.images:  # a picture to refine: it joins the conversation
            self.conversation.append(Exchange(record.typed, record.prompt, rewritten))
            self.io.preview(self.state, self.cfg, record.images)
        self.io.note(render("chat_turn_total", cost=record.cost, total=self.total, currency=self.currency))

    # -- helpers ----------------------------------------------------------------------------------------

    def _flags(self) -> dict[str, Any]:
        return {"model": self.model, "size": self.size, "style": self.style,
                "output-dir": str(self.output_dir) if self.output_dir else None}

    def _check(self, model: str | None, size: str | None, style: str | None, samples: int) -> None:
        """A setting is checked when it is typed (UsageError: it is not changed)."""
        from glm_image_cli.backends.registry import backend_named
        from glm_image_cli.core.plans import plan_generation

        plan_generation("x", model=model or self.cfg.model, size=size, style=style, samples=samples,
                        user_styles=self.cfg.user_styles, backend=backend_named(self.cfg.backend))

    def _said(self, name: str, value: Any) -> None:
        self.io.note(render("chat_set", name=name, value=value))

    @staticmethod
    def _on_off(value: bool) -> str:
        return "on" if value else "off"


def _short(text: str, limit: int = 80) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
