"""The library API: one object that owns the whole use case of making images.

    from glm_image_cli import Studio
    with Studio.from_config() as studio:          # the CLI's own settings: file, environment, profile
        plan = studio.plan("一只橘猫", style="卡通", samples=2)
        print(studio.estimate(plan))              # nothing is sent
        for result in studio.generate(plan, output_dir="out"):
            print(result.path, result.error)

``generate`` validates, prices, asks (through the caller's ``consent``), holds the budget, rewrites (--enhance,
through the same runner as images), runs, drains after Ctrl-C, and records the ledger and the history.  The CLI,
chat, serve and the MCP server are adapters over it: they turn their input into plans and its events and notices
into their own output.  It never prints, never reads the environment (``from_config`` reads it once, or takes
``environ``), never asks a terminal and never exits: everything it needs is passed in.  What it gives back (Run,
Result, Notice, ...) is defined in results.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.core.consent import Consent, Estimate, check_consent, estimate_run
from glm_image_cli.core.results import Abandoned, Cancel, ErrorInfo, Notice, Result, Run
from glm_image_cli.errors import UsageError
from glm_image_cli.messages import Text

if TYPE_CHECKING:
    from glm_image_cli.backends.base import Backend
    from glm_image_cli.backends.bigmodel import BigModelClient, GeneratedImage
    from glm_image_cli.core.batch import Selection
    from glm_image_cli.core.batchapi import BatchApi
    from glm_image_cli.core.bestof import VisionSetup
    from glm_image_cli.core.comparerun import CompareRun
    from glm_image_cli.core.ledger import RunSpend, Spending
    from glm_image_cli.core.limits import Limiter
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.runner import Delivery, Event, ImageOutcome, Journal, Runner
    from glm_image_cli.storage.config import ResolvedConfig
    from glm_image_cli.storage.saving import ImageSaver


def _ignore(_: Any) -> None:
    return None


from glm_image_cli.core.job import Job  # noqa: E402  (the prepared run Studio.prepare hands back)

Review = Callable[["GenerationPlan", str], str]  # --review: the rewrite as the user accepts or edits it


from glm_image_cli.core.studiovision import VisionMethods  # noqa: E402  (check, caption: core/studiovision.py)


class Studio(VisionMethods):
    """Makes images from settings.  One per process is enough (serve shares one across requests: one HTTP
    client, one limiter per model, one ledger); ``close()`` or ``with`` at the end."""

    def __init__(self, settings: ResolvedConfig, *, lang: str = "en", command: str = "api",
                 retry_unsafe: bool = False, client: BigModelClient | None = None, limiter: Limiter | None = None,
                 spending: Spending | None = None) -> None:
        """``client``, ``limiter`` and ``spending`` replace the ones made from the settings (an HTTP client with
        other timeouts or connections, a limiter capped by a server, a ledger with other budgets); a client
        passed in stays open (its owner closes it)."""
        self.settings = settings
        self.lang = lang
        self.command = command  # the ledger's and the history's name for the caller: generate, chat, serve...
        self.retry_unsafe = retry_unsafe
        self._own_client = client is None
        self._client: BigModelClient | None = client
        self._limiter: Limiter | None = limiter
        self._spending: Spending | None = spending
        self._lock = threading.Lock()

    # -- construction ----------------------------------------------------------------------------------------

    @classmethod
    def from_config(cls, *, overrides: Mapping[str, Any] | None = None, profile: str | None = None,
                    environ: Mapping[str, str] | None = None, config_file: Path | None = None,
                    flag_names: Mapping[str, str] | None = None, lang: str = "en", command: str = "api",
                    retry_unsafe: bool = False, **parts: Any) -> Studio:
        """The same settings the CLI uses: the config file, the environment (``environ``; None reads
        ``os.environ`` here, once), the profile, and ``overrides`` keyed by setting name (``{"model":
        "cogview-4", "output-dir": "out"}``) the way flags override the rest.  ``parts``: as for the constructor."""
        from glm_image_cli.storage.config import load_config, lookup_setting

        # "budget_daily" is "budget-daily"; a name no setting has is an error, never silently ignored
        flags = {lookup_setting(str(key)).key: value for key, value in (overrides or {}).items()}
        # A bad value names what the caller wrote: the library's overrides[...], a front end's own flag names
        names = flag_names if flag_names is not None or command != "api" else \
            {key: f"overrides[{key!r}]" for key in flags}
        settings = load_config(flags=flags, environ=environ, path=config_file, flag_names=names, profile=profile)
        return cls(settings, lang=lang, command=command, retry_unsafe=retry_unsafe, **parts)

    def __enter__(self) -> Studio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            client, self._client = (self._client, None) if self._own_client else (None, self._client)
            spending, self._spending = self._spending, None
        if client is not None:
            client.close()
        if spending is not None:
            spending.ledger.close()

    @property
    def backend(self) -> Backend:
        """The settings' backend: its size rules, prices, edits and wire calls."""
        from glm_image_cli.backends.registry import backend_named

        return backend_named(self.settings.backend)

    @property
    def warnings(self) -> list[Text]:
        """What the settings themselves warn about (an ignored key, a legacy value)."""
        return list(self.settings.warnings)

    @property
    def _refusal(self) -> str:
        """How a run above the threshold without consent is refused: the CLI names --yes, the library consent=."""
        return "spend_needs_consent" if self.command == "api" else "spend_needs_yes"

    def require_key(self) -> None:
        """The one-line "how to set a key" error now, before anything is sent or created."""
        from glm_image_cli.core.session import require_api_key

        if self._own_client:  # a client passed in carries its own key
            require_api_key(self.settings)

    @property
    def client(self) -> BigModelClient:
        """The backend's HTTP client, made on first use (the key is checked then, before anything is sent)."""
        with self._lock:
            if self._client is None:
                from glm_image_cli.core.session import make_client

                self._client = make_client(self.settings, self.lang, self.retry_unsafe)
            return self._client

    @property
    def limiter(self) -> Limiter:
        """Slots for calls, per model, shared by every run of this Studio; starts from the account's learned limit."""
        with self._lock:
            if self._limiter is None:
                from glm_image_cli.core.limits import Limiter
                from glm_image_cli.core.session import make_limiter

                # What was learned is stored under a hash of the settings' key; a client passed in may carry
                # another, so it starts from nothing.
                self._limiter = make_limiter(self.settings) if self._own_client or self.settings.api_key \
                    else Limiter(self.settings.concurrency)
            return self._limiter

    @property
    def spending(self) -> Spending:
        """The spend ledger with this Studio's budgets and prices."""
        with self._lock:
            if self._spending is None:
                from glm_image_cli.core.ledger import make_spending

                self._spending = make_spending(self.settings, self.command)
            return self._spending

    @property
    def batch_spending(self) -> Spending:
        """The spend ledger at the Batch API price (`batch --via batch-api`): the same ledger and budgets."""
        from glm_image_cli.core.batchprice import batch_spending

        return batch_spending(self.spending)

    def batch_api(self, folder: str | Path, *, guard: Callable[[], None] | None = None) -> BatchApi:
        """The platform Batch API batches of an output folder (core/batchapi.py), polled every `batch-poll` s."""
        from glm_image_cli.core.batchapi import BatchApi
        return BatchApi.of(self.client, Path(folder), guard, self.spending.ledger, self.settings.batch_poll)

    # -- planning --------------------------------------------------------------------------------------------

    def plan(self, prompt: str, *, style: str | None = None, no_style: bool = False, negative: str | None = None,
             size: str | None = None, model: str | None = None, quality: str | None = None, samples: int = 1,
             images: Sequence[str | Path] = (), mask: str | Path | None = None) -> GenerationPlan:
        """A validated plan (nothing is sent): None takes the setting (model, size, quality, style);
        ``no_style`` drops a style the settings name.  ``images`` (and ``mask``) make it an edit."""
        from glm_image_cli.core.plans import plan_generation

        _check_types(prompt=(prompt, str), style=(style, str | None), negative=(negative, str | None),
                     size=(size, str | None), model=(model, str | None), quality=(quality, str | None),
                     samples=(samples, int))
        cfg = self.settings
        if images:  # an edit: only where the backend has edits, with readable images, before anything else
            self.backend.check_edit(tuple(str(p) for p in images), str(mask) if mask else None)
        try:
            plan = plan_generation(
                prompt, model=model or cfg.model, size=size or cfg.size, quality=quality or cfg.quality,
                style=None if no_style else (style or cfg.style), negative=negative, samples=samples,
                user_styles=cfg.user_styles, watermark=cfg.watermark, user_id=cfg.user_id, backend=self.backend,
            )
        except UsageError as error:  # a size or style from the config file is named as the file's, exit 3
            from glm_image_cli.core.settingcheck import settings_fault

            raise settings_fault(cfg, error, {"model": model, "size": size, "quality": quality,
                                              "style": style}) from None
        if images:
            plan = replace(plan, images=tuple(str(p) for p in images), mask=str(mask) if mask else None)
        return plan

    def expand(self, prompt: str | None = None, *, template: str | None = None,
               variables: Mapping[str, str] | None = None, expand: str | None = None, seed: int | None = None,
               wildcards: str | Path | None = None, max_images: int | None = 100, samples: int = 1,
               **options: Any) -> list[GenerationPlan]:
        """Every plan a prompt stands for: the saved ``template`` filled with ``variables`` (its defaults under
        ``options``, which take ``plan``'s), then ``{a|b}`` alternatives and ``__name__`` wildcards expanded
        (``expand``: "all" or "random:N" with ``seed``).  More than ``max_images`` images are refused with the
        count before anything is sent.  Grammar and precedence: core/prompting.py."""
        from glm_image_cli.core import prompting

        chosen = prompting.load_template(template)
        source = prompting.PromptSource(prompt, template, dict(variables or {}), expand, seed, wildcards)
        found = prompting.expand_source(source, chosen, limit=max_images, samples=samples)
        chosen_options = prompting.plan_options(options, chosen)
        return [prompting.with_origin(self.plan(item.prompt, samples=samples, **chosen_options), item.origin)
                for item in found]

    def _plans(self, plans: str | GenerationPlan | Sequence[str | GenerationPlan]) -> list[GenerationPlan]:
        """Plans as given; a prompt (text) is planned with the settings, as ``plan(prompt)`` would."""
        from glm_image_cli.core.plans import GenerationPlan

        given = list(plans) if isinstance(plans, list | tuple) else [plans]
        made = [self.plan(item) if isinstance(item, str) else item for item in given]
        for item in made:
            if not isinstance(item, GenerationPlan):
                raise UsageError("api_bad_argument", name="plans", expected="studio.plan(...) or a prompt",
                                 got=type(item).__name__)
        return made

    def enhancing(self, enhance: bool | None) -> bool:
        return self.settings.enhance if enhance is None else enhance

    def estimate(self, plans: GenerationPlan | Sequence[GenerationPlan], *, enhance: bool | None = None,
                 use_cache: bool = True, vision: VisionSetup | None = None) -> Estimate:
        """What ``generate`` would cost: images per model (every --best-of candidate), the --enhance chat calls
        not in the cache, and priced checks."""
        from collections import Counter

        if vision is not None:
            return self._with_checks(self.estimate(self._vision_plans(self._plans(plans), vision), enhance=enhance,
                                                   use_cache=use_cache), vision)
        plans = self._plans(plans)
        images: Counter[str] = Counter()
        for plan in plans:
            images[plan.model] += plan.samples
        chats: dict[str, int] = {}
        if self.enhancing(enhance):
            from glm_image_cli.core.enhance import chat_calls_needed

            chats = chat_calls_needed([(p.prompt, p.model, p.style) for p in plans], self.settings.enhance_model,
                                      use_cache=use_cache)
        return estimate_run(self.settings, images, chats)

    def saver(self, output_dir: str | Path | None = None, *, metadata: bool = True, history: bool = True,
              name_template: str | None = None) -> ImageSaver:
        """How this Studio saves images into ``output_dir`` (default: the `output-dir` setting), created if
        needed and checked writable now, before anything is sent."""
        import os

        from glm_image_cli.core.session import make_saver
        from glm_image_cli.storage.files import ensure_writable_dir

        folder = Path(os.path.expanduser(str(output_dir or self.settings.output_dir)))
        ensure_writable_dir(folder)
        return make_saver(self.settings, folder, self.command, no_metadata=not metadata, no_history=not history,
                          default_template=name_template)

    # -- making ----------------------------------------------------------------------------------------------

    def generate(self, plans: GenerationPlan | Sequence[GenerationPlan], *, output_dir: str | Path | None = None,
                 enhance: bool | None = None, use_cache: bool = True, consent: Consent | None = None,
                 review: Review | None = None, on_event: Callable[[Event], None] = _ignore,
                 on_notice: Callable[[Notice], None] = _ignore, cancel: Cancel | None = None,
                 metadata: bool = True, history: bool = True, saver: ImageSaver | None = None,
                 delivery: Delivery | None = None, refine: Sequence[dict[str, str]] | None = None,
                 vision: VisionSetup | None = None) -> Run:
        """Make the plans' images: ``prepare`` (everything before the first image is paid for), then ``run``.

        Ctrl-C (KeyboardInterrupt in the calling thread) or ``cancel``: nothing new is sent, calls in flight
        finish and are kept, and the Run says ``interrupted``; a second Ctrl-C while waiting raises Abandoned."""
        with self.prepare(plans, output_dir=output_dir, enhance=enhance, use_cache=use_cache, consent=consent,
                          review=review, on_notice=on_notice, cancel=cancel, metadata=metadata, history=history,
                          saver=saver, delivery=delivery, refine=refine, vision=vision) as job:
            return job.run(on_event=on_event, on_notice=on_notice, cancel=cancel)

    def prepare(self, plans: GenerationPlan | Sequence[GenerationPlan], *, output_dir: str | Path | None = None,
                enhance: bool | None = None, use_cache: bool = True, consent: Consent | None = None,
                review: Review | None = None, on_notice: Callable[[Notice], None] = _ignore,
                cancel: Cancel | None = None, metadata: bool = True, history: bool = True,
                saver: ImageSaver | None = None, delivery: Delivery | None = None,
                refine: Sequence[dict[str, str]] | None = None, vision: VisionSetup | None = None) -> Job:
        """Everything before the first image is paid for, in this order: the output folder and file names, the
        budget hold (BudgetExceeded), the estimate and ``consent`` (none: refused above `confirm-above`), then the
        --enhance rewrites (``review`` may edit each; a failed one raises with ``error.during == "enhance"``).
        ``delivery`` replaces saving to files (serve answers over HTTP); ``refine``: chat messages that replace
        the rewrite recipe (chat's refinements, never cached).  ``vision``: --check, --caption, --best-of N (N
        candidates per image, all paid for and counted).  Release the Job (``with``) when done."""
        from glm_image_cli.core.runner import SaveImages

        plans = self._vision_plans(self._plans(plans), vision)
        enhance = self.enhancing(enhance)
        self.require_key()
        if delivery is None and saver is None:
            saver = self.saver(output_dir, metadata=metadata, history=history)
        if saver is not None:
            for plan in plans:
                for sample in range(1, plan.samples + 1):
                    saver.check_name(plan, index=sample, sample=sample)
        for warning in {w.message_id: w for plan in plans for w in plan.warnings}.values():
            on_notice(Notice("warning", warning))
        if enhance:
            from glm_image_cli.core.enhance import check_enhance_model

            for warning in check_enhance_model(self.settings.enhance_model):
                on_notice(Notice("warning", warning))
        estimate = self.estimate(plans, enhance=enhance, use_cache=use_cache and refine is None)
        if refine is not None and enhance:  # a refinement is never in the cache: one call per plan
            estimate = estimate_run(self.settings, estimate.images, {self.settings.enhance_model: len(plans)})
        estimate = self._with_checks(estimate, vision)
        spend = self.spending.hold([plan.model for plan in plans for _ in range(plan.samples)])
        try:
            check_consent(estimate, consent, refusal=self._refusal)
            if enhance:
                from glm_image_cli.core.rewrites import rewrite_plans

                plans = rewrite_plans(self, plans, spend, use_cache=use_cache, review=review, on_notice=on_notice,
                                      cancel=cancel, refine=refine)
        except BaseException:
            spend.release()
            raise
        return Job(self, plans, estimate, spend, delivery or SaveImages(saver), saver, vision)

    def compare(self, prompt: str, axes: Mapping[str, Sequence[str] | str], **options: Any) -> CompareRun:
        """One image per combination of ``axes`` (``{"model": [...], "style": [...]}``: X, then Y, then Z), a
        labelled grid and compare.json; resumable like a batch.  ``options``: see core/comparerun.compare."""
        from glm_image_cli.core.comparerun import axes_from, compare

        return compare(self, prompt, axes_from(axes), **options)

    def edit(self, prompt: str, images: Sequence[str | Path], *, mask: str | Path | None = None,
             samples: int = 1, **options: Any) -> Run:
        """Change ``images`` with ``prompt`` (on a backend with edits): ``generate`` of an edit plan."""
        plan_options = {k: options.pop(k) for k in ("style", "negative", "size", "model", "quality") if k in options}
        return self.generate(self.plan(prompt, images=images, mask=mask, samples=samples, **plan_options), **options)

    def hold_batch(self, selection: Selection, *, partial: bool, consent: Consent | None,
                   chats: Mapping[str, int] | None = None, on_notice: Callable[[Notice], None] = _ignore,
                   via: str = "direct") -> RunSpend:
        """A batch's budget hold and consent, before anything is sent: the whole selection fits the budgets or
        nothing runs (BudgetExceeded); with ``partial`` (--max-images), the images that fit run and the rest is
        left for later (``selection.capped``).  ``chats``: the rewrite calls already made (--enhance).
        ``via="api"``: priced, held and recorded at the Batch API price (batchprice.py)."""
        spending = self.batch_spending if via == "api" else self.spending
        spend = spending.hold([unit.plan.model for unit in selection.to_run], partial=partial)
        try:
            if spend.fits < len(selection.to_run):
                on_notice(Notice("warning", Text("batch_budget_capped", count=spend.fits,
                                                 total=len(selection.to_run))))
                selection.capped[:0] = selection.to_run[spend.fits:]
                del selection.to_run[spend.fits:]
            from glm_image_cli.core.batchprice import batch_estimate

            estimate = (batch_estimate if via == "api" else estimate_run)(self.settings, selection.images_per_model(),
                                                                          chats)
            check_consent(estimate, consent, refusal=self._refusal)
        except BaseException:
            spend.release()
            raise
        return spend

    def run_units(self, units: Sequence[Any], *, delivery: Delivery, spend: RunSpend | None,
                  journal: Journal | None = None, recovered: Mapping[str, GeneratedImage] | None = None,
                  on_event: Callable[[Event], None] = _ignore, on_notice: Callable[[Notice], None] = _ignore,
                  cancel: Cancel | None = None, saver: ImageSaver | None = None,
                  vision: VisionSetup | None = None) -> Run:
        """Units already planned, priced and held (a batch: ``journal`` is its manifest, ``recovered`` the images
        paid for before, fetched instead of bought), through the same runner and drain as ``generate``."""
        plans = list({id(unit.plan): unit.plan for unit in units}.values())
        estimate = estimate_run(self.settings, {})
        return self._execute(list(units), plans, estimate, delivery, spend, on_event=on_event, on_notice=on_notice,
                             cancel=cancel, saver=saver, journal=journal, recovered=recovered, vision=vision)

    def _execute(self, units: list[Any], plans: list[GenerationPlan], estimate: Estimate, delivery: Delivery,
                 spend: RunSpend | None, *, on_event: Callable[[Event], None], on_notice: Callable[[Notice], None],
                 cancel: Cancel | None, saver: ImageSaver | None, journal: Journal | None = None,
                 recovered: Mapping[str, GeneratedImage] | None = None, vision: VisionSetup | None = None) -> Run:
        """The runner over ``units``, with the one drain: the first Ctrl-C stops sending and waits for what is in
        flight (it may be billed, so it is kept); a second one raises Abandoned.  ``vision``: each saved image
        is checked beside the next ones, and the verdicts (and --best-of's choice) are on the outcomes."""
        from glm_image_cli.core.runner import Runner

        session = vision.start(self, on_notice) if vision is not None and vision.any else None
        delivery = session.wrap(delivery) if session is not None else delivery
        runner = Runner(units, self.client, delivery, concurrency=self.settings.concurrency, limiter=self.limiter,
                        spend=spend, on_event=on_event, journal=journal, recovered=dict(recovered or {}))
        failed_notices: list[Exception] = []

        def notify(notice: Notice) -> None:  # images are in flight or made: a failing callback loses none of them
            try:
                on_notice(notice)
            except Exception as failure:
                failed_notices.append(failure)

        if cancel is not None:
            cancel._attach(runner)
        interrupted = False
        try:
            try:
                runner.run()
            except KeyboardInterrupt:
                interrupted = True
                if session is not None:
                    session.cancel()
                in_flight = runner.stop()
                if in_flight:  # with a journal, a re-run knows them: it will not send them again
                    resumable = journal is not None and getattr(journal, "resumable", True)
                    waiting = "batch_interrupted_waiting" if resumable else "interrupted_waiting"
                    notify(Notice("warning", Text(waiting, count=in_flight)))
                try:
                    runner.wait()
                except KeyboardInterrupt:
                    run = self._report(runner, plans, estimate, True, saver)
                    run.abandoned = len(runner.in_flight)
                    raise Abandoned(run, run.abandoned) from None
        finally:
            runner.shutdown()
        if session is not None:  # the images are saved and recorded: now their verdicts (Ctrl-C: not waited for)
            interrupted = session.finish(runner.sorted_outcomes(), notify) or interrupted
        interrupted = interrupted or runner.interrupted
        run = self._report(runner, plans, estimate, interrupted, saver)
        if run.not_sent:
            reason = "not_sent_interrupted" if interrupted else "not_sent_after_stop" if run.halted_by else None
            if reason:
                notify(Notice("warning", Text(reason, count=run.not_sent)))
        if run.output_failed is None and failed_notices:
            run.output_failed = failed_notices[0]
        return run

    def _report(self, runner: Runner, plans: list[GenerationPlan], estimate: Estimate, interrupted: bool,
                saver: ImageSaver | None) -> Run:
        outcomes = runner.sorted_outcomes()
        return Run([self._result(outcome, estimate.currency) for outcome in outcomes], plans, estimate,
                   halted_by=runner.halted_by, not_sent=len(runner.not_sent), interrupted=interrupted,
                   outcomes=outcomes, saver=saver, output_failed=runner.output_failed)

    def _result(self, outcome: ImageOutcome, currency: str) -> Result:
        from glm_image_cli.core.ledger import outcome_kind
        from glm_image_cli.core.plans import generate_record

        plan = outcome.unit.plan
        billed = outcome_kind(outcome) in ("saved", "unsaved", "uncertain")
        cost = estimate_run(self.settings, {plan.model: 1}).total if billed else 0.0
        return Result(index=outcome.index, path=outcome.path, prompt=plan.prompt, prompt_sent=plan.prompt_sent,
                      enhanced_prompt=plan.enhanced_prompt, model=plan.model, size=plan.size,
                      request_id=outcome.request_id, seconds=round(outcome.seconds, 3), cost=cost, currency=currency,
                      error=ErrorInfo.of(outcome.error) if outcome.error is not None else None,
                      record=generate_record(outcome))


def _check_types(**arguments: tuple[Any, Any]) -> None:
    """A library caller's argument of the wrong type is a usage error naming it, not a TypeError deep inside."""
    for name, (value, expected) in arguments.items():
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            wanted = {str: "text", int: "a whole number"}.get(expected, "text or None")
            raise UsageError("api_bad_argument", name=name, expected=wanted, got=type(value).__name__)
