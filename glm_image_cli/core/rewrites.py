"""--enhance rewrites as units of the one runner: the same limiter, ledger, journal rules and streak rule as images.

A rewrite is a chat call (free on the flash models, priced when ``[prices]`` says so).  Sending it through the
runner means it waits for a slot like an image, stops with the run on an account-wide failure (bad key, no
balance), is recorded in the ledger when it has a price, and is never sent twice when its answer was lost.
Rewrites found in the cache make no call at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from glm_image_cli.core.enhance import (
    RECIPE_VERSION,
    Rewrite,
    RewriteCache,
    answer_text,
    cache_key,
    cached_rewrite,
    check_enhance_model,
    clean_answer,
    recipe_for,
    request_id_of,
)
from glm_image_cli.errors import GlmImageError, UpstreamFailure

if TYPE_CHECKING:
    from glm_image_cli.backends.bigmodel import BigModelClient, ProgressCallback
    from glm_image_cli.core.batch import BatchItem
    from glm_image_cli.core.ledger import RunSpend
    from glm_image_cli.core.limits import Limiter
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.results import Cancel, Notice
    from glm_image_cli.core.runner import Event, ImageOutcome, SpendLedger
    from glm_image_cli.core.studio import Studio
    from glm_image_cli.messages import Text
    from glm_image_cli.storage.config import ResolvedConfig


@dataclass(frozen=True, eq=False)
class RewriteUnit:
    """One chat call that rewrites the prompt of ``plan``.  ``model`` is the chat model: the limiter's and the
    ledger's key.  ``cache_key`` is None for a rewrite that must not be cached (chat's refinements)."""

    plan: GenerationPlan
    original: str
    body: dict[str, Any]
    family: str
    model: str
    cache_key: str | None
    key: str
    kind: ClassVar[str] = "rewrite"
    sample: ClassVar[int] = 1
    index: ClassVar[int] = 1
    fixed_stem: ClassVar[None] = None

    def send(self, client: BigModelClient, progress: ProgressCallback) -> dict[str, Any]:
        return client.chat_completion(self.body, progress)


def rewrite_unit(plan: GenerationPlan, enhance_model: str, key: str, *, use_cache: bool = True,
                 messages: list[dict[str, str]] | None = None) -> RewriteUnit:
    """The unit that rewrites ``plan.prompt`` with the recipe of its image model's family; ``messages`` replaces
    the recipe's messages (chat's refinements, which see the conversation; never cached)."""
    recipe = recipe_for(plan.prompt, plan.model, plan.style)
    body = recipe.body(enhance_model)
    if messages is not None:
        body["messages"] = messages
    cached_as = cache_key(plan.prompt, plan.style, plan.model, enhance_model) if messages is None else None
    return RewriteUnit(plan, plan.prompt.strip(), body, recipe.family, enhance_model, cached_as, key)


@dataclass
class KeepRewrites:
    """The runner's delivery for rewrites: the cleaned text, cached for next time; the outcome carries it."""

    cache: RewriteCache | WriteOnlyCache | None
    made: dict[str, Rewrite] = field(default_factory=dict)

    def __call__(self, unit: RewriteUnit, payload: Any, client: Any, downloading: Callable[[], None]) -> ImageOutcome:
        from glm_image_cli.core.runner import ImageOutcome

        text = clean_answer(answer_text(payload), unit.family)
        if not text:
            raise UpstreamFailure("bad_response", detail="the chat answer is empty", request_id=request_id_of(payload))
        if unit.cache_key is not None and self.cache is not None:
            plan = unit.plan
            self.cache.put(unit.cache_key, {"prompt": unit.original, "style": plan.style.name if plan.style else None,
                                            "family": unit.family, "model": unit.model,
                                            "recipe_version": RECIPE_VERSION, "rewrite": text})
        rewrite = Rewrite(unit.original, text, unit.model, unit.family, cached=False)
        self.made[unit.key] = rewrite
        return ImageOutcome(unit, request_id=request_id_of(payload), payload=rewrite)

    def failed(self, unit: Any, error: GlmImageError) -> None:
        """Nothing to remember: the front end reports the failure, and no image is requested for it."""


class WriteOnlyCache:
    """--no-cache: a new rewrite even when one is cached, and the new one replaces it."""

    def __init__(self, cache: RewriteCache) -> None:
        self._cache = cache

    def get(self, key: str) -> None:
        return None

    def put(self, key: str, record: dict[str, Any]) -> None:
        self._cache.put(key, record)


@dataclass
class RewriteRun:
    """What became of each rewrite, by unit key: the Rewrite, or the failure (a unit never sent gets the failure
    that stopped the run).  ``runner`` is kept for the drain after an interrupt."""

    results: dict[str, Rewrite | GlmImageError]
    halted_by: GlmImageError | None = None


def cached_rewrites(units: Sequence[RewriteUnit], cache: RewriteCache | WriteOnlyCache | None) -> dict[str, Rewrite]:
    """The rewrites already in the cache, by unit key: no call is made for them."""
    found: dict[str, Rewrite] = {}
    for unit in units:
        text = cache.get(unit.cache_key) if cache is not None and unit.cache_key is not None else None
        if text is not None:
            found[unit.key] = Rewrite(unit.original, text, unit.model, unit.family, cached=True)
    return found


def run_rewrites(units: Sequence[RewriteUnit], client: BigModelClient, *, cache: RewriteCache | WriteOnlyCache | None,
                 concurrency: int, limiter: Limiter | None, spend: SpendLedger | None,
                 on_event: Callable[[Event], None] | None = None,
                 started: Callable[[Any], None] | None = None) -> RewriteRun:
    """Every unit's rewrite: cached ones first (no call), the rest through the runner.  Ctrl-C propagates out
    of here with ``started(runner)`` already told, so the caller can drain the calls in flight."""
    from glm_image_cli.core.runner import Runner

    results: dict[str, Rewrite | GlmImageError] = dict(cached_rewrites(units, cache))
    to_send = [unit for unit in units if unit.key not in results]
    if not to_send:
        return RewriteRun(results)
    delivery = KeepRewrites(cache)
    runner = Runner(to_send, client, delivery, concurrency=concurrency, limiter=limiter, spend=spend,
                    **({"on_event": on_event} if on_event else {}))
    if started is not None:
        started(runner)
    try:
        runner.run()
    finally:
        runner.shutdown()
    return collect(runner, results)


def collect(runner: Any, results: dict[str, Rewrite | GlmImageError]) -> RewriteRun:
    """The rewrites a (possibly drained) runner made, merged into ``results``."""
    for outcome in runner.sorted_outcomes():
        results[outcome.unit.key] = outcome.payload if outcome.error is None else outcome.error
    for unit in runner.not_sent:
        if runner.halted_by is not None:
            results.setdefault(unit.key, runner.halted_by)
    return RewriteRun(results, runner.halted_by)


def rewrite_items(cfg: ResolvedConfig, items: list[BatchItem], client_factory: Callable[[], BigModelClient], *,
                  limiter: Limiter | None,
                  no_cache: bool = False, dry_run: bool = False,
                  on_warning: Callable[[Text], None], on_rewrite: Callable[[BatchItem, Rewrite], str | None],
                  on_failed: Callable[[BatchItem, GlmImageError], None],
                  known: Mapping[int, Rewrite] | None = None) -> list[BatchItem]:
    """A batch's items with their rewrites, made through the runner (the account's ``limiter``, the ledger).
    An item whose rewrite failed is left out (``on_failed``): no image is requested for it, and the rest go on
    (``on_rewrite`` may return other text to send: --review's edit).  After a failure that every call would
    meet (bad key, no balance, unreachable host) no further chat call is sent.  A dry run makes no call: it
    uses cached rewrites only.  ``known``: rewrites the batch's manifest recorded, by item number; they are
    used again as they are (no call, no review), so a resumed item is sent with the prompt it was sent with."""
    from dataclasses import replace

    from glm_image_cli.core.plans import with_enhancement

    for warning in check_enhance_model(cfg.enhance_model):
        on_warning(warning)
    cache = RewriteCache()
    known = dict(known or {})
    wanted = [item for item in items if item.enhance and item.number not in known]
    results: dict[int, Rewrite | GlmImageError | None] = {}
    if not wanted:
        pass
    elif dry_run:
        for item in wanted:
            results[item.number] = cached_rewrite(item.plan.prompt, image_model=item.plan.model,
                                                  style=item.plan.style, enhance_model=cfg.enhance_model, cache=cache)
    else:  # through the one runner: the account's limiter, the ledger, the streak and account-wide rules
        from glm_image_cli.core.ledger import RunSpend, make_spending

        units = [rewrite_unit(item.plan, cfg.enhance_model, str(item.number)) for item in wanted]
        spending = make_spending(cfg, "enhance")
        try:
            with client_factory() as client:
                outcome = run_rewrites(units, client, cache=WriteOnlyCache(cache) if no_cache else cache,
                                       concurrency=cfg.concurrency, limiter=limiter,
                                       spend=RunSpend(spending, None, 0))
        finally:
            spending.ledger.close()
        results = {int(key): result for key, result in outcome.results.items()}
    kept = []
    for item in items:
        if item.number in known:
            reused = known[item.number]
            kept.append(replace(item, plan=with_enhancement(item.plan, reused.text, reused.model)))
            continue
        result = results.get(item.number)
        if isinstance(result, GlmImageError):
            on_failed(item, result)
            continue
        if isinstance(result, Rewrite):
            chosen = on_rewrite(item, result)
            text = chosen if isinstance(chosen, str) and chosen.strip() else result.text
            item = replace(item, plan=with_enhancement(item.plan, text, result.model))
        kept.append(item)
    return kept


def rewrite_plans(studio: Studio, plans: list[GenerationPlan], spend: RunSpend, *, use_cache: bool,
                  review: Callable[[GenerationPlan, str], str] | None, on_notice: Callable[[Notice], None],
                  cancel: Cancel | None, refine: Sequence[dict[str, str]] | None) -> list[GenerationPlan]:
    """``Studio.prepare``'s --enhance: each plan with its prompt rewritten, before any image is paid for.  A
    failed rewrite stops the run here (no image is requested); the error says it was the enhancement
    (``error.during = "enhance"``)."""
    from glm_image_cli.core.enhance import RewriteCache
    from glm_image_cli.core.plans import with_enhancement
    from glm_image_cli.core.results import Notice
    from glm_image_cli.messages import Text

    model = studio.settings.enhance_model
    units = [rewrite_unit(plan, model, str(number), messages=list(refine) if refine is not None else None)
             for number, plan in enumerate(plans, 1)]
    cache = RewriteCache() if use_cache and refine is None else None
    if refine is None and not use_cache:
        cache = WriteOnlyCache(RewriteCache())
    outcome = run_rewrites(units, studio.client, cache=cache, concurrency=studio.settings.concurrency,
                           limiter=studio.limiter, spend=spend,
                           started=cancel._attach if cancel is not None else None)
    rewritten = []
    for unit, plan in zip(units, plans, strict=True):
        result = outcome.results.get(unit.key) or outcome.halted_by
        if not hasattr(result, "text"):
            failure = result if isinstance(result, GlmImageError) else \
                UpstreamFailure("bad_response", detail="no rewrite came back")
            failure.during = "enhance"  # type: ignore[attr-defined]
            failure.enhance_model = model  # type: ignore[attr-defined]
            raise failure
        text = result.text
        on_notice(Notice("note", Text("enhance_cached" if result.cached else "enhance_rewrite",
                                      model=result.model, text=text)))
        if review is not None:
            text = review(plan, text) or text
        enhanced = with_enhancement(plan, text, result.model)
        already = {warning.message_id for warning in plan.warnings}
        for warning in enhanced.warnings:
            if warning.message_id not in already:
                on_notice(Notice("warning", warning))
        rewritten.append(enhanced)
    return rewritten
