"""Everything a run needs before it spends money, shared by the core and the front ends: the key, the HTTP
client, the limiter, the image saver, the settings a command overrides, and a validated batch."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.backends.regions import CONSOLE_URLS
from glm_image_cli.errors import ConfigError
from glm_image_cli.messages import Text

if TYPE_CHECKING:
    from glm_image_cli.backends.base import ImageClient
    from glm_image_cli.core.batch import BatchItem, Selection
    from glm_image_cli.core.batchinput import LineError, RawItem
    from glm_image_cli.core.limits import Limiter
    from glm_image_cli.core.manifest import Manifest
    from glm_image_cli.core.prompting import LineExpander, PromptSource
    from glm_image_cli.storage.config import ResolvedConfig
    from glm_image_cli.storage.folderlock import FolderLock
    from glm_image_cli.storage.saving import ImageSaver


def require_api_key(cfg: ResolvedConfig) -> str:
    """The key, or the one-line "how to set one" error before anything is sent."""
    key = cfg.api_key
    if not key and "api-key" in cfg.secret_problems:  # kept in the system keyring, which could not be read
        raise cfg.secret_problems["api-key"]
    if not key:
        raise ConfigError("missing_api_key", console_url=CONSOLE_URLS.get(cfg.region, CONSOLE_URLS["cn"]))
    return key


def make_client(cfg: ResolvedConfig, lang: str, retry_unsafe: bool = False,
                connections: int | None = None) -> ImageClient:
    """The settings' backend's client (any backend: same runner, same money rules)."""
    from glm_image_cli.backends.registry import backend_named
    from glm_image_cli.core.limits import LimitStore
    from glm_image_cli.storage.history import data_dir

    wanted = connections if connections is not None else cfg.concurrency * 2
    client = backend_named(cfg.backend).make_client(require_api_key(cfg), cfg.base_url, timeout=cfg.timeout,
                                                    lang=lang, region=cfg.region, retry_unsafe=retry_unsafe,
                                                    max_connections=max(16, wanted))
    remember = getattr(client, "remember_task_times", None)  # a backend whose tasks are polled learns their times
    if remember is not None:
        store = LimitStore.for_account(data_dir(), require_api_key(cfg), cfg.base_url)
        remember(store.durations, store.put_durations)
    return client


def make_limiter(cfg: ResolvedConfig, cap: int | None = None) -> Limiter:
    """Slots for calls: the user's -j as the upper bound, starting from what was learned about this
    account's limit before (stored under a hash of the key, never the key)."""
    from glm_image_cli.core.limits import Limiter, LimitStore
    from glm_image_cli.storage.history import data_dir

    store = LimitStore.for_account(data_dir(), require_api_key(cfg), cfg.base_url)
    return Limiter(cap or cfg.concurrency, memory=store)


def checked_image_format(cfg: ResolvedConfig) -> str:
    """The output format, with an explicit conversion checked before any money is spent."""
    from glm_image_cli.storage.convert import check_format_choice

    return check_format_choice(cfg.format, explicit=cfg.sources["format"] != "default")


def make_saver(cfg: ResolvedConfig, folder: Path, command: str, *, no_metadata: bool = False,
               no_history: bool = False, default_template: str | None = None) -> ImageSaver:
    """How a run saves images: name template, format, recipe unless disabled, history unless disabled."""
    from glm_image_cli.storage.history import History
    from glm_image_cli.storage.naming import GENERATE_TEMPLATE, NameTemplate
    from glm_image_cli.storage.saving import ImageSaver

    history = History() if cfg.history and not no_history else None
    template = NameTemplate.parse(cfg.name_template or default_template or GENERATE_TEMPLATE)
    return ImageSaver(folder=folder, command=command, metadata=cfg.metadata and not no_metadata,
                      history=history, template=template, image_format=checked_image_format(cfg),
                      created=None if command == "serve" else datetime.now().astimezone())


@dataclass
class GenerateRequest:
    """What `generate`, `again` or the MCP tool was asked for; None means "from the settings"."""

    prompt: str
    style: str | None = None
    no_style: bool = False  # no style even when the settings name one (chat's "/style none")
    negative: str | None = None
    size: str | None = None
    model: str | None = None
    quality: str | None = None
    samples: int = 1
    output_dir: Path | str | None = None
    concurrency: int | None = None
    timeout: float | None = None
    retry_unsafe: bool = False
    no_metadata: bool = False
    no_history: bool = False
    output: dict[str, Any] = field(default_factory=dict)  # name-template, format, watermark, user-id flags
    yes: bool = False
    command: str = "generate"
    enhance: bool | None = None  # --enhance/--no-enhance (None: the `enhance` setting)
    no_cache: bool = False  # --no-cache: a new rewrite even when one is cached
    review: bool = False  # --review: accept, edit or cancel the rewrite on a terminal
    images: tuple[str, ...] = ()  # `edit`: the source images (an edit on the openai backend)
    mask: str | None = None
    # generate: a template and its variables, {a|b} alternatives, __name__ wildcards (None: ``prompt`` as it is)
    source: PromptSource | None = None
    max_images: int | None = 100  # more expanded images than this are refused before anything is sent
    vision: Any = None  # --check, --caption, --best-of: a core.bestof.VisionSetup, or None


def settings_flags(request: GenerateRequest | BatchRequest) -> dict[str, Any]:
    """The settings a request overrides, keyed by setting name for `load_config` (None: from the settings)."""
    return {
        "model": request.model, "size": request.size, "style": request.style, "quality": request.quality,
        "output-dir": str(request.output_dir) if request.output_dir else None,
        "concurrency": request.concurrency, "timeout": request.timeout, **request.output,
        "enhance": request.enhance,
    }


def output_folder(cfg: ResolvedConfig) -> Path:
    return Path(os.path.expanduser(cfg.output_dir))


@dataclass
class BatchRequest:
    """What `batch` was asked for; None means "from the settings" (or, for `samples`, from each line)."""

    input_path: str
    input_format: str | None = None
    input_encoding: str | None = None  # --encoding: the input's text encoding (None: UTF-8, or a BOM's)
    style: str | None = None
    negative: str | None = None
    size: str | None = None
    model: str | None = None
    quality: str | None = None
    samples: int | None = None
    output_dir: Path | str | None = None
    concurrency: int | None = None
    timeout: float | None = None
    skip_invalid: bool = False
    retry_failed: bool = True
    retry_unsafe: bool = False
    max_images: int | None = None
    no_metadata: bool = False
    no_history: bool = False
    output: dict[str, Any] = field(default_factory=dict)  # name-template, format, watermark, user-id flags
    dry_run: bool = False
    enhance: bool | None = None  # --enhance/--no-enhance (None: the `enhance` setting); lines may say "enhance"
    no_cache: bool = False
    # -t TEMPLATE for every line, and how lines' {a|b} alternatives and __name__ wildcards expand
    template: str | None = None
    expand: str | None = None
    seed: int | None = None
    wildcards: str | None = None
    # Items made by a front end instead of read from ``input_path`` (a compare's cells; ``input_path`` names them)
    raw_items: list[RawItem] | None = None
    command: str = "batch"  # the history's name for the run (compare)
    check: bool = False  # --check (lines may say "check"); --best-of N checks every candidate
    best_of: int | None = None


@dataclass
class PreparedBatch:
    """A validated batch: its items, what is left to run, and (unless a dry run) the saver for the run."""

    cfg: ResolvedConfig
    items: list[BatchItem]
    errors: list[LineError]
    folder: Path
    manifest: Manifest
    selection: Selection
    saver: ImageSaver | None  # None for a dry run: no key needed and no folder created
    lock: FolderLock | None = None  # the output folder's lock, held by a real run until it ends

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()


def _ignore(_: Any) -> None:
    return None


def prepare_batch(request: BatchRequest, *, on_warning: Callable[[Text], None] = _ignore,
                  on_invalid: Callable[[list[LineError]], None] = _ignore, on_rewrite: Callable[..., None] = _ignore,
                  on_enhance_failed: Callable[..., None] = _ignore,
                  settings: ResolvedConfig | None = None) -> PreparedBatch:
    """Validate a batch without spending anything, in the order a user sees the problems: settings warnings
    (`on_warning`), every invalid line (`on_invalid`, then an error unless `skip_invalid`), the --enhance rewrites
    (`on_rewrite`; an item whose rewrite failed is left out, `on_enhance_failed`), an empty input,
    and, unless a dry run, the key and the output folder (created only then).  ``settings``: a library caller's
    own (its Studio's, with ``request.output_dir`` as the folder) instead of the CLI's file, environment and flags."""
    from glm_image_cli.backends.registry import backend_named
    from glm_image_cli.core import batch as batching
    from glm_image_cli.core.manifest import MANIFEST_NAME, Manifest
    from glm_image_cli.errors import UsageError
    from glm_image_cli.storage.config import load_config
    from glm_image_cli.storage.files import ensure_writable_dir
    from glm_image_cli.storage.folderlock import FolderLock
    from glm_image_cli.storage.naming import BATCH_TEMPLATE

    if settings is not None:
        from dataclasses import replace

        cfg = replace(settings, output_dir=str(request.output_dir or settings.output_dir))
    else:
        cfg = load_config(flags=settings_flags(request))
    for warning in cfg.warnings:
        on_warning(warning)
    from glm_image_cli.core.settingcheck import check_settings

    check_settings(cfg)  # a size or style from the config file that does not fit: named as the file's, exit 3
    defaults = {"model": cfg.model, "size": cfg.size, "style": cfg.style, "quality": cfg.quality,
                "negative": request.negative, "n": request.samples, "watermark": cfg.watermark,
                "user_id": cfg.user_id, "enhance": cfg.enhance, "backend": backend_named(cfg.backend),
                "check": request.check, "best_of": request.best_of}
    if request.raw_items is not None:
        items, errors = batching.build_items(request.raw_items, defaults, cfg.user_styles)
    else:
        items, errors = batching.load_items(request.input_path, request.input_format, defaults, cfg.user_styles,
                                            encoding=request.input_encoding, expander=_line_expander(request, cfg))
    if errors:
        on_invalid(errors)
        if not request.skip_invalid:
            raise UsageError("batch_invalid", count=len(errors), path=request.input_path)
    if not items:
        raise UsageError("batch_empty", path=request.input_path)
    folder = output_folder(cfg)
    lock = None
    if not request.dry_run:
        require_api_key(cfg)
        ensure_writable_dir(folder)
        # Held until the run ends: the manifest is read only by the run that may write it.
        lock = FolderLock(folder).acquire()
    try:
        manifest = Manifest(folder / MANIFEST_NAME, guard=lock.check if lock is not None else None)
        units = batching.work_units(items)
        manifest.adopt_earlier_keys(units)
        # Images the manifest does not list as done may still be there (a deleted or damaged manifest).
        unknown = {unit.key for unit in units if manifest.state(unit.key) != "done"}
        on_disk = batching.images_on_disk(folder, unknown)
        selection = batching.select_work(units, manifest, retry_failed=request.retry_failed,
                                         retry_unsafe=request.retry_unsafe, max_images=request.max_images,
                                         on_disk=on_disk)
        if any(item.enhance for item in items):
            items = _rewrite_batch(cfg, request, items, selection, manifest, on_warning=on_warning,
                                   on_rewrite=on_rewrite, on_enhance_failed=on_enhance_failed)
        if not request.dry_run:
            for unit in selection.done_before:
                if unit.key in selection.found_on_disk:
                    manifest.record(unit, "done", file=selection.found_on_disk[unit.key].relative_to(folder).as_posix(),
                                    found=True)
        prepared = PreparedBatch(cfg=cfg, items=items, errors=errors, folder=folder, manifest=manifest,
                                 selection=selection, saver=None, lock=lock)
        if not request.dry_run:
            prepared.saver = make_saver(cfg, folder, request.command, no_metadata=request.no_metadata,
                                        no_history=request.no_history, default_template=BATCH_TEMPLATE)
            for unit in selection.to_run:
                prepared.saver.check_name(unit.plan, index=unit.index, sample=unit.sample, fixed_stem=unit.fixed_stem)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return prepared


def _line_expander(request: BatchRequest, cfg: ResolvedConfig) -> LineExpander:
    """Templates, alternatives and wildcards for every line: a line stands for at most --max-images images
    (default 100); the command's flags beat a template's defaults."""
    from glm_image_cli.core.expand import DEFAULT_MAX_PROMPTS
    from glm_image_cli.core.prompting import LineExpander, wildcard_folders

    flagged = {key for key in ("style", "size", "model", "quality") if cfg.sources.get(key) == "flag"}
    if request.negative is not None:
        flagged.add("negative")
    return LineExpander(request.expand, request.seed, wildcard_folders(request.wildcards),
                        request.max_images or DEFAULT_MAX_PROMPTS, request.template, frozenset(flagged))


def _rewrite_batch(cfg: ResolvedConfig, request: BatchRequest, items: list[BatchItem], selection: Selection,
                   manifest: Manifest, *, on_warning: Callable[[Text], None], on_rewrite: Callable[..., Any],
                   on_enhance_failed: Callable[..., None]) -> list[BatchItem]:
    """--enhance, after the manifest said what is left: only items with an image to request now are rewritten,
    and an item the manifest recorded a rewrite for reuses it (no chat call).  A unit already done or dispatched
    is never rewritten, so nothing made earlier is bought again under a new prompt.  The selection's units get
    the rewritten items; an item whose rewrite failed requests no image (``on_enhance_failed``)."""
    from dataclasses import replace

    from glm_image_cli.core.enhance import Rewrite
    from glm_image_cli.core.rewrites import rewrite_items
    from glm_image_cli.messages import current_language

    lists = (selection.to_run, selection.done_before, selection.uncertain, selection.failed_skipped,
             selection.capped, selection.recoverable)
    known: dict[int, Rewrite] = {}
    for unit in (unit for units in lists for unit in units):
        recorded = manifest.rewrite(unit.key) if unit.item.enhance else None
        if recorded is not None and unit.item.number not in known:
            text, model = recorded
            known[unit.item.number] = Rewrite(unit.item.plan.prompt, text, model or cfg.enhance_model, "", True)
    # Rewritten now: items with an image to request in this run.  A recoverable unit (paid, fetched now) without
    # a recorded rewrite keeps its typed prompt: no call is made for it.
    sending = {unit.item.number for unit in selection.to_run}
    wanted = [item for item in items if item.enhance and (item.number in sending or item.number in known)]
    if not wanted:
        return items
    failed: list[Any] = []

    def enhance_failed(item: Any, error: Any) -> None:
        from glm_image_cli.core.plans import mark_enhance_failure

        mark_enhance_failure(error, cfg.enhance_model)
        failed.append((item.number, error))
        on_enhance_failed(item, error)

    rewritten = rewrite_items(cfg, wanted, lambda: make_client(cfg, current_language()),
                              limiter=None if request.dry_run else make_limiter(cfg), no_cache=request.no_cache,
                              dry_run=request.dry_run, on_warning=on_warning, on_rewrite=on_rewrite,
                              on_failed=enhance_failed, known=known)
    by_number = {item.number: item for item in rewritten}
    dropped = {number for number, _ in failed}
    if failed and len(dropped) == len(items):  # every rewrite failed: that is the batch's failure
        raise failed[0][1]
    for units in lists:
        units[:] = [replace(unit, item=by_number.get(unit.item.number, unit.item)) for unit in units
                    if unit.item.number not in dropped or units is not selection.to_run]
    return [by_number.get(item.number, item) for item in items if item.number not in dropped]
